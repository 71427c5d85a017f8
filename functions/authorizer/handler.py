"""API Gateway TOKEN authorizer: partner key -> allow with the partner's identity and scopes.

The policy allows every route of the stage so API Gateway can cache it per key;
each route then checks its own scope (perisai.api.require_scope).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai.observability import logger, metrics, tracer
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
    return {
        "principalId": key.partner_id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": _stage_arn(event["methodArn"])}
            ],
        },
        "context": {
            "partner_id": key.partner_id,
            "channel": key.channel,
            "scopes": " ".join(key.scopes),
            "key_id": key.key_id,
        },
    }


def _stage_arn(method_arn: str) -> str:
    # arn:aws:execute-api:region:account:api-id/stage/METHOD/path -> .../stage/*
    prefix, _, path = method_arn.partition("/")
    stage = path.split("/", 1)[0]
    return f"{prefix}/{stage}/*"
