"""The common layer and every Lambda function, each with its own role and log group, published
as a SnapStart version behind the alias ``live`` that every trigger invokes."""

from __future__ import annotations

from dataclasses import dataclass

from aws_cdk import Annotations, Duration, RemovalPolicy, Stack
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from perisai_infra.nag import acknowledge
from perisai_infra.paths import FUNCTIONS, LAYER_BUILD

RUNTIME = lambda_.Runtime.PYTHON_3_14
LOG_RETENTION = logs.RetentionDays.THREE_MONTHS

SOURCE_METADATA = "perisai:source"
# Triggers invoke this alias, never $LATEST: only published versions have a SnapStart snapshot.
LIVE_ALIAS = "live"


@dataclass(frozen=True)
class FunctionSpec:
    key: str  # how the stack refers to it, e.g. "enroll"
    folder: str  # folder under functions/
    handler: str  # module.function inside that folder
    description: str
    memory: int = 512
    timeout_seconds: int = 10
    # Synchronous callers (API Gateway, event source mappings) get errors back, so a
    # Lambda DLQ only makes sense for asynchronous invocations (Scheduler).
    invoked_async: bool = False


class FunctionsConstruct(Construct):
    def __init__(self, scope: Construct, id_: str) -> None:
        super().__init__(scope, id_)
        stack = Stack.of(self)
        self.layer = lambda_.LayerVersion(
            self,
            "CommonLayer",
            code=lambda_.Code.from_asset(str(LAYER_BUILD)),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[lambda_.Architecture.ARM_64],
            description="perisai package and its runtime dependencies",
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.layer.node.default_child.add_metadata(SOURCE_METADATA, "layers/common")  # type: ignore[union-attr]  # default_child of an L2 construct is its Cfn resource, never None
        self._stack = stack
        self.functions: dict[str, lambda_.Function] = {}
        self.aliases: dict[str, lambda_.Alias] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}

    def add(self, spec: FunctionSpec, environment: dict[str, str] | None = None) -> lambda_.Alias:
        """The function, published and behind its ``live`` alias: what triggers and grants use."""
        id_ = "".join(part.title() for part in spec.key.split("_")) + "Function"
        role = iam.Role(
            self,
            f"{id_}Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"Least-privilege role of the {spec.key} function",
        )
        log_group = logs.LogGroup(
            self,
            f"{id_}Logs",
            retention=LOG_RETENTION,
            removal_policy=RemovalPolicy.RETAIN,
        )
        log_group.grant_write(role)
        function = lambda_.Function(
            self,
            id_,
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            handler=spec.handler,
            code=lambda_.Code.from_asset(str(FUNCTIONS / spec.folder), exclude=["__pycache__", "*.pyc"]),
            layers=[self.layer],
            role=role,
            memory_size=spec.memory,
            timeout=Duration.seconds(spec.timeout_seconds),
            tracing=lambda_.Tracing.ACTIVE,
            log_group=log_group,
            dead_letter_queue_enabled=spec.invoked_async or None,
            dead_letter_queue=self.dead_letter_queue(f"{id_}DeadLetterQueue") if spec.invoked_async else None,
            logging_format=lambda_.LoggingFormat.JSON,
            # Restores from a snapshot taken after init and the before-snapshot hooks (priming).
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
            description=spec.description,
            environment={
                "POWERTOOLS_SERVICE_NAME": f"perisai-{spec.key}",
                "POWERTOOLS_METRICS_NAMESPACE": "Perisai",
                "POWERTOOLS_LOG_LEVEL": "INFO",
                "POWERTOOLS_LOGGER_LOG_EVENT": "false",
                **(environment or {}),
            },
        )
        function.node.default_child.add_metadata(SOURCE_METADATA, f"functions/{spec.folder}")  # type: ignore[union-attr]  # default_child of an L2 construct is its Cfn resource, never None
        Annotations.of(function).acknowledge_warning(
            "@aws-cdk/aws-lambda:snapStartRequirePublish", "Published: current_version behind the live alias."
        )
        for finding in ("Resource::*",):
            acknowledge(
                role,
                f"AwsSolutions-IAM5[{finding}]",
                "X-Ray PutTraceSegments/PutTelemetryRecords support no resource-level permissions.",
            )
        if not spec.invoked_async:
            acknowledge(
                function,
                "Serverless-LambdaDLQ",
                "Invoked synchronously (API Gateway or an event source mapping with its own on-failure "
                "destination): failures return to the caller, nothing is dropped.",
            )
        alias = lambda_.Alias(self, f"{id_}Live", alias_name=LIVE_ALIAS, version=function.current_version)
        self.functions[spec.key] = function
        self.aliases[spec.key] = alias
        return alias

    def dead_letter_queue(self, name: str) -> sqs.Queue:
        """An encrypted, SSL-only DLQ with 14 days of retention."""
        queue = sqs.Queue(
            self,
            name,
            retention_period=Duration.days(14),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            enforce_ssl=True,
        )
        acknowledge(queue, "AwsSolutions-SQS3", "This queue is itself a dead-letter queue.")
        acknowledge(queue, "Serverless-SQSRedrivePolicy", "This queue is itself a dead-letter queue.")
        self.dead_letter_queues[name] = queue
        return queue
