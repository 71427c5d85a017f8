"""DynamoDB attribute-value conversion and error translation shared by the data-access modules."""

from __future__ import annotations

from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()

RETRYABLE_CODES = frozenset(
    {
        "ProvisionedThroughputExceededException",
        "ThrottlingException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionInProgressException",
    }
)


class DynamoRepository:
    """Base of the data-access classes: the table, and a client built on first use (or injected)."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self._table = table_name
        self._dynamodb = dynamodb

    @property
    def _client(self) -> Any:
        from perisai import aws

        return self._dynamodb or aws.client("dynamodb")


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    # DynamoDB numbers come back as Decimal; every number Perisai stores is an integer.
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def error_code(exc: Exception) -> str:
    """The AWS error code of a ClientError; the exception's type for a call that got no answer (timeouts)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return type(exc).__name__


def cancellation_codes(exc: Exception) -> list[str]:
    """Per-item reasons of a cancelled transaction, in TransactItems order (none for other errors)."""
    if not isinstance(exc, ClientError):
        return []
    return [str(r.get("Code", "None")) for r in exc.response.get("CancellationReasons", [])]
