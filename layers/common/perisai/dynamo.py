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

    # The reads and writes every data-access class makes, with AWS failures translated once:
    # a call that throttles or fails (after botocore's retries) is DependencyUnavailable.

    def _put(self, item: dict[str, Any], condition: str) -> dict[str, Any]:
        """A conditional Put for a transaction."""
        return {"Put": {"TableName": self._table, "Item": to_item(item), "ConditionExpression": condition}}

    def _transact(self, items: list[dict[str, Any]]) -> list[str]:
        """Run the transaction; the per-item cancellation reasons when a condition failed or a
        concurrent transaction conflicted (empty when it committed)."""
        from perisai import aws
        from perisai.errors import DependencyUnavailable

        try:
            self._client.transact_write_items(TransactItems=items)
        except aws.CALL_ERRORS as exc:  # a timeout is not a ClientError, and is just as retryable by the caller
            code = error_code(exc)
            reasons = cancellation_codes(exc) if code == "TransactionCanceledException" else []
            if any(r in ("ConditionalCheckFailed", "TransactionConflict") for r in reasons):
                return reasons
            raise DependencyUnavailable(f"{self._table}: {code}") from exc
        return []

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        """One item, strongly consistent: a conditional write must start from the latest version,
        and a partner reads what it has just written."""
        from perisai import aws
        from perisai.errors import DependencyUnavailable

        try:
            item: dict[str, Any] | None = self._client.get_item(
                TableName=self._table, Key=key, ConsistentRead=True
            ).get("Item")
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return item

    def _query(self, **kwargs: Any) -> dict[str, Any]:
        """One page of a strongly consistent Query on the base table."""
        from perisai import aws
        from perisai.errors import DependencyUnavailable

        try:
            page: dict[str, Any] = self._client.query(TableName=self._table, ConsistentRead=True, **kwargs)
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return page


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
