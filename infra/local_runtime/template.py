"""Read the synthesized CloudFormation template into what the local runtime needs."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

SOURCE_METADATA = "perisai:source"


def refs(value: Any) -> list[str]:
    """Logical ids referenced (Ref / Fn::GetAtt) anywhere inside ``value``, in order."""
    found: list[str] = []
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str) and not value["Ref"].startswith("AWS::"):
            found.append(value["Ref"])
        if "Fn::GetAtt" in value:
            found.append(value["Fn::GetAtt"][0])
        for v in value.values():
            found.extend(refs(v))
    elif isinstance(value, list):
        for v in value:
            found.extend(refs(v))
    return list(dict.fromkeys(found))


@dataclass(frozen=True)
class TableSpec:
    logical_id: str
    properties: dict[str, Any]


@dataclass(frozen=True)
class Permission:
    """One statement of a role's policies; resources as the template writes them (intrinsics are
    resolved against local physical ids by the local runtime, once provisioned)."""

    allow: bool
    actions: tuple[str, ...]
    resources: Any
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)  # {"ForAllValues:StringLike": {...}}


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    source: str  # folder relative to the repository root
    handler: str  # module.function
    environment: dict[str, Any]
    timeout: int
    memory: int
    dead_letter: str | None  # queue logical id (asynchronous invocations)
    permissions: tuple[Permission, ...] = ()  # its role's statements (local_runtime.iam)
    snap_start: bool = False  # SnapStart on published versions: the runtime hooks run
    alias: str | None = None  # the alias its triggers invoke ("live")


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # /v1/participants/{participant_id}
    function: str  # logical id
    authorizer: str | None  # logical id of AWS::ApiGateway::Authorizer
    required_headers: tuple[str, ...]
    required_query: tuple[str, ...]
    api_key_required: bool = False


@dataclass(frozen=True)
class MockResponse:
    """An integration response of a MOCK integration, with its method response's static headers."""

    selection_pattern: str | None  # regex on the status code the request template chose; None: default
    status: int
    headers: dict[str, str]
    templates: dict[str, str]  # media type -> body template


@dataclass(frozen=True)
class MockMethod:
    """A method answered by API Gateway itself (MOCK integration), e.g. ANY -> 405."""

    method: str  # "ANY" or an HTTP method
    path: str
    request_templates: dict[str, str]
    passthrough: str  # WHEN_NO_MATCH | WHEN_NO_TEMPLATES | NEVER
    responses: tuple[MockResponse, ...]


@dataclass(frozen=True)
class UsagePlan:
    name: str
    rate: float
    burst: int
    quota: int | None
    quota_period: str | None


@dataclass(frozen=True)
class Authorizer:
    logical_id: str
    function: str
    kind: str  # TOKEN
    identity_header: str
    ttl_seconds: int


@dataclass(frozen=True)
class GatewayResponse:
    kind: str
    status: int | None
    template: str
    headers: dict[str, str]


@dataclass(frozen=True)
class RuleTarget:
    target: str  # logical id of a function or queue
    dead_letter: str | None


@dataclass(frozen=True)
class Rule:
    logical_id: str
    bus: str
    pattern: dict[str, Any]
    targets: tuple[RuleTarget, ...]
    enabled: bool


@dataclass(frozen=True)
class EventSourceMapping:
    logical_id: str
    function: str
    source: str  # logical id of a queue or table
    source_kind: str  # "sqs" | "dynamodb"
    batch_size: int
    filters: tuple[str, ...]  # raw JSON patterns
    partial_failures: bool
    max_retries: int
    bisect: bool
    on_failure: str | None


@dataclass(frozen=True)
class Schedule:
    logical_id: str
    name: str
    expression: str
    timezone: str
    target: str  # function logical id
    input: str
    enabled: bool
    max_retries: int
    dead_letter: str | None


@dataclass
class StackModel:
    resources: dict[str, Any]
    tables: list[TableSpec] = field(default_factory=list)
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    layers: list[str] = field(default_factory=list)
    routes: list[Route] = field(default_factory=list)  # Lambda proxy methods
    mocks: list[MockMethod] = field(default_factory=list)
    aliases: dict[str, str] = field(default_factory=dict)  # alias or version logical id -> function
    authorizers: dict[str, Authorizer] = field(default_factory=dict)
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)
    buses: dict[str, str] = field(default_factory=dict)  # logical id -> name
    rules: list[Rule] = field(default_factory=list)
    queues: dict[str, dict[str, Any]] = field(default_factory=dict)
    mappings: list[EventSourceMapping] = field(default_factory=list)
    schedules: dict[str, Schedule] = field(default_factory=dict)
    keys: list[str] = field(default_factory=list)
    buckets: list[str] = field(default_factory=list)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    usage_plans: dict[str, UsagePlan] = field(default_factory=dict)
    stage: str = "live"

    def of_type(self, kind: str) -> dict[str, dict[str, Any]]:
        return {k: v for k, v in self.resources.items() if v["Type"] == kind}

    def function_of(self, value: Any) -> str:
        """The function a reference names: directly, or through one of its aliases or versions."""
        for ref in refs(value):
            if ref in self.functions:
                return ref
            if ref in self.aliases:
                return self.aliases[ref]
        raise KeyError(f"no function referenced in {json.dumps(value)}")


def role_permissions(resources: dict[str, Any], role_logical_id: str) -> tuple[Permission, ...]:
    """The statements of the role's inline policies and of the AWS::IAM::Policy resources attached
    to it (managed policies by ARN are not read)."""
    documents: list[dict[str, Any]] = []
    role = resources[role_logical_id].get("Properties", {})
    documents += [p["PolicyDocument"] for p in role.get("Policies", [])]
    for resource in resources.values():
        if resource["Type"] == "AWS::IAM::Policy" and role_logical_id in refs(resource["Properties"].get("Roles")):
            documents.append(resource["Properties"]["PolicyDocument"])
    permissions = []
    for document in documents:
        for statement in document.get("Statement", []):
            action = statement.get("Action", [])
            permissions.append(
                Permission(
                    allow=statement.get("Effect") == "Allow",
                    actions=(action,) if isinstance(action, str) else tuple(action),
                    resources=statement.get("Resource", "*"),
                    conditions=statement.get("Condition") or {},
                )
            )
    return tuple(permissions)


def load(template: dict[str, Any]) -> StackModel:
    resources = template["Resources"]
    model = StackModel(resources=resources)

    model.tables = [TableSpec(k, v["Properties"]) for k, v in model.of_type("AWS::DynamoDB::Table").items()]
    model.keys = list(model.of_type("AWS::KMS::Key"))
    model.buckets = list(model.of_type("AWS::S3::Bucket"))
    model.secrets = {k: v.get("Properties", {}) for k, v in model.of_type("AWS::SecretsManager::Secret").items()}
    model.queues = {k: v.get("Properties", {}) for k, v in model.of_type("AWS::SQS::Queue").items()}
    model.buses = {k: v["Properties"]["Name"] for k, v in model.of_type("AWS::Events::EventBus").items()}

    for resource in model.of_type("AWS::Lambda::LayerVersion").values():
        model.layers.append(resource["Metadata"][SOURCE_METADATA])

    for kind in ("AWS::Lambda::Version", "AWS::Lambda::Alias"):
        for logical_id, resource in model.of_type(kind).items():
            model.aliases[logical_id] = refs(resource["Properties"]["FunctionName"])[0]
    alias_names = {model.aliases[k]: v["Properties"]["Name"] for k, v in model.of_type("AWS::Lambda::Alias").items()}

    for logical_id, resource in model.of_type("AWS::Lambda::Function").items():
        props = resource["Properties"]
        dlq = (props.get("DeadLetterConfig") or {}).get("TargetArn")
        model.functions[logical_id] = FunctionSpec(
            logical_id=logical_id,
            source=resource["Metadata"][SOURCE_METADATA],
            handler=props["Handler"],
            environment=(props.get("Environment") or {}).get("Variables", {}),
            timeout=int(props.get("Timeout", 3)),
            memory=int(props.get("MemorySize", 128)),
            dead_letter=refs(dlq)[0] if dlq else None,
            permissions=role_permissions(resources, refs(props["Role"])[0]) if props.get("Role") else (),
            snap_start=(props.get("SnapStart") or {}).get("ApplyOn") == "PublishedVersions",
            alias=alias_names.get(logical_id),
        )

    for logical_id, resource in model.of_type("AWS::ApiGateway::Authorizer").items():
        props = resource["Properties"]
        function = model.function_of(props["AuthorizerUri"])
        model.authorizers[logical_id] = Authorizer(
            logical_id=logical_id,
            function=function,
            kind=props["Type"],
            identity_header=props["IdentitySource"].removeprefix("method.request.header."),
            ttl_seconds=int(props.get("AuthorizerResultTtlInSeconds", 300)),
        )

    for resource in model.of_type("AWS::ApiGateway::GatewayResponse").values():
        props = resource["Properties"]
        headers = {
            k.removeprefix("gatewayresponse.header."): v.strip("'")
            for k, v in (props.get("ResponseParameters") or {}).items()
        }
        model.gateway_responses[props["ResponseType"]] = GatewayResponse(
            kind=props["ResponseType"],
            status=int(props["StatusCode"]) if props.get("StatusCode") else None,
            template=(props.get("ResponseTemplates") or {}).get("application/json", ""),
            headers=headers,
        )

    for resource in model.of_type("AWS::ApiGateway::UsagePlan").values():
        props = resource["Properties"]
        throttle = props.get("Throttle") or {}
        quota = props.get("Quota") or {}
        model.usage_plans[props["UsagePlanName"]] = UsagePlan(
            name=props["UsagePlanName"],
            rate=float(throttle.get("RateLimit", 10_000)),
            burst=int(throttle.get("BurstLimit", 5_000)),
            quota=int(quota["Limit"]) if "Limit" in quota else None,
            quota_period=quota.get("Period"),
        )

    for resource in model.of_type("AWS::ApiGateway::Stage").values():
        model.stage = resource["Properties"]["StageName"]

    for resource in model.of_type("AWS::ApiGateway::Method").values():
        props = resource["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        integration = props.get("Integration", {})
        if integration.get("Type") == "MOCK":
            model.mocks.append(_mock(props, _resource_path(resources, props["ResourceId"])))
            continue
        function = model.function_of(integration.get("Uri"))
        params = props.get("RequestParameters") or {}
        validates = bool(props.get("RequestValidatorId"))
        model.routes.append(
            Route(
                method=props["HttpMethod"],
                path=_resource_path(resources, props["ResourceId"]),
                function=function,
                authorizer=refs(props.get("AuthorizerId"))[0] if props.get("AuthorizationType") == "CUSTOM" else None,
                required_headers=tuple(
                    k.removeprefix("method.request.header.")
                    for k, required in params.items()
                    if validates and required and k.startswith("method.request.header.")
                ),
                required_query=tuple(
                    k.removeprefix("method.request.querystring.")
                    for k, required in params.items()
                    if validates and required and k.startswith("method.request.querystring.")
                ),
                api_key_required=bool(props.get("ApiKeyRequired", False)),
            )
        )

    for logical_id, resource in model.of_type("AWS::Events::Rule").items():
        props = resource["Properties"]
        targets = []
        for target in props.get("Targets", []):
            target_id = refs(target["Arn"])[0]
            target_id = model.aliases.get(target_id, target_id)  # a function's alias: the function
            dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
            targets.append(RuleTarget(target=target_id, dead_letter=refs(dlq)[0] if dlq else None))
        bus_ref = refs(props.get("EventBusName"))
        model.rules.append(
            Rule(
                logical_id=logical_id,
                bus=bus_ref[0] if bus_ref else "default",
                pattern=props.get("EventPattern", {}),
                targets=tuple(targets),
                enabled=props.get("State", "ENABLED") == "ENABLED",
            )
        )

    for logical_id, resource in model.of_type("AWS::Lambda::EventSourceMapping").items():
        props = resource["Properties"]
        source_ref = resource["Properties"]["EventSourceArn"]
        source = refs(source_ref)[0]
        kind = "dynamodb" if resources[source]["Type"] == "AWS::DynamoDB::Table" else "sqs"
        on_failure = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
        model.mappings.append(
            EventSourceMapping(
                logical_id=logical_id,
                function=model.function_of(props["FunctionName"]),
                source=source,
                source_kind=kind,
                batch_size=int(props.get("BatchSize", 10 if kind == "sqs" else 100)),
                filters=tuple(f["Pattern"] for f in (props.get("FilterCriteria") or {}).get("Filters", [])),
                partial_failures="ReportBatchItemFailures" in props.get("FunctionResponseTypes", []),
                max_retries=int(props.get("MaximumRetryAttempts", 3)),
                bisect=bool(props.get("BisectBatchOnFunctionError", False)),
                on_failure=refs(on_failure)[0] if on_failure else None,
            )
        )

    for logical_id, resource in model.of_type("AWS::Scheduler::Schedule").items():
        props = resource["Properties"]
        target = props["Target"]
        dlq = (target.get("DeadLetterConfig") or {}).get("Arn")
        model.schedules[props["Name"]] = Schedule(
            logical_id=logical_id,
            name=props["Name"],
            expression=props["ScheduleExpression"],
            timezone=props.get("ScheduleExpressionTimezone", "UTC"),
            target=model.function_of(target["Arn"]),
            input=target.get("Input", "{}"),
            enabled=props.get("State", "ENABLED") == "ENABLED",
            max_retries=int((target.get("RetryPolicy") or {}).get("MaximumRetryAttempts", 185)),
            dead_letter=refs(dlq)[0] if dlq else None,
        )
    return model


def _mock(props: dict[str, Any], path: str) -> MockMethod:
    if props.get("AuthorizationType", "NONE") != "NONE":
        raise ValueError(f"{props['HttpMethod']} {path}: the local runtime serves MOCK methods without authorization")
    integration = props["Integration"]
    responses = []
    for response in integration.get("IntegrationResponses", []):
        headers = {}
        for name, value in (response.get("ResponseParameters") or {}).items():
            if not (isinstance(value, str) and value.startswith("'") and value.endswith("'")):
                raise ValueError(f"{path}: only static mock response headers are served locally ({name})")
            headers[name.removeprefix("method.response.header.")] = value[1:-1]
        responses.append(
            MockResponse(
                selection_pattern=response.get("SelectionPattern"),
                status=int(response["StatusCode"]),
                headers=headers,
                templates=dict(response.get("ResponseTemplates") or {}),
            )
        )
    return MockMethod(
        method=props["HttpMethod"],
        path=path,
        request_templates=dict(integration.get("RequestTemplates") or {}),
        passthrough=integration.get("PassthroughBehavior", "WHEN_NO_MATCH"),
        responses=tuple(responses),
    )


def _resource_path(resources: dict[str, Any], resource_ref: Any) -> str:
    parts: list[str] = []
    current = resource_ref
    while isinstance(current, dict) and "Ref" in current:
        props = resources[current["Ref"]]["Properties"]
        parts.append(props["PathPart"])
        current = props["ParentId"]
    return "/" + "/".join(reversed(parts))


def load_file(path: str) -> StackModel:
    with open(path) as fh:
        return load(json.load(fh))
