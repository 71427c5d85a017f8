"""Participants table access. Items:

- ``PARTICIPANT#<id> / PROFILE``: the participant (no NIK in clear)
- ``NIK#<hmac> / NIK``: one per NIK, the uniqueness guard and the lookup by NIK
- ``OUTBOX#<event id> / EVENT``: a domain event written in the same transaction; the
  table stream carries it to the event bus (outbox relay), then TTL removes it.
"""

from __future__ import annotations

import time
import zlib
from typing import Any

from perisai import aws
from perisai.dynamo import RETRYABLE_CODES, DynamoRepository, cancellation_codes, error_code, from_item, to_item
from perisai.enrollment.models import Participant, ParticipantEnrolled
from perisai.errors import AlreadyEnrolled, DependencyUnavailable

DUE_MONTH_SHARDS = 16  # spreads one month's reminders over 16 index partitions
OUTBOX_TTL_SECONDS = 7 * 24 * 3600
TRANSACTION_ATTEMPTS = 3


def due_shard(participant_id: str) -> int:
    return zlib.crc32(participant_id.encode()) % DUE_MONTH_SHARDS


class DynamoParticipantStore(DynamoRepository):
    # -- writes ---------------------------------------------------------------

    def create(self, participant: Participant, event: ParticipantEnrolled) -> None:
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(_participant_item(participant)),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(
                        {
                            "pk": f"NIK#{participant.nik_hash}",
                            "sk": "NIK",
                            "entity": "nik_index",
                            "participant_id": participant.participant_id,
                            "created_at": participant.enrolled_at.isoformat(),
                        }
                    ),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            self._outbox_put("ParticipantEnrolled", event),
        ]
        self._transact(items, conflict_index=1)

    def reactivate(self, participant: Participant, event: ParticipantEnrolled) -> None:
        items = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": to_item(_participant_item(participant)),
                    "ConditionExpression": "#status = :lapsed",
                    "ExpressionAttributeNames": {"#status": "status"},
                    "ExpressionAttributeValues": {":lapsed": {"S": "lapsed"}},
                }
            },
            self._outbox_put("ParticipantEnrolled", event),
        ]
        # Lost the race to another re-enrollment: it is no longer lapsed, so this one conflicts.
        self._transact(items, conflict_index=0)

    def _outbox_put(self, detail_type: str, event: ParticipantEnrolled) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(
                    {
                        "pk": f"OUTBOX#{event.event_id}",
                        "sk": "EVENT",
                        "entity": "outbox",
                        "detail_type": detail_type,
                        "detail": event.model_dump_json(),
                        "expires_at": int(time.time()) + OUTBOX_TTL_SECONDS,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _transact(self, items: list[dict[str, Any]], *, conflict_index: int) -> None:
        for attempt in range(TRANSACTION_ATTEMPTS):
            try:
                self._client.transact_write_items(TransactItems=items)
                return
            except aws.CALL_ERRORS as exc:  # a timeout is not a ClientError, and is just as retryable by the caller
                code = error_code(exc)
                reasons = cancellation_codes(exc) if code == "TransactionCanceledException" else []
                if len(reasons) > conflict_index and reasons[conflict_index] == "ConditionalCheckFailed":
                    raise AlreadyEnrolled() from exc
                # Concurrent transactions on the same NIK item: retry, the loser then sees the condition fail.
                retryable = "TransactionConflict" in reasons or code in RETRYABLE_CODES
                if not retryable or attempt == TRANSACTION_ATTEMPTS - 1:
                    raise DependencyUnavailable(f"participants table: {code}") from exc
                time.sleep(0.05 * (2**attempt))

    # -- reads ----------------------------------------------------------------

    def get(self, participant_id: str) -> Participant | None:
        item = self._get({"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}})
        return Participant.model_validate(from_item(item)) if item else None

    def find_id_by_nik_hash(self, nik_hash: str) -> str | None:
        item = self._get({"pk": {"S": f"NIK#{nik_hash}"}, "sk": {"S": "NIK"}})
        return str(from_item(item)["participant_id"]) if item else None

    def _get(self, key: dict[str, Any]) -> dict[str, Any] | None:
        try:
            # Strongly consistent: a channel reads a participant right after enrolling it.
            return self._client.get_item(TableName=self._table, Key=key, ConsistentRead=True).get("Item")
        except aws.CALL_ERRORS as exc:
            raise DependencyUnavailable(f"participants table: {error_code(exc)}") from exc


def _participant_item(participant: Participant) -> dict[str, Any]:
    data = participant.model_dump(mode="json", exclude_none=True)
    enrolled = participant.enrolled_at.isoformat()
    item: dict[str, Any] = {
        "pk": f"PARTICIPANT#{participant.participant_id}",
        "sk": "PROFILE",
        "entity": "participant",
        **data,
        "gsi1pk": f"PARTNER#{participant.partner_id}",
        "gsi1sk": f"ENROLLED#{enrolled}#{participant.participant_id}",
    }
    if participant.status != "lapsed":
        # Sparse: only participants who still owe a month are in the due-month index.
        item["gsi2pk"] = f"DUE#{participant.next_dues_month}#{due_shard(participant.participant_id):02d}"
        item["gsi2sk"] = participant.participant_id
    if participant.agent_code:
        item["gsi3pk"] = f"AGENT#{participant.agent_code}"
        item["gsi3sk"] = f"{enrolled}#{participant.participant_id}"
    return item
