"""Participants table: the one write path for participant profiles. Items:

- ``PARTICIPANT#<id> / PROFILE``: the participant (no NIK in clear)
- ``NIK#<hmac> / NIK``: one per NIK, the uniqueness guard and the lookup by NIK
- ``OUTBOX#<event id> / EVENT``: a domain event written in the same transaction as the change
  it announces; the table stream carries it to the event bus (outbox relay), then TTL removes it.
- ``PAYER#<payer id> / WORKER#<participant id>``: a payer link (a sponsor or local government
  pays this worker's dues for its ``periods``), computed from the participant's payer timeline by
  ``payer_links`` and written in the same transaction as the participant change that made it.

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

from perisai.domain.payers import PayerRef, PayerSpan, payer_periods, timeline
from perisai.dynamo import DynamoRepository, from_item, to_item
from perisai.errors import AlreadyEnrolled, VersionConflict
from perisai.participants.models import Participant, StoredPayer

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


def payer_ref(payer: StoredPayer | None) -> PayerRef | None:
    """A payer that has links: one with an id that is not the worker."""
    if payer is None or payer.type == "self" or not payer.id:
        return None
    return PayerRef(payer.id, payer.type)


def payer_timeline(participant: Participant) -> list[PayerSpan]:
    """The participant's effective payer timeline (``perisai.domain.payers.timeline``)."""
    return timeline(
        participant.first_dues_month,
        payer_ref(participant.payer),
        [(change.from_month, payer_ref(change.payer)) for change in participant.payer_changes],
    )


def payer_links(participant: Participant) -> dict[str, dict[str, Any]]:
    """The payer link items of a participant (payer id -> item), from its timeline; every writer
    stores exactly these. ``until_month`` (exclusive) is the end of the last period, absent when
    the payer pays on with no end."""
    links: dict[str, dict[str, Any]] = {}
    for payer_id, (payer_type, periods) in payer_periods(payer_timeline(participant)).items():
        item: dict[str, Any] = {
            "pk": f"PAYER#{payer_id}",
            "sk": f"WORKER#{participant.participant_id}",
            "entity": "payer_link",
            "payer_id": payer_id,
            "payer_type": payer_type,
            "participant_id": participant.participant_id,
            "periods": [
                {"from_month": p.from_month, **({"until_month": p.until_month} if p.until_month else {})}
                for p in periods
            ],
        }
        if periods[-1].until_month is not None:
            item["until_month"] = periods[-1].until_month
        links[payer_id] = item
    return links


def profile_key(participant_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}}


class ParticipantRepository(DynamoRepository):
    # -- writes ---------------------------------------------------------------

    def create(
        self,
        participant: Participant,
        events: Sequence[DomainEvent] = (),
        extra_items: Sequence[dict[str, Any]] = (),
    ) -> None:
        """A new participant with its NIK uniqueness item, its payer links and ``extra_items``
        (transaction items) in one transaction; AlreadyEnrolled if the NIK has one."""
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
            *self.link_writes(None, participant),
            *extra_items,
        ]
        reasons = self._transact(items)
        # reasons[1] is the NIK item's: the items above keep the profile and the NIK item first.
        if reasons and reasons[1] == "ConditionalCheckFailed":
            raise AlreadyEnrolled()
        if reasons:
            raise VersionConflict(participant.participant_id)

    def replace(
        self,
        participant: Participant,
        read_version: int,
        events: Sequence[DomainEvent] = (),
        extra_items: Sequence[dict[str, Any]] = (),
    ) -> Participant:
        """Store ``participant`` over the version read, with ``extra_items`` (transaction items) in
        the same transaction; VersionConflict if it changed since (or an extra item's condition failed)."""
        stored = participant.model_copy(update={"version": read_version + 1})
        items = [
            self.replace_item(stored, read_version),
            *(self.outbox_item(event) for event in events),
            *extra_items,
        ]
        if self._transact(items):
            raise VersionConflict(participant.participant_id)
        return stored

    def replace_linked(
        self, before: Participant, after: Participant, events: Sequence[DomainEvent] = ()
    ) -> Participant:
        """``replace`` of ``before`` (as read) by ``after``, with the payer links the change touches."""
        return self.replace(after, before.version, events, self.link_writes(before, after))

    def link_writes(self, before: Participant | None, after: Participant) -> list[dict[str, Any]]:
        """Transaction items bringing the payer links of ``before`` to those of ``after``: a Put
        for each link that is new or changed, a Delete for each payer no longer in the timeline.
        Unconditional: they ride on the participant's write, which is conditional on its version."""
        old = payer_links(before) if before is not None else {}
        new = payer_links(after)
        writes: list[dict[str, Any]] = [
            {"Put": {"TableName": self._table, "Item": to_item(item)}}
            for payer_id, item in new.items()
            if old.get(payer_id) != item
        ]
        writes += [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": {"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
                }
            }
            for payer_id, item in old.items()
            if payer_id not in new
        ]
        return writes

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

    def batch_get(self, participant_ids: Sequence[str]) -> dict[str, Participant]:
        """The profiles of these participants (absent ids are left out), strongly consistent,
        in BatchGetItems of 100 (what DynamoDB leaves unprocessed is asked again)."""
        items = self._batch_get([profile_key(pid) for pid in dict.fromkeys(participant_ids)])
        found = (Participant.model_validate(from_item(item)) for item in items)
        return {participant.participant_id: participant for participant in found}


def _profile_item(participant: Participant) -> dict[str, Any]:
    return {
        "pk": f"PARTICIPANT#{participant.participant_id}",
        "sk": "PROFILE",
        "entity": "participant",
        **participant.model_dump(mode="json", exclude_none=True),
        **index_keys(participant),
    }
