"""Participants table: the one write path for participant profiles. Items:

- ``PARTICIPANT#<id> / PROFILE``: the participant (no NIK in clear)
- ``NIK#<hmac> / NIK``: one per NIK, the uniqueness guard and the lookup by NIK
- ``OUTBOX#<event id> / EVENT``: a domain event written in the same transaction as the change
  it announces; the table stream carries it to the event bus (outbox relay), then TTL removes it.

Every write of a profile is conditional: a new one on its absence, a change on the version it
was read at. Throttling and transient errors are retried once, by botocore's standard retry
mode (``perisai.aws``); a lost race surfaces as ``VersionConflict`` for the caller to re-read.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from perisai.dynamo import DynamoRepository, from_item, to_item
from perisai.errors import AlreadyEnrolled, VersionConflict
from perisai.participants.models import Participant

DUE_MONTH_SHARDS = 16  # spreads one month's reminders over 16 index partitions
OUTBOX_TTL_SECONDS = 7 * 24 * 3600


class EventDetail(Protocol):
    event_id: str

    def model_dump_json(self) -> str: ...


@dataclass(frozen=True)
class DomainEvent:
    """A domain event to put through the outbox with a change."""

    detail_type: str
    detail: EventDetail


def due_shard(participant_id: str) -> int:
    return zlib.crc32(participant_id.encode()) % DUE_MONTH_SHARDS


def due_partition(dues_month: str, shard: int) -> str:
    return f"DUE#{dues_month}#{shard:02d}"


def index_keys(participant: Participant) -> dict[str, str]:
    """The index attributes of a participant profile; every writer stores exactly these."""
    keys = {
        # A partner's participants, newest first.
        "gsi1pk": f"PARTNER#{participant.partner_id}",
        "gsi1sk": f"ENROLLED#{participant.enrolled_at.isoformat()}#{participant.participant_id}",
    }
    if participant.status not in ("lapsed", "ended"):
        # Sparse: only participants who still owe a month are in the due-month index. The sort
        # key leads with the status, so a job reads one status of one month (begins_with) and
        # a participant it moves to another status leaves the range it reads.
        keys["gsi2pk"] = due_partition(participant.next_dues_month, due_shard(participant.participant_id))
        keys["gsi2sk"] = f"{participant.status}#{participant.participant_id}"
    recruited = participant.recruited_by
    if recruited.agent_code:
        # Scoped by the recruiting partner: agent codes are only unique within a partner.
        keys["gsi3pk"] = f"AGENT#{recruited.partner_id}#{recruited.agent_code}"
        keys["gsi3sk"] = f"{recruited.at.isoformat()}#{participant.participant_id}"
    return keys


def profile_key(participant_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}}


class ParticipantRepository(DynamoRepository):
    # -- writes ---------------------------------------------------------------

    def create(self, participant: Participant, events: Sequence[DomainEvent] = ()) -> None:
        """A new participant with its NIK uniqueness item; AlreadyEnrolled if the NIK has one."""
        nik_item = {
            "pk": f"NIK#{participant.nik_hash}",
            "sk": "NIK",
            "entity": "nik_index",
            "participant_id": participant.participant_id,
            "created_at": participant.enrolled_at.isoformat(),
        }
        items = [
            self._put(_profile_item(participant.model_copy(update={"version": 1})), "attribute_not_exists(pk)"),
            self._put(nik_item, "attribute_not_exists(pk)"),
            *(self._outbox_put(event) for event in events),
        ]
        reasons = self._transact(items)
        if reasons and reasons[1] == "ConditionalCheckFailed":
            raise AlreadyEnrolled()
        if reasons:
            raise VersionConflict(participant.participant_id)

    def replace(self, participant: Participant, read_version: int, events: Sequence[DomainEvent] = ()) -> Participant:
        """Store ``participant`` over the version read; VersionConflict if it changed since."""
        stored = participant.model_copy(update={"version": read_version + 1})
        items = [self.replace_item(stored, read_version), *(self.outbox_item(event) for event in events)]
        if self._transact(items):
            raise VersionConflict(participant.participant_id)
        return stored

    def replace_item(self, stored: Participant, read_version: int) -> dict[str, Any]:
        """The transaction item writing ``stored`` (its new version) over ``read_version``, for
        capabilities that change a participant in their own transaction (payments)."""
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(_profile_item(stored)),
                "ConditionExpression": "version = :read",
                "ExpressionAttributeValues": {":read": {"N": str(read_version)}},
            }
        }

    def outbox_item(self, event: DomainEvent) -> dict[str, Any]:
        return self._outbox_put(event)

    def _outbox_put(self, event: DomainEvent) -> dict[str, Any]:
        item = {
            "pk": f"OUTBOX#{event.detail.event_id}",
            "sk": "EVENT",
            "entity": "outbox",
            "detail_type": event.detail_type,
            "detail": event.detail.model_dump_json(),
            "expires_at": int(time.time()) + OUTBOX_TTL_SECONDS,
        }
        return self._put(item, "attribute_not_exists(pk)")

    # -- reads ----------------------------------------------------------------

    def get(self, participant_id: str) -> Participant | None:
        item = self._get(profile_key(participant_id))
        return Participant.model_validate(from_item(item)) if item else None

    def find_id_by_nik_hash(self, nik_hash: str) -> str | None:
        item = self._get({"pk": {"S": f"NIK#{nik_hash}"}, "sk": {"S": "NIK"}})
        return str(from_item(item)["participant_id"]) if item else None


def _profile_item(participant: Participant) -> dict[str, Any]:
    return {
        "pk": f"PARTICIPANT#{participant.participant_id}",
        "sk": "PROFILE",
        "entity": "participant",
        **participant.model_dump(mode="json", exclude_none=True),
        **index_keys(participant),
    }
