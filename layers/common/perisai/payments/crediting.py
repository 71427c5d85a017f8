"""What crediting paid dues months does to one participant: the ledger entries, the participant
after the payment, and the events announcing it. Shared by a participant's own order and each
worker of a payer's bulk order, so both credit alike."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from perisai.clock import JAKARTA
from perisai.domain.billing import after_payment
from perisai.domain.months import DuesMonth
from perisai.domain.payers import mask_name
from perisai.domain.rates import Policies
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent
from perisai.payments.models import (
    ContributionEntry,
    ContributionReceived,
    OrderLine,
    ParticipantStatusChanged,
)


@dataclass(frozen=True)
class PaidVia:
    """The payment that pays the months: which provider told us, and when it was paid."""

    order_id: str
    collecting_partner: str
    provider: str
    channel: str | None
    reference: str
    paid_at: datetime


@dataclass(frozen=True)
class CreditPlan:
    entries: list[ContributionEntry]
    participant: Participant
    events: list[DomainEvent]


def plan_credit(
    participant: Participant,
    lines: Sequence[OrderLine],
    via: PaidVia,
    now: datetime,
    policies: Policies,
    paid: int | None = None,
) -> CreditPlan:
    """Credit ``lines`` (consecutive months, oldest first) to ``participant``; raises
    DomainValidationError (field ``months``) when the months cannot be credited (already paid,
    or paying them would leave a gap): the money then goes to reconciliation. ``paid``: what the
    payment brought for these months, when not their dues (an order's rebates taken off)."""
    months = [line.month for line in lines]
    credit = after_payment(
        paid_months=[DuesMonth.parse(m) for m in months],
        first_dues_month=DuesMonth.parse(participant.first_dues_month),
        covered_through=DuesMonth.parse(participant.covered_through) if participant.covered_through else None,
        today=now.astimezone(JAKARTA).date(),
        due_day=policies.due_day_of_month,
        window_months=policies.arrears_window_months,
    )
    recruited = participant.recruited_by
    entries = [
        ContributionEntry(
            participant_id=participant.participant_id,
            month=line.month,
            jkk=line.jkk,
            jkm=line.jkm,
            jht=line.jht,
            discount=line.discount,
            total=line.total,
            payer_type=line.payer_type,
            payer_id=line.payer_id,
            provider=via.provider,
            channel=via.channel,
            reference=via.reference,
            order_id=via.order_id,
            paid_at=via.paid_at,
            credited_at=now,
            recruited_by_partner=recruited.partner_id,
            recruited_by_agent=recruited.agent_code,
            collecting_partner=via.collecting_partner,
            regency=participant.regency,
            masked_name=mask_name(participant.full_name),
            order_months=months,
        )
        for line in lines
    ]
    after = credit.after
    updated = participant.model_copy(
        update={
            "covered_through": str(after.covered_through) if after.covered_through else None,
            "next_dues_month": str(after.next_dues_month),
            "status": after.status,
        }
    )
    events = [
        DomainEvent(
            "ContributionReceived",
            ContributionReceived(
                event_id=str(uuid.uuid4()),
                participant_id=participant.participant_id,
                order_id=via.order_id,
                months=months,
                amount=sum(line.total for line in lines) if paid is None else paid,
                provider=via.provider,
                channel=via.channel,
                collecting_partner=via.collecting_partner,
                recruited_by_partner=recruited.partner_id,
                recruited_by_agent=recruited.agent_code,
                covered_through=str(after.covered_through),
                status=after.status,
                credited_at=now,
            ),
        )
    ]
    for happened, detail_type in (
        (credit.first_payment, "ParticipantActivated"),
        (credit.reactivated, "ParticipantReactivated"),
    ):
        if happened:
            events.append(
                DomainEvent(
                    detail_type,
                    ParticipantStatusChanged(
                        event_id=str(uuid.uuid4()),
                        participant_id=participant.participant_id,
                        partner_id=participant.partner_id,
                        status=after.status,
                        covered_through=str(after.covered_through),
                        at=now,
                    ),
                )
            )
    return CreditPlan(entries, updated, events)
