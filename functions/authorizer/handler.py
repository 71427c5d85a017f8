"""API Gateway TOKEN authorizer: partner key -> allow with the partner's identity and scopes.

The policy lists exactly the routes the key's scopes open (scopes per route come from the
OpenAPI document), so API Gateway caches one policy per key and answers 403 for the rest;
each route checks its scope again (perisai.api.scoped).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerResponse,
    APIGatewayAuthorizerTokenEvent,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.observability import logger, metrics
from perisai.partners.policy import allowed_routes, api_document
from perisai.partners.repository import PartnerKeyRepository
from perisai.partners.service import authenticate
from perisai.settings import AuthorizerEnv


@cache
def repository() -> PartnerKeyRepository:
    return PartnerKeyRepository(AuthorizerEnv.load().partners_table)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@event_source(data_class=APIGatewayAuthorizerTokenEvent)
def handler(event: APIGatewayAuthorizerTokenEvent, _context: LambdaContext) -> dict[str, Any]:
    key = authenticate(event.authorization_token, repository())
    if key is None:
        metrics.add_metric(name="PartnerKeyRejected", unit="Count", value=1)
        # This exact message makes API Gateway answer 401 (UNAUTHORIZED gateway response).
        raise Exception("Unauthorized")  # noqa: TRY002
    logger.append_keys(partner_id=key.partner_id, key_id=key.key_id)
    metrics.add_metric(name="PartnerKeyAccepted", unit="Count", value=1)
    policy = APIGatewayAuthorizerResponse.from_route_arn(
        event.method_arn,
        principal_id=key.partner_id,
        context={
            "partner_id": key.partner_id,
            "channel": key.channel,
            "scopes": " ".join(key.scopes),
            "key_id": key.key_id,
            "usage_plan": key.usage_plan,
        },
        # Usage plans (API key source AUTHORIZER) throttle and meter each partner by this key.
        usage_identifier_key=key.usage_key,
    )
    routes = allowed_routes(api_document(), frozenset(key.scopes))
    for method, path in routes:
        policy.allow_route(method, path)
    if not routes:
        # A key whose scopes open no route still authenticates, and is denied everywhere.
        policy.deny_all_routes()
    return policy.asdict()


@snapstart.register_before_snapshot
def prime() -> None:
    """Build the client, read the OpenAPI document and build a policy before the snapshot."""
    repository()
    aws.client("dynamodb")
    policy = APIGatewayAuthorizerResponse.from_route_arn(
        "arn:aws:execute-api:ap-southeast-3:000000000000:priming/live/GET/health", principal_id="priming"
    )
    for method, path in allowed_routes(api_document(), frozenset({"backoffice"})):
        policy.allow_route(method, path)
    policy.asdict()
    "perisai.example".encode("idna")  # botocore's first connection would import the codec


snapstart.register_after_restore(snapstart.renew_after_restore)
