"""REST API: routes to functions, the partner-key authorizer, access logs, throttling,
request validation, JSON gateway errors and a JSON 405 for every method a path does not define."""

from __future__ import annotations

from dataclasses import dataclass, field

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from perisai_infra.nag import acknowledge

STAGE = "live"
# Per-stage defaults; per-partner quotas come from usage plans.
THROTTLE_RATE = 200
THROTTLE_BURST = 400
AUTHORIZER_CACHE = Duration.minutes(5)


@dataclass(frozen=True)
class Plan:
    """Per-partner limits. Each partner key belongs to one plan; the authorizer names the
    partner's usage key, so API Gateway throttles and meters each partner separately."""

    name: str
    rate: int  # requests per second
    burst: int
    daily_quota: int
    description: str


PLANS: tuple[Plan, ...] = (
    Plan("trial", 1, 2, 1_000, "New channels on probation"),
    Plan("standard", 20, 40, 100_000, "Agents, post offices, bank agents, retailers"),
    Plan("bulk", 100, 200, 1_000_000, "Local governments and sponsors enrolling workers in bulk"),
)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    function: str  # key in FunctionsConstruct.functions
    authorized: bool = True
    required_headers: tuple[str, ...] = field(default=())


# Every route of the API. Partner routes go through the authorizer; the providers'
# callbacks authenticate with each provider's own signature inside the function.
ROUTES: tuple[Route, ...] = (
    Route("GET", "/health", "enroll", authorized=False),
    Route("GET", "/v1/openapi.json", "enroll", authorized=False),
    Route("POST", "/v1/participants", "enroll", required_headers=("Idempotency-Key",)),
    Route("GET", "/v1/participants", "enroll"),
    Route("GET", "/v1/participants/{participant_id}", "enroll"),
    # The worker's consent to dues reminder SMS (scope enroll or pay); asking twice writes once.
    Route("POST", "/v1/participants/{participant_id}/sms-opt-out", "enroll"),
    Route("POST", "/v1/participants/{participant_id}/sms-opt-in", "enroll"),
    Route("GET", "/v1/dues/quote", "enroll"),
    # Payment orders (scope pay) and the contributions ledger; Idempotency-Key is optional here.
    Route("POST", "/v1/participants/{participant_id}/payment-orders", "payment_callback"),
    Route("GET", "/v1/payment-orders/{order_id}", "payment_callback"),
    Route("GET", "/v1/participants/{participant_id}/contributions", "payment_callback"),
    # Payers (sponsors, local governments; scope pay or enroll): who pays a worker from which
    # month (DELETE takes ?from_month=), the workers a payer pays for, its monthly statement.
    Route("PUT", "/v1/participants/{participant_id}/payer", "payment_callback"),
    Route("DELETE", "/v1/participants/{participant_id}/payer", "payment_callback"),
    Route("GET", "/v1/payers/{payer_id}/participants", "payment_callback"),
    Route("GET", "/v1/payers/{payer_id}/statement", "payment_callback"),
    # A payer's (sponsor, local government) bulk order: one code for up to 20,000 workers.
    Route("POST", "/v1/payers/{payer_id}/payment-orders", "bulk_orders"),
    # Money that needs a person (scope backoffice).
    Route("GET", "/v1/reconciliation", "payment_callback"),
    Route("POST", "/v1/reconciliation/{item_id}/resolve", "payment_callback"),
    # Provider callbacks: no partner key; each provider authenticates itself inside the function
    # (Midtrans signature_key, Xendit x-callback-token, the channels' HMAC X-Signature).
    Route("POST", "/v1/payments/midtrans", "payment_callback", authorized=False),
    Route("POST", "/v1/payments/xendit", "payment_callback", authorized=False),
    Route("POST", "/v1/payments/channel", "payment_callback", authorized=False),
    Route("POST", "/v1/claims", "claims", required_headers=("Idempotency-Key",)),
    Route("GET", "/v1/claims/{claim_id}", "claims"),
    Route("POST", "/v1/claims/{claim_id}/decision", "claims"),
    Route("POST", "/v1/claims/{claim_id}/payout", "claims"),
    Route("POST", "/v1/claims/{claim_id}/documents", "claims"),
    Route("GET", "/v1/participants/{participant_id}/claims", "claims"),
    # Agen Perisai registry (scope enroll: the agent's partner, or the back office).
    Route("POST", "/v1/agents", "agents"),
    Route("GET", "/v1/agents/{agent_code}", "agents"),
    Route("POST", "/v1/agents/{agent_code}/deactivate", "agents"),
    Route("POST", "/v1/agents/{agent_code}/reactivate", "agents"),
    # Agent reports (functions/agents/reports.py).
    Route("GET", "/v1/agents", "agents"),
    Route("GET", "/v1/agents/{agent_code}/performance", "agents"),
    Route("GET", "/v1/agents/{agent_code}/statement", "agents"),
    Route("GET", "/v1/reports/coverage", "agents"),
)

# $context.error.messageString arrives already quoted; the other values are quoted here.
_ERROR_TEMPLATE = '{"error": "%s", "message": %s, "fields": []}'
# API Gateway prefers a resource's explicit methods over ANY, so ANY answers only the methods
# the path does not define. Method tokens and resource paths need no JSON escaping.
_METHOD_NOT_ALLOWED = (
    '{"error": "method_not_allowed", "message": "method $context.httpMethod is not allowed on %s; '
    'allowed: %s", "fields": []}'
)


class ApiConstruct(Construct):
    def __init__(
        self,
        scope: Construct,
        id_: str,
        *,
        functions: dict[str, lambda_.IFunction],
        authorizer_fn: lambda_.IFunction,
    ) -> None:
        super().__init__(scope, id_)
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=RemovalPolicy.RETAIN,
        )
        self.api = apigw.RestApi(
            self,
            "PartnerApi",
            description="Perisai partner API",
            deploy_options=apigw.StageOptions(
                stage_name=STAGE,
                access_log_destination=apigw.LogGroupLogDestination(access_logs),
                access_log_format=apigw.AccessLogFormat.json_with_standard_fields(
                    caller=False,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                tracing_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request bodies carry NIKs
                metrics_enabled=True,
                throttling_rate_limit=THROTTLE_RATE,
                throttling_burst_limit=THROTTLE_BURST,
            ),
            cloud_watch_role=True,
            # Usage plans meter the key the authorizer returns (usageIdentifierKey), not a header.
            api_key_source_type=apigw.ApiKeySourceType.AUTHORIZER,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            endpoint_types=[apigw.EndpointType.REGIONAL],
        )
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "PartnerKeyAuthorizer",
            handler=authorizer_fn,
            identity_source=apigw.IdentitySource.header("Authorization"),
            results_cache_ttl=AUTHORIZER_CACHE,
        )
        self.validator = apigw.RequestValidator(
            self,
            "HeaderValidator",
            rest_api=self.api,
            validate_request_parameters=True,
            validate_request_body=False,
        )
        self._gateway_responses()
        self.usage_plans = {
            plan.name: self.api.add_usage_plan(
                f"{plan.name.title()}UsagePlan",
                name=f"perisai-{plan.name}",
                description=plan.description,
                throttle=apigw.ThrottleSettings(rate_limit=plan.rate, burst_limit=plan.burst),
                quota=apigw.QuotaSettings(limit=plan.daily_quota, period=apigw.Period.DAY),
                api_stages=[apigw.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
            )
            for plan in PLANS
        }

        integrations = {key: apigw.LambdaIntegration(fn, proxy=True) for key, fn in functions.items()}
        for route in ROUTES:
            resource = self.api.root.resource_for_path(route.path)
            method = resource.add_method(
                route.method,
                integrations[route.function],
                authorizer=self.authorizer if route.authorized else None,
                authorization_type=apigw.AuthorizationType.CUSTOM if route.authorized else apigw.AuthorizationType.NONE,
                request_validator=self.validator if route.required_headers else None,
                request_parameters={f"method.request.header.{h}": True for h in route.required_headers} or None,
                api_key_required=route.authorized,
            )
            if not route.authorized:
                acknowledge(
                    method,
                    "AwsSolutions-APIG4",
                    "Public by design: health check, the OpenAPI document, or a payment provider "
                    "callback the function authenticates with the provider's own scheme (Midtrans "
                    "signature_key, Xendit callback token, a channel's HMAC signature of a timestamp and the body).",
                )
                acknowledge(
                    method,
                    "AwsSolutions-COG4",
                    "Partners authenticate with API keys through a Lambda authorizer, not Cognito.",
                )
            else:
                acknowledge(
                    method,
                    "AwsSolutions-COG4",
                    "Partners authenticate with API keys through a Lambda authorizer, not Cognito.",
                )

        for path in dict.fromkeys(route.path for route in ROUTES):
            self._method_not_allowed(path, sorted(r.method for r in ROUTES if r.path == path))

        acknowledge(
            self.api,
            "AwsSolutions-APIG2",
            "Requests are validated in the functions (pydantic models, each bad field named); "
            "API Gateway checks the required headers.",
        )
        acknowledge(
            self.api.deployment_stage,
            "AwsSolutions-APIG3",
            "WAF is attached per environment by the edge team; throttling and usage plans limit abuse here.",
        )

    def _method_not_allowed(self, path: str, allowed: list[str]) -> None:
        """ANY on the resource: a mock integration answering 405 with the ``Allow`` header."""
        allow = ", ".join(allowed)
        method = self.api.root.resource_for_path(path).add_method(
            "ANY",
            apigw.MockIntegration(
                # Other media types are refused (415, JSON gateway response) instead of reaching
                # the mock without its statusCode, which API Gateway answers with a 500.
                passthrough_behavior=apigw.PassthroughBehavior.NEVER,
                request_templates={"application/json": '{"statusCode": 405}'},
                integration_responses=[
                    apigw.IntegrationResponse(
                        status_code="405",
                        response_parameters={"method.response.header.Allow": f"'{allow}'"},
                        response_templates={"application/json": _METHOD_NOT_ALLOWED % (path, allow)},
                    )
                ],
            ),
            authorization_type=apigw.AuthorizationType.NONE,
            method_responses=[
                apigw.MethodResponse(status_code="405", response_parameters={"method.response.header.Allow": True})
            ],
        )
        acknowledge(
            method,
            "AwsSolutions-APIG4",
            "Answers every method the path does not define with a fixed 405; it reaches no function or data.",
        )
        acknowledge(
            method,
            "AwsSolutions-COG4",
            "Answers every method the path does not define with a fixed 405; it reaches no function or data.",
        )

    def _gateway_responses(self) -> None:
        json_headers = {"Content-Type": "'application/json'"}
        retry_soon = {**json_headers, "Retry-After": "'1'"}
        responses: dict[str, tuple[apigw.ResponseType, str | None, str, str, dict[str, str]]] = {
            "Unauthorized": (
                apigw.ResponseType.UNAUTHORIZED,
                "401",
                "unauthorized",
                '"missing, unknown or revoked partner key"',
                json_headers,
            ),
            "AccessDenied": (
                apigw.ResponseType.ACCESS_DENIED,
                "403",
                "forbidden",
                "$context.error.messageString",
                json_headers,
            ),
            "BadParameters": (
                apigw.ResponseType.BAD_REQUEST_PARAMETERS,
                "400",
                "missing_parameter",
                '"$context.error.validationErrorString"',
                json_headers,
            ),
            "Throttled": (
                apigw.ResponseType.THROTTLED,
                "429",
                "too_many_requests",
                '"too many requests; slow down"',
                json_headers,
            ),
            "QuotaExceeded": (
                apigw.ResponseType.QUOTA_EXCEEDED,
                "429",
                "quota_exceeded",
                '"daily request quota exceeded"',
                json_headers,
            ),
            "TooLarge": (
                apigw.ResponseType.REQUEST_TOO_LARGE,
                "413",
                "payload_too_large",
                '"request body too large"',
                json_headers,
            ),
            "NoUsagePlan": (
                apigw.ResponseType.INVALID_API_KEY,
                "403",
                "forbidden",
                '"this partner key is not in a usage plan"',
                json_headers,
            ),
            # Unknown routes: API Gateway's "Missing Authentication Token" 403 would mislead partners.
            "UnknownRoute": (
                apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN,
                "404",
                "not_found",
                '"no such route"',
                json_headers,
            ),
            "Default4xx": (
                apigw.ResponseType.DEFAULT_4_XX,
                None,
                "bad_request",
                "$context.error.messageString",
                json_headers,
            ),
            # A failing authorizer (its table throttled, a timeout) is transient: ask for a retry.
            "AuthorizerFailure": (
                apigw.ResponseType.AUTHORIZER_FAILURE,
                "503",
                "service_unavailable",
                '"partner key check unavailable; retry shortly"',
                retry_soon,
            ),
            "AuthorizerConfigurationError": (
                apigw.ResponseType.AUTHORIZER_CONFIGURATION_ERROR,
                "503",
                "service_unavailable",
                '"partner key check unavailable; retry shortly"',
                retry_soon,
            ),
            "UnsupportedMediaType": (
                apigw.ResponseType.UNSUPPORTED_MEDIA_TYPE,
                "415",
                "unsupported_media_type",
                '"unsupported media type; send application/json"',
                json_headers,
            ),
            "Default5xx": (
                apigw.ResponseType.DEFAULT_5_XX,
                None,
                "gateway_error",
                "$context.error.messageString",
                json_headers,
            ),
        }
        for name, (kind, status, code, message, headers) in responses.items():
            self.api.add_gateway_response(
                name,
                type=kind,
                status_code=status,
                response_headers=headers,
                templates={"application/json": _ERROR_TEMPLATE % (code, message)},
            )
