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

    def _batch_get(self, keys: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The items of ``keys`` that exist (any order), strongly consistent, 100 keys a call;
        keys DynamoDB leaves unprocessed (throttling) are asked again, with a short backoff."""
        import time

        from perisai import aws
        from perisai.errors import DependencyUnavailable

        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            pending: list[dict[str, Any]] = keys[start : start + 100]
            for attempt in range(8):
                try:
                    answer = self._client.batch_get_item(
                        RequestItems={self._table: {"Keys": pending, "ConsistentRead": True}}
                    )
                except aws.CALL_ERRORS as exc:
                    raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
                found += answer.get("Responses", {}).get(self._table, [])
                pending = answer.get("UnprocessedKeys", {}).get(self._table, {}).get("Keys", [])
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            if pending:
                raise DependencyUnavailable(f"{self._table}: keys left unprocessed")
        return found

    def _batch_put(self, items: list[dict[str, Any]]) -> None:
        """Unconditional Puts, 25 a call; unprocessed items are sent again, with a short backoff."""
        self._batch_write([{"PutRequest": {"Item": to_item(item)}} for item in items])

    def _batch_delete(self, keys: list[dict[str, Any]]) -> None:
        """Unconditional Deletes, 25 a call; unprocessed ones are sent again, with a short backoff."""
        self._batch_write([{"DeleteRequest": {"Key": key}} for key in keys])

    def _batch_write(self, requests: list[dict[str, Any]]) -> None:
        import time

        from perisai import aws
        from perisai.errors import DependencyUnavailable

        for start in range(0, len(requests), 25):
            pending = requests[start : start + 25]
            for attempt in range(8):
                try:
                    answer = self._client.batch_write_item(RequestItems={self._table: pending})
                except aws.CALL_ERRORS as exc:
                    raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
                pending = answer.get("UnprocessedItems", {}).get(self._table, [])
                if not pending:
                    break
                time.sleep(min(0.05 * 2**attempt, 1.0))
            if pending:
                raise DependencyUnavailable(f"{self._table}: items left unprocessed")

    def _update(self, **kwargs: Any) -> dict[str, Any] | None:
        """One UpdateItem; None when its condition failed (the caller decides what that means)."""
        from perisai import aws
        from perisai.errors import DependencyUnavailable

        try:
            answer: dict[str, Any] = self._client.update_item(TableName=self._table, **kwargs)
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return None
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return answer

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
