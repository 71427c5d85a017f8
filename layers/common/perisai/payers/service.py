"""Payer rules: who may act for a payer, payer changes on the participant's timeline, a payer's
workers and its statement. No boto3: storage comes in as ports.

- A payer (a ``sponsor`` or ``local_government`` partner) acts for itself; the back office acts
  for any payer. Any other partner asking about a payer is told it does not exist (404 payer), as
  for bulk orders (``payer_visible``): a partner of another channel reading its own id included.
- A payer never displaces another: its change is refused (422 from_month) when another payer pays
  any month from ``from_month`` on; the back office decides between payers.
- A payer may take over any enrolled worker by id (SERTAKAN, APBD): the participant only has to exist.
- Payer changes go on the participant's ``payer_changes`` (a change replaces every later one) and
  the payer links are written with it, in one transaction conditional on the version read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, cast

from perisai.bulk_orders.service import payer_visible
from perisai.clock import JAKARTA
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.payers import PAYER_CHANNELS, PayerRef, PayerSpan, check_from_month, replace_from
from perisai.domain.programs import PayerType
from perisai.domain.rates import Policies
from perisai.errors import NotFound
from perisai.participants.models import Participant, PayerChange, StoredPayer
from perisai.participants.repository import DomainEvent, payer_timeline
from perisai.participants.service import modify, shown_status, standing_of
from perisai.payers.models import (
    ParticipantPayerView,
    PayerLink,
    PayerRefView,
    PayerStatement,
    PayerTimelineEntry,
    PayerWorker,
    PayerWorkerPage,
    StatementEntry,
    StatementRow,
    TimelinePayerType,
)


class Participants(Protocol):
    def get(self, participant_id: str) -> Participant | None: ...

    def replace(
        self, participant: Participant, read_version: int, events: Sequence[DomainEvent] = ()
    ) -> Participant: ...

    def replace_linked(
        self, before: Participant, after: Participant, events: Sequence[DomainEvent] = ()
    ) -> Participant: ...

    def batch_get(self, participant_ids: Sequence[str]) -> dict[str, Participant]: ...


class PayerStore(Protocol):
    def partner_channel(self, partner_id: str) -> str | None: ...

    def links(
        self, payer_id: str, current_month: str, limit: int, after: str | None
    ) -> tuple[list[PayerLink], str | None]: ...

    def statement_entries(self, payer_id: str, month: str) -> list[StatementEntry]: ...

    def statement_page(
        self, payer_id: str, month: str, limit: int, after: str | None
    ) -> tuple[list[StatementEntry], str | None]: ...

    def statement_totals(self, payer_id: str, month: str) -> tuple[int, int]: ...


@dataclass
class PayerService:
    participants: Participants
    payers: PayerStore
    policies: Policies

    # -- payer changes -----------------------------------------------------------------------

    def set_payer(
        self, participant_id: str, payer_id: str, from_month: str, partner: Partner, now: datetime
    ) -> ParticipantPayerView:
        """``payer_id`` pays the worker's dues from ``from_month`` on. The same request again
        changes nothing (and writes nothing). A payer acting for itself may not displace another
        payer: if another pays any month from ``from_month`` on, 422 ``from_month`` (the back
        office may: it decides between payers)."""
        payer = self._acting_for(payer_id, partner)
        current_month = str(DuesMonth.of(now))

        def take_over(current: Participant) -> tuple[Participant, list[DomainEvent]] | None:
            if current.status == "ended":
                raise DomainValidationError.single("participant_id", "the participation has ended: nothing to pay")
            check_from_month(
                from_month,
                first_dues_month=current.first_dues_month,
                covered_through=current.covered_through,
                current_month=current_month,
            )
            if not partner.is_backoffice:
                taken = _other_payer_from(payer_timeline(current), from_month, payer.payer_id)
                if taken is not None:
                    raise DomainValidationError.single(
                        "from_month",
                        f"another payer pays from month {taken}: take over from a later month, or ask the back office",
                    )
            change = PayerChange(
                from_month=from_month,
                payer=StoredPayer(type=cast(PayerType, payer.type), id=payer.payer_id),
                at=now,
                by=partner.partner_id,
            )
            return _changed(current, change)

        return self._view(modify(self.participants, participant_id, take_over), now)

    def stop_payer(
        self, participant_id: str, from_month: str, partner: Partner, now: datetime, payer_id: str | None = None
    ) -> ParticipantPayerView:
        """From ``from_month`` on the worker pays for themselves. A payer may stop only what it
        pays: it must pay ``from_month`` or a later month, and no other payer may pay from then on
        (the back office may stop anyone). A named ``payer_id`` must be one that pays from then on
        (and, for a payer, itself)."""
        current_month = str(DuesMonth.of(now))
        if payer_id is not None and not partner.is_backoffice and payer_id != partner.partner_id:
            raise NotFound("payer")  # another payer's: as if absent, as for PUT

        def stop(current: Participant) -> tuple[Participant, list[DomainEvent]] | None:
            paying = _payers_from(payer_timeline(current), from_month)
            if payer_id is not None and partner.is_backoffice and payer_id not in paying:
                raise DomainValidationError.single("payer_id", f"does not pay this worker's dues from {from_month} on")
            if not partner.is_backoffice:
                if partner.partner_id not in paying:
                    if _stopped_by(current, from_month, partner.partner_id):
                        return None  # a retry of this payer's own stop: it already holds
                    raise NotFound("payer")  # not its worker: as if absent
                if paying - {partner.partner_id}:
                    raise DomainValidationError.single(
                        "from_month",
                        "another payer pays months from then on: stop from a later month, or ask the back office",
                    )
            check_from_month(
                from_month,
                first_dues_month=current.first_dues_month,
                covered_through=current.covered_through,
                current_month=current_month,
            )
            return _changed(current, PayerChange(from_month=from_month, payer=None, at=now, by=partner.partner_id))

        return self._view(modify(self.participants, participant_id, stop), now)

    def _acting_for(self, payer_id: str, partner: Partner) -> PayerRef:
        """The payer this partner may act for: itself if it is a payer, any payer for the back office."""
        if partner.is_backoffice:
            channel = self.payers.partner_channel(payer_id)
            if channel not in PAYER_CHANNELS:
                raise DomainValidationError.single(
                    "payer_id", "must be a partner whose channel is sponsor or local_government"
                )
            return PayerRef(payer_id, PAYER_CHANNELS[channel])
        if partner.partner_id != payer_id:
            raise NotFound("payer")
        if partner.channel not in PAYER_CHANNELS:
            raise DomainValidationError.single(
                "payer_id", "only a sponsor or local_government partner pays for workers"
            )
        return PayerRef(payer_id, PAYER_CHANNELS[partner.channel])

    def _view(self, participant: Participant, now: datetime) -> ParticipantPayerView:
        in_force = participant.payer_for(str(DuesMonth.of(now)))
        return ParticipantPayerView(
            participant_id=participant.participant_id,
            payer=(
                PayerRefView(payer_id=in_force.id, type=in_force.type)
                if in_force is not None and in_force.type != "self" and in_force.id
                else None
            ),
            changes=[
                PayerTimelineEntry(
                    from_month=span.from_month,
                    payer_id=span.payer.payer_id if span.payer else None,
                    type=cast(TimelinePayerType, span.payer.type) if span.payer else "self",
                )
                for span in payer_timeline(participant)
            ],
            first_dues_month=participant.first_dues_month,
            covered_through=participant.covered_through,
        )

    # -- reads ---------------------------------------------------------------------------------

    def workers(self, payer_id: str, partner: Partner, now: datetime, limit: int, after: str | None) -> PayerWorkerPage:
        """The workers ``payer_id`` pays for this month or from a later month, with their standing
        as ``GET /v1/participants/{id}`` shows it: one Query of links, one batch read of profiles."""
        payer_visible(payer_id, partner, self.payers)
        today = now.astimezone(JAKARTA).date()
        current_month = str(DuesMonth.of(today))
        links, next_token = self.payers.links(payer_id, current_month, limit, after)
        profiles = self.participants.batch_get([link.participant_id for link in links])
        items: list[PayerWorker] = []
        for link in links:
            participant = profiles.get(link.participant_id)
            period = _current_or_next(link, current_month)
            if participant is None or period is None:
                continue
            standing = standing_of(participant, today, self.policies)
            status = shown_status(participant, standing)
            until = period.get("until_month")
            items.append(
                PayerWorker(
                    participant_id=participant.participant_id,
                    status=status,
                    months_owed=0 if status == "ended" else standing.months_owed,
                    covered_through=participant.covered_through,
                    next_dues_month=str(standing.next_dues_month),
                    paid_from=period["from_month"],
                    paid_until=str(DuesMonth.parse(until).previous()) if until else None,
                )
            )
        return PayerWorkerPage(items=items, next_token=next_token)

    def statement(self, payer_id: str, month: str, partner: Partner) -> PayerStatement:
        """What ``payer_id`` paid for dues month ``month``, the whole month in one statement (the
        CSV): one row per worker's ledger entry."""
        payer_visible(payer_id, partner, self.payers)
        rows = [_row(entry) for entry in self.payers.statement_entries(payer_id, month)]
        return PayerStatement(
            payer_id=payer_id,
            month=month,
            rows=rows,
            count=len(rows),
            total=sum(row.amount for row in rows),
            next_token=None,
        )

    def statement_page(
        self, payer_id: str, month: str, partner: Partner, limit: int, after: str | None
    ) -> PayerStatement:
        """One page of that statement (``limit`` rows by participant id after participant
        ``after``), with the whole month's ``count`` and ``total`` on every page. A first page
        that holds the whole month needs no second read for them."""
        payer_visible(payer_id, partner, self.payers)
        entries, next_token = self.payers.statement_page(payer_id, month, limit, after)
        rows = [_row(entry) for entry in entries]
        if after is None and next_token is None:
            count, total = len(rows), sum(row.amount for row in rows)
        else:
            count, total = self.payers.statement_totals(payer_id, month)
        return PayerStatement(
            payer_id=payer_id, month=month, rows=rows, count=count, total=total, next_token=next_token
        )


def _row(entry: StatementEntry) -> StatementRow:
    return StatementRow(
        participant_id=entry.participant_id,
        masked_name=entry.masked_name,
        regency=entry.regency,
        month=entry.month,
        months=entry.order_months or [entry.month],
        amount=entry.total,
        order_id=entry.order_id,
        payment_reference=entry.reference,
        provider=entry.provider,
        paid_at=entry.paid_at,
    )


def _changed(current: Participant, change: PayerChange) -> tuple[Participant, list[DomainEvent]] | None:
    """The participant with ``change`` on its timeline; None when no month's payer changes."""
    changes = replace_from(
        current.payer_changes, change.from_month, change, [c.from_month for c in current.payer_changes]
    )
    updated = current.model_copy(update={"payer_changes": changes})
    if payer_timeline(updated) == payer_timeline(current):
        return None
    return updated, []


def _stopped_by(current: Participant, from_month: str, partner_id: str) -> bool:
    """Whether the latest payer change is ``partner_id`` stopping from ``from_month``."""
    last = current.payer_changes[-1] if current.payer_changes else None
    return last is not None and last.payer is None and last.from_month == from_month and last.by == partner_id


def _payers_from(spans: Sequence[PayerSpan], from_month: str) -> set[str]:
    """The payers that pay ``from_month`` or any later month."""
    paying = set()
    for index, span in enumerate(spans):
        until = spans[index + 1].from_month if index + 1 < len(spans) else None
        if span.payer is not None and (until is None or until > from_month):
            paying.add(span.payer.payer_id)
    return paying


def _other_payer_from(spans: Sequence[PayerSpan], from_month: str, payer_id: str) -> str | None:
    """The first month from ``from_month`` on that a payer other than ``payer_id`` pays; None: none."""
    for index, span in enumerate(spans):
        until = spans[index + 1].from_month if index + 1 < len(spans) else None
        if span.payer is not None and span.payer.payer_id != payer_id and (until is None or until > from_month):
            return max(span.from_month, from_month)
    return None


def _current_or_next(link: PayerLink, current_month: str) -> dict[str, str] | None:
    """The link's period paying ``current_month``, else its next one."""
    for period in link.periods:
        until = period.get("until_month")
        if until is None or until > current_month:
            return period
    return None
