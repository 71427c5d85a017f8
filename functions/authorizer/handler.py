"""API Gateway TOKEN authorizer: partner key -> allow with the partner's identity and scopes.

The policy lists exactly the routes the key's scopes open (scopes per route come from the
OpenAPI document), so API Gateway caches one policy per key and answers 403 for the rest;
each route checks its scope again (perisai.api.scoped).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai.observability import logger, metrics, tracer
from perisai.partners.policy import allowed_routes, api_document, policy_resources
from perisai.partners.repository import PartnerKeyRepository
from perisai.partners.service import authenticate
from perisai.settings import AuthorizerEnv


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    repository = PartnerKeyRepository(AuthorizerEnv.load().partners_table)
    key = authenticate(event.get("authorizationToken"), repository)
    if key is None:
        metrics.add_metric(name="PartnerKeyRejected", unit="Count", value=1)
        # This exact message makes API Gateway answer 401 (UNAUTHORIZED gateway response).
        raise Exception("Unauthorized")  # noqa: TRY002
    logger.append_keys(partner_id=key.partner_id, key_id=key.key_id)
    metrics.add_metric(name="PartnerKeyAccepted", unit="Count", value=1)
    allowed = policy_resources(event["methodArn"], allowed_routes(api_document(), frozenset(key.scopes)))
    return {
        "principalId": key.partner_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                # A key whose scopes open no route still authenticates, and is denied everywhere.
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": allowed}
                if allowed
                else {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": event["methodArn"]}
            ],
        },
        # Usage plans (API key source AUTHORIZER) throttle and meter each partner by this key.
        "usageIdentifierKey": key.usage_key,
        "context": {
            "partner_id": key.partner_id,
            "channel": key.channel,
            "scopes": " ".join(key.scopes),
            "key_id": key.key_id,
            "usage_plan": key.usage_plan,
        },
    }
