"""Idempotency-Key handling on Powertools idempotency (DynamoDB records).

The record key is partner + Idempotency-Key, so two partners can never collide; the
request body is the payload fingerprint, so reusing a key for another body is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Any

from perisai.errors import (
    AlreadyEnrolled,
    ClaimAlreadyFiled,
    DependencyUnavailable,
    IdempotencyKeyReused,
    RequestInProgress,
)

RECORD_TTL_SECONDS = 24 * 3600  # covers client retries across a working day

# Refusals that are a request's final answer are kept under its key like a result: the same
# body replays the refusal, another body gets idempotency_key_reused. Otherwise Powertools
# deletes the record when the function raises, freeing the key, and a *different* request sent
# later under the same key would run (and could enroll someone). Retryable failures
# (DependencyUnavailable) still free the key.
FINAL_REFUSALS: dict[str, type[Exception]] = {
    "AlreadyEnrolled": AlreadyEnrolled,
    "ClaimAlreadyFiled": ClaimAlreadyFiled,
}
_REFUSED = "__refused__"


@cache
def config() -> Any:
    from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig

    return IdempotencyConfig(
        event_key_jmespath="[partner_id, operation, idempotency_key]",
        payload_validation_jmespath="body",
        raise_on_no_idempotency_key=True,
        expires_after_seconds=RECORD_TTL_SECONDS,
    )


def register_lambda_context(context: Any) -> None:
    # Lets an in-progress record expire with the invocation if the function times out.
    config().register_lambda_context(context)


@cache
def once(
    table_name: str, operation: str, fn: Callable[[dict[str, Any]], dict[str, Any]]
) -> Callable[..., dict[str, Any]]:
    """Wrap ``fn(request) -> result dict`` so each (partner, key) runs it once and replays its result."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, idempotent_function

    from perisai import aws

    persistence = DynamoDBPersistenceLayer(table_name=table_name, boto3_client=aws.client("dynamodb"))

    def attempt(request: dict[str, Any]) -> dict[str, Any]:
        try:
            return fn(request)
        except tuple(FINAL_REFUSALS.values()) as exc:
            return {_REFUSED: type(exc).__name__}

    wrapped = idempotent_function(
        attempt, data_keyword_argument="request", persistence_store=persistence, config=config(), key_prefix=operation
    )

    def call(*, partner_id: str, idempotency_key: str, body: dict[str, Any], **extra: Any) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        request = {
            "partner_id": partner_id,
            "operation": operation,
            "idempotency_key": idempotency_key,
            "body": body,
            **extra,
        }
        try:
            result: dict[str, Any] = wrapped(request=request)
        except IdempotencyValidationError as exc:
            raise IdempotencyKeyReused() from exc
        except IdempotencyAlreadyInProgressError as exc:
            raise RequestInProgress() from exc
        except IdempotencyPersistenceLayerError as exc:
            raise DependencyUnavailable("idempotency store unavailable") from exc
        if _REFUSED in result:
            raise FINAL_REFUSALS[result[_REFUSED]]()
        return result

    return call
