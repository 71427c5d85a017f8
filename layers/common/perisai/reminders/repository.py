"""Data access of the reminder and status jobs (participants table and the two job queues).

Items (participants table):
- the ``by_due_month`` index, read one range (month, status, shard) at a time, never scanned;
- ``REMINDERS#OPEN / <round id>``: rounds not finished; ``REMINDERS#<round id> / RANGE#...``:
  how far a round has read each range (``RoundCursor``);
- ``SMSBUDGET#<day> / BUDGET``: reminders planned for one day's send window;
- ``SMSRATE#<epoch second> / RATE``: SMS sent in one second, across every sender (the pace).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any

from perisai import aws
from perisai.clock import clock
from perisai.dynamo import DynamoRepository, error_code, from_item, to_item
from perisai.errors import DependencyUnavailable
from perisai.models import Model
from perisai.participants.repository import due_partition
from perisai.reminders.models import DueEntry, ReminderRound, RoundCursor

DUE_INDEX = "by_due_month"
# Participant ids are upper-case letters, digits and "-": a space sorts before all of them and
# "~" after, so "<status>#<id> " starts right after that id and "<status>#~" ends the status.
_AFTER = " "
_END = "~"
ROUND_TTL_SECONDS = 120 * 24 * 3600
RATE_TTL_SECONDS = 3600
BUDGET_ATTEMPTS = 8


class ReminderRepository(DynamoRepository):
    # -- the due-month index ------------------------------------------------------------------

    def due_page(
        self, month: str, status: str, shard: int, after: str | None, limit: int
    ) -> tuple[list[DueEntry], bool]:
        """Up to ``limit`` entries of one range after ``after`` (a sort key), and whether more follow."""
        low = f"{after}{_AFTER}" if after else f"{status}#"
        try:
            page = self._client.query(
                TableName=self._table,
                IndexName=DUE_INDEX,
                KeyConditionExpression="gsi2pk = :pk AND gsi2sk BETWEEN :low AND :high",
                ExpressionAttributeValues={
                    ":pk": {"S": due_partition(month, shard)},
                    ":low": {"S": low},
                    ":high": {"S": f"{status}#{_END}"},
                },
                Limit=limit,
            )
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        entries = [DueEntry.model_validate(from_item(item)) for item in page.get("Items", [])]
        return entries, "LastEvaluatedKey" in page

    # -- rounds -------------------------------------------------------------------------------

    def open_round(self, round_: ReminderRound, cursors: Sequence[RoundCursor]) -> bool:
        """Record a new round with its cursors; False when the round already exists."""
        expires = int(time.time()) + ROUND_TTL_SECONDS
        items = [
            self._put(
                {"pk": "REMINDERS#OPEN", "sk": round_.round_id, "entity": "reminder_round", **_plain(round_)},
                "attribute_not_exists(pk)",
            ),
            *(self._put({**_cursor_item(c), "expires_at": expires}, "attribute_not_exists(pk)") for c in cursors),
        ]
        # One round has at most 16 shards x 3 ranges + 1 items; a transaction takes 100.
        return not self._transact(items)

    def open_rounds(self) -> list[ReminderRound]:
        page = self._query(
            KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": "REMINDERS#OPEN"}}
        )
        return [ReminderRound.model_validate(from_item(i)) for i in page.get("Items", [])]

    def close_round(self, round_id: str) -> None:
        try:
            self._client.delete_item(TableName=self._table, Key={"pk": {"S": "REMINDERS#OPEN"}, "sk": {"S": round_id}})
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc

    def cursors(self, round_id: str) -> list[RoundCursor]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            page = self._query(
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": f"REMINDERS#{round_id}"}},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            items.extend(page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                return [RoundCursor.model_validate(from_item(i)) for i in items]

    def cursor(self, round_id: str, month: str, status: str, shard: int) -> RoundCursor | None:
        item = self._get({"pk": {"S": f"REMINDERS#{round_id}"}, "sk": {"S": _range(month, status, shard)}})
        return RoundCursor.model_validate(from_item(item)) if item else None

    def move_cursor(self, cursor: RoundCursor, read_after: str | None) -> bool:
        """Store ``cursor`` if the stored one is still at ``read_after``; False if another
        page task moved it first (this one is a duplicate)."""
        condition = "attribute_not_exists(#after)" if read_after is None else "#after = :read"
        values = {} if read_after is None else {":read": {"S": read_after}}
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item({**_cursor_item(cursor), "expires_at": int(time.time()) + ROUND_TTL_SECONDS}),
                ConditionExpression=f"attribute_exists(pk) AND {condition}",
                ExpressionAttributeNames={"#after": "after"},
                **({"ExpressionAttributeValues": values} if values else {}),
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return True

    # -- when a job last ran -------------------------------------------------------------------

    def last_run(self, job: str) -> date | None:
        item = self._get({"pk": {"S": "REMINDERS#JOBRUN"}, "sk": {"S": job}})
        return date.fromisoformat(str(from_item(item)["day"])) if item else None

    def record_run(self, job: str, day: date) -> None:
        """The latest business day the job ran for (never moved back)."""
        try:
            self._client.put_item(
                TableName=self._table,
                Item=to_item({"pk": "REMINDERS#JOBRUN", "sk": job, "entity": "job_run", "day": day.isoformat()}),
                ConditionExpression="attribute_not_exists(#day) OR #day < :day",
                ExpressionAttributeNames={"#day": "day"},
                ExpressionAttributeValues={":day": {"S": day.isoformat()}},
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return  # a later day is already recorded
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc

    # -- the day's SMS budget -----------------------------------------------------------------

    def take_budget(self, day: date, wanted: int, capacity: int) -> int:
        """Reserve up to ``wanted`` of ``day``'s ``capacity`` sends; returns how many it got."""
        key = {"pk": {"S": f"SMSBUDGET#{day.isoformat()}"}, "sk": {"S": "BUDGET"}}
        for _ in range(BUDGET_ATTEMPTS):
            item = self._get(key)
            used = int(from_item(item)["used"]) if item else 0
            granted = max(0, min(wanted, capacity - used))
            if granted == 0:
                return 0
            try:
                self._client.update_item(
                    TableName=self._table,
                    Key=key,
                    UpdateExpression="SET used = :new, expires_at = :expires",
                    ConditionExpression="attribute_not_exists(used) OR used = :used",
                    ExpressionAttributeValues={
                        ":new": {"N": str(used + granted)},
                        ":used": {"N": str(used)},
                        ":expires": {"N": str(int(time.time()) + ROUND_TTL_SECONDS)},
                    },
                )
            except aws.CALL_ERRORS as exc:
                if error_code(exc) == "ConditionalCheckFailedException":
                    continue  # another page took some meanwhile: read again
                raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
            return granted
        raise DependencyUnavailable("SMS budget kept changing; the page is retried")


class SendRate(DynamoRepository):
    """At most ``per_second`` SMS in any one second, however many senders run at once: each send
    first takes one of the second's slots with a conditional counter; when the second is full
    it waits for the next one."""

    def __init__(
        self,
        table_name: str,
        per_second: int,
        dynamodb: Any | None = None,
        now: Callable[[], float] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        max_wait_seconds: float = 20,
    ) -> None:
        super().__init__(table_name, dynamodb)
        self._per_second = per_second
        self._now = now or (lambda: clock.now().timestamp())
        self._sleep = sleep
        self._max_wait = max_wait_seconds

    def acquire(self) -> int:
        """Wait for a send slot; returns the epoch second it belongs to."""
        started = self._now()
        while True:
            now = self._now()
            second = int(now)
            if self._take(second):
                return second
            if now - started > self._max_wait:
                # The record goes back to the queue and is retried: nothing is lost.
                raise DependencyUnavailable("no SMS send slot free; retried later")
            self._sleep(second + 1 - now)

    def _take(self, second: int) -> bool:
        try:
            self._client.update_item(
                TableName=self._table,
                Key={"pk": {"S": f"SMSRATE#{second}"}, "sk": {"S": "RATE"}},
                UpdateExpression="ADD sent :one SET expires_at = :expires",
                ConditionExpression="attribute_not_exists(sent) OR sent < :rate",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":rate": {"N": str(self._per_second)},
                    ":expires": {"N": str(second + RATE_TTL_SECONDS)},
                },
            )
        except aws.CALL_ERRORS as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise DependencyUnavailable(f"{self._table}: {error_code(exc)}") from exc
        return True


def _range(month: str, status: str, shard: int) -> str:
    return f"RANGE#{month}#{status}#{shard:02d}"


def _plain(model: Model | Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(model.model_dump_json(exclude_none=True))
    return data


def _cursor_item(cursor: RoundCursor) -> dict[str, Any]:
    return {
        "pk": f"REMINDERS#{cursor.round_id}",
        "sk": _range(cursor.month, cursor.status, cursor.shard),
        "entity": "reminder_cursor",
        **_plain(cursor),
    }
