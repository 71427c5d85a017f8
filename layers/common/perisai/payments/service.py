"""Payment orders and provider callbacks: a participant's dues payable at any counter and
credited exactly once, whatever the providers deliver. Pure rules come from
``perisai.domain.billing`` and ``perisai.domain.payment_codes``; storage is a port."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from perisai.bulk_orders.models import BulkOrder, BulkOrderView
from perisai.clock import JAKARTA
from perisai.domain.billing import billable_months, reversal, standing
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.payment_codes import new_payment_code
from perisai.domain.quote import quote_dues
from perisai.domain.rates import RateBook
from perisai.errors import DependencyUnavailable, NotFound, VersionConflict
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent
from perisai.payments.crediting import PaidVia, plan_credit
from perisai.payments.models import (
    CallbackAnswer,
    CallbackOutcome,
    ContributionEntry,
    ContributionPage,
    ContributionReversed,
    ContributionView,
    OrderLine,
    PaymentOrder,
    PaymentOrderView,
    PaymentView,
    Rebate,
    ReceivedPayment,
    ReconciliationItem,
    ReconciliationKind,
    ReconciliationPage,
    ReconciliationView,
)
from perisai.payments.providers import ProviderEvent
from perisai.payments.repository import (
    AlreadyHandled,
    MonthAlreadyCredited,
    PaymentCodeTaken,
    recon_item,
)

WRITE_ATTEMPTS = 5
_ORDER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class ParticipantReader(Protocol):
    def get(self, participant_id: str) -> Participant | None: ...


class BulkCallbacks(Protocol):
    """Bulk orders (perisai.bulk_orders): paid through the same callbacks as any order."""

    def receive(self, order: BulkOrder, event: ProviderEvent, received_key: str, now: datetime) -> CallbackAnswer: ...
    def view(self, order: BulkOrder, partner: Partner) -> BulkOrderView: ...


class PaymentStore(Protocol):
    def create_order(self, order: PaymentOrder, now: datetime) -> None: ...
    def get_order(self, order_id: str) -> PaymentOrder | BulkOrder | None: ...
    def order_id_for_code(self, payment_code: str) -> str | None: ...
    def open_order_for(self, participant_id: str, months: Sequence[str]) -> str | None: ...
    def contributions(
        self, participant_id: str, limit: int, after: str | None
    ) -> tuple[list[ContributionEntry], str | None]: ...
    def credit(
        self,
        order: PaymentOrder,
        read_order_version: int,
        participant: Participant,
        read_participant_version: int,
        entries: Sequence[ContributionEntry],
        received_key: str,
        events: Sequence[DomainEvent],
        recon: dict[str, Any] | None = None,
    ) -> None: ...
    def record(
        self, order: PaymentOrder, read_order_version: int, received_key: str, recon: dict[str, Any] | None
    ) -> None: ...
    def was_handled(self, received_key: str) -> bool: ...
    def ledger_range(self, participant_id: str, first: str, last: str) -> list[ContributionEntry]: ...
    def reverse(
        self,
        order: PaymentOrder,
        read_order_version: int,
        participant: Participant,
        read_participant_version: int,
        entries: Sequence[ContributionEntry],
        received_key: str,
        events: Sequence[DomainEvent],
    ) -> None: ...
    def reconciliation(
        self, state: str, limit: int, after: str | None
    ) -> tuple[list[ReconciliationItem], str | None]: ...
    def get_reconciliation(self, item_id: str) -> ReconciliationItem | None: ...
    def resolve(self, item: ReconciliationItem) -> None: ...


@dataclass
class PaymentService:
    participants: ParticipantReader
    store: PaymentStore
    rate_book: RateBook
    bulk: BulkCallbacks | None = None

    # -- orders ---------------------------------------------------------------

    def open_order(
        self, participant_id: str, months: int, partner: Partner, now: datetime, payable_until: datetime | None = None
    ) -> tuple[PaymentOrderView, bool]:
        """The order for the participant's next ``months`` unpaid dues months; (order, created).

        ``payable_until``: the order must stay payable at least until then (a reminder's code must
        last to the deadline the SMS states), longer than the policy's default lifetime if need be.
        """
        lasts_until = max(now + timedelta(hours=self.rate_book.policies.payment_order_ttl_hours), payable_until or now)
        participant = self._visible(participant_id, partner)
        if participant.status == "ended":
            raise DomainValidationError.single("participant_id", "the participation has ended (a claim ended it)")
        policies = self.rate_book.policies
        billed = [
            str(m)
            for m in billable_months(
                first_dues_month=DuesMonth.parse(participant.first_dues_month),
                covered_through=DuesMonth.parse(participant.covered_through) if participant.covered_through else None,
                today=now.astimezone(JAKARTA).date(),
                count=months,
                due_day=policies.due_day_of_month,
                window_months=policies.arrears_window_months,
            )
        ]
        existing_id = self.store.open_order_for(participant_id, billed)
        existing = self.store.get_order(existing_id) if existing_id else None
        if (
            isinstance(existing, PaymentOrder)
            and existing.status == "open"
            and existing.payable_until >= (payable_until or now)
            and existing.payable_until > now
            and existing.months == billed
        ):
            return _view(existing), False
        lines = [self._line(participant, DuesMonth.parse(m)) for m in billed]
        rebates = self._rebates(participant, sum(line.total for line in lines))
        for _ in range(WRITE_ATTEMPTS):
            order = PaymentOrder(
                order_id=new_order_id(),
                participant_id=participant_id,
                partner_id=partner.partner_id,
                payment_code=new_payment_code(policies.payment_code_length),
                months=billed,
                lines=lines,
                rebates=rebates,
                amount=sum(line.total for line in lines) - sum(r.amount for r in rebates),
                status="open",
                created_at=now,
                payable_until=lasts_until,
            )
            try:
                self.store.create_order(order, now)
            except (PaymentCodeTaken, VersionConflict):
                continue  # a code (or id) still in use: draw again
            return _view(order), True
        raise DependencyUnavailable("could not draw a free payment code; retry")

    def _rebates(self, participant: Participant, billed: int) -> list[Rebate]:
        """Months paid at a price the rules now in force put lower (a discount regulated after
        the payment): the difference comes off the next order (BPU_RULES, PP 50/2025), each
        month once, whole rebates only, always less than the order bills."""
        rebates: list[Rebate] = []
        # Only months a discount in force covers for this sector can be cheaper now: read those.
        windows = sorted(
            (str(w.from_), str(w.until))
            for program in self.rate_book.discounts
            for sector, w in program.windows.items()
            if sector == participant.sector
        )
        entries = [
            e for first, last in windows for e in self.store.ledger_range(participant.participant_id, first, last)
        ]
        for entry in entries:
            if entry.rebate_order_id is not None:
                continue
            now_due = quote_dues(
                monthly_income=participant.monthly_income,
                sector=participant.sector,
                programs=participant.programs,
                month=DuesMonth.parse(entry.month),
                payer_type=entry.payer_type,
                rate_book=self.rate_book,
            ).total
            difference = entry.total - now_due
            # Strictly less than the order bills: an order always has something to pay at a counter.
            if difference > 0 and sum(r.amount for r in rebates) + difference < billed:
                rebates.append(Rebate(month=entry.month, amount=difference))
        return rebates

    def order(self, order_id: str, partner: Partner) -> PaymentOrderView | BulkOrderView:
        order = self.store.get_order(order_id)
        if order is None:
            raise NotFound("payment order")
        if isinstance(order, BulkOrder):
            if self.bulk is None:
                raise NotFound("payment order")
            return self.bulk.view(order, partner)
        self._visible(order.participant_id, partner)
        return _view(order)

    def contributions(self, participant_id: str, partner: Partner, limit: int, after: str | None) -> ContributionPage:
        self._visible(participant_id, partner)
        entries, next_token = self.store.contributions(participant_id, limit, after)
        return ContributionPage(
            items=[ContributionView.model_validate(e.model_dump()) for e in entries], next_token=next_token
        )

    # -- reconciliation -------------------------------------------------------

    def reconciliation(self, state: str, limit: int, after: str | None) -> ReconciliationPage:
        items, next_token = self.store.reconciliation(state, limit, after)
        return ReconciliationPage(
            items=[ReconciliationView.model_validate(i.model_dump()) for i in items], next_token=next_token
        )

    def resolve(self, item_id: str, note: str, partner: Partner, now: datetime) -> ReconciliationView:
        item = self.store.get_reconciliation(item_id)
        if item is None:
            raise NotFound("open reconciliation item")
        resolved = item.model_copy(update={"resolved_at": now, "resolved_by": partner.partner_id, "note": note})
        try:
            self.store.resolve(resolved)
        except VersionConflict:
            raise NotFound("open reconciliation item") from None  # resolved by someone else meanwhile
        return ReconciliationView.model_validate(resolved.model_dump())

    # -- callbacks ------------------------------------------------------------

    def receive(self, event: ProviderEvent, now: datetime) -> CallbackAnswer:
        """Apply one provider event: credit once, record everything else, never undo a payment."""
        order_id = event.order_id or (self.store.order_id_for_code(event.payment_code) if event.payment_code else None)
        if order_id is None:
            raise NotFound("payment order")
        received_key = f"{event.provider}#{event.reference}"
        for _ in range(WRITE_ATTEMPTS):
            # A redelivery is answered with one read: its received-event item exists only if its
            # order did.
            if self.store.was_handled(received_key):
                return CallbackAnswer(
                    outcome="duplicate", order_id=order_id, message="already handled; nothing changed"
                )
            order = self.store.get_order(order_id)
            if order is None:
                raise NotFound("payment order")
            was_paid = any(
                p.kind == "paid" and p.outcome == "credited" and p.payment_ref == event.payment_ref
                for p in order.payments
            )
            resolved = event.resolve(was_paid=was_paid)
            try:
                if isinstance(order, BulkOrder):
                    if self.bulk is None:
                        raise NotFound("payment order")
                    return self.bulk.receive(order, resolved, received_key, now)
                if resolved.kind == "paid":
                    return self._paid(order, resolved, received_key, now)
                return self._note(order, resolved, received_key, now)
            except AlreadyHandled:
                return CallbackAnswer(
                    outcome="duplicate", order_id=order_id, message="already handled; nothing changed"
                )
            except (VersionConflict, MonthAlreadyCredited):
                continue  # a concurrent callback changed the order or the ledger: decide again from a fresh read
        raise DependencyUnavailable("payment order kept changing; retry")

    def _paid(self, order: PaymentOrder, event: ProviderEvent, received_key: str, now: datetime) -> CallbackAnswer:
        participant = self.participants.get(order.participant_id)
        if participant is None:
            raise NotFound("participant")
        if event.amount != order.amount:
            return self._hold(
                order,
                event,
                received_key,
                now,
                "amount_mismatch",
                f"amount {event.amount} differs from the order's {order.amount}; kept for reconciliation",
            )
        if self.store.ledger_range(order.participant_id, order.months[0], order.months[-1]):
            return self._hold(
                order,
                event,
                received_key,
                now,
                "overpayment",
                "these dues months are already credited; the money is kept for reconciliation",
            )
        via = PaidVia(
            order_id=order.order_id,
            collecting_partner=order.partner_id,
            provider=event.provider,
            channel=event.channel_name,
            reference=event.reference,
            paid_at=event.occurred_at or now,
        )
        try:
            # The event states what was paid: the order's amount, its rebates taken off.
            plan = plan_credit(participant, order.lines, via, now, self.rate_book.policies, paid=order.amount)
        except DomainValidationError as exc:
            return self._hold(
                order,
                event,
                received_key,
                now,
                "overpayment",
                f"cannot credit these months ({exc.fields[0].message}); kept for reconciliation",
            )
        entries, updated, events = plan.entries, plan.participant, plan.events
        paid_order = order.model_copy(
            update={"status": "paid", "payments": [*order.payments, received_payment(event, now, "credited")]}
        )
        late = None
        if now > order.payable_until:
            # Credited (the months were still unpaid), and shown to a person: the order had expired.
            late = _recon(order, event, now, "late_payment", "paid after the order expired; the months were credited")
        self.store.credit(paid_order, order.version, updated, participant.version, entries, received_key, events, late)
        return CallbackAnswer(
            outcome="credited", order_id=order.order_id, message=f"credited {', '.join(order.months)}"
        )

    def _note(self, order: PaymentOrder, event: ProviderEvent, received_key: str, now: datetime) -> CallbackAnswer:
        """An event that credits nothing: pending, held, failed (never undoing a payment), reversed."""
        status = order.status
        if event.kind == "failed" and status == "open":
            status = "expired"
        recon = None
        outcome: CallbackOutcome = "recorded"
        message = f"{event.kind} recorded; nothing credited"
        if event.kind == "reversed":
            reversed_answer = self._reverse(order, event, received_key, now)
            if reversed_answer is not None:
                return reversed_answer
            recon = _recon(order, event, now, "reversal", "a reversal that cannot take whole months back")
            outcome, message = "reversed", "reversal recorded for reconciliation; no month could be taken back"
        updated = order.model_copy(
            update={"status": status, "payments": [*order.payments, received_payment(event, now, outcome)]}
        )
        self.store.record(updated, order.version, received_key, recon)
        return CallbackAnswer(outcome=outcome, order_id=order.order_id, message=message)

    def _reverse(
        self, order: PaymentOrder, event: ProviderEvent, received_key: str, now: datetime
    ) -> CallbackAnswer | None:
        """Take back the newest months the reversed amount covers (cumulative per provider
        transaction), when they are the participant's newest credited months; else None (a person
        decides: months paid after them by another order, or less than a month reversed)."""
        amounts = {line.month: line.total for line in order.lines}
        credited = [m for m in order.months if m not in order.reversed_months]
        try:
            due = [
                str(m)
                for m in reversal(
                    paid_months=[DuesMonth.parse(m) for m in order.months],
                    amounts=[amounts[m] for m in order.months],
                    reversed_amount=min(event.amount, order.amount),
                )
            ]
        except DomainValidationError:
            return None
        to_reverse = [m for m in due if m in credited]
        participant = self.participants.get(order.participant_id)
        if not to_reverse or participant is None or participant.covered_through != max(credited):
            return None
        entries = self.store.ledger_range(order.participant_id, min(to_reverse), max(to_reverse))
        if len(entries) != len(to_reverse):
            return None
        first = DuesMonth.parse(participant.first_dues_month)
        covered = DuesMonth.parse(min(to_reverse)).previous()
        new_covered = covered if covered >= first else None
        policies = self.rate_book.policies
        after = standing(
            first_dues_month=first,
            covered_through=new_covered,
            today=now.astimezone(JAKARTA).date(),
            due_day=policies.due_day_of_month,
            window_months=policies.arrears_window_months,
        )
        # Never paid again after the reversal: pending, as at enrollment (nothing was protected).
        status = "pending_payment" if new_covered is None and after.status == "arrears" else after.status
        updated = participant.model_copy(
            update={
                "covered_through": str(new_covered) if new_covered else None,
                "next_dues_month": str(after.next_dues_month),
                "status": status,
            }
        )
        all_reversed = sorted({*order.reversed_months, *to_reverse})
        changed = order.model_copy(
            update={
                "status": "reversed" if len(all_reversed) == len(order.months) else order.status,
                "reversed_months": all_reversed,
                "payments": [*order.payments, received_payment(event, now, "reversed")],
            }
        )
        detail = ContributionReversed(
            event_id=str(uuid.uuid4()),
            participant_id=order.participant_id,
            order_id=order.order_id,
            months=sorted(to_reverse, reverse=True),
            provider=event.provider,
            covered_through=updated.covered_through,
            status=updated.status,
            at=now,
            amount=sum(amounts[m] for m in to_reverse),
        )
        self.store.reverse(
            changed,
            order.version,
            updated,
            participant.version,
            entries,
            received_key,
            [DomainEvent("ContributionReversed", detail)],
        )
        return CallbackAnswer(
            outcome="reversed", order_id=order.order_id, message=f"reversed {', '.join(detail.months)}"
        )

    def _hold(
        self,
        order: PaymentOrder,
        event: ProviderEvent,
        received_key: str,
        now: datetime,
        outcome: CallbackOutcome,
        message: str,
    ) -> CallbackAnswer:
        updated = order.model_copy(update={"payments": [*order.payments, received_payment(event, now, outcome)]})
        kind: ReconciliationKind = "amount_mismatch" if outcome == "amount_mismatch" else "overpayment"
        self.store.record(updated, order.version, received_key, _recon(order, event, now, kind, message))
        return CallbackAnswer(outcome=outcome, order_id=order.order_id, message=message)

    # -- helpers --------------------------------------------------------------

    def _visible(self, participant_id: str, partner: Partner) -> Participant:
        participant = self.participants.get(participant_id)
        # Another partner's participant is reported as absent: no existence leak.
        if participant is None or not (partner.is_backoffice or participant.partner_id == partner.partner_id):
            raise NotFound("participant")
        return participant

    def _line(self, participant: Participant, month: DuesMonth) -> OrderLine:
        return order_line(participant, month, self.rate_book)


def new_order_id() -> str:
    """An order id: ``ORD-`` and 14 Crockford base-32 characters (no I, L, O, U)."""
    return "ORD-" + "".join(secrets.choice(_ORDER_ALPHABET) for _ in range(14))


def order_line(participant: Participant, month: DuesMonth, rate_book: RateBook) -> OrderLine:
    """One dues month priced with the rules in force for it and the payer in force for it (a
    government payer's month gets no PP 50/2025 discount)."""
    payer = participant.payer_for(str(month))
    payer_type = payer.type if payer else "self"
    quote = quote_dues(
        monthly_income=participant.monthly_income,
        sector=participant.sector,
        programs=participant.programs,
        month=month,
        payer_type=payer_type,
        rate_book=rate_book,
    )
    return OrderLine(
        month=str(month),
        jkk=quote.jkk,
        jkm=quote.jkm,
        jht=quote.jht,
        discount=quote.discount,
        total=quote.total,
        payer_type=payer_type,
        payer_id=payer.id if payer else None,
    )


def received_payment(event: ProviderEvent, now: datetime, outcome: str) -> ReceivedPayment:
    return ReceivedPayment(
        provider=event.provider,
        kind=event.kind,
        reference=event.reference,
        payment_ref=event.payment_ref,
        amount=event.amount,
        channel=event.channel_name,
        at=event.occurred_at or now,
        outcome=outcome,
    )


def _recon(
    order: PaymentOrder, event: ProviderEvent, now: datetime, kind: ReconciliationKind, message: str
) -> dict[str, Any]:
    return held_money(
        kind,
        order.order_id,
        event.provider,
        event.reference,
        event.amount,
        message,
        now,
        participant_id=order.participant_id,
    )


def held_money(
    kind: ReconciliationKind,
    order_id: str,
    provider: str,
    reference: str,
    amount: int,
    message: str,
    now: datetime,
    *,
    participant_id: str | None = None,
    payer_id: str | None = None,
) -> dict[str, Any]:
    """The item that keeps money for a person to decide on (``RECON#open``)."""
    item = ReconciliationItem(
        # Sortable by time within its partition, and safe in a URL path.
        item_id=f"RCN-{now.astimezone(UTC).strftime('%Y%m%d%H%M%S')}-{uuid.uuid4().hex[:12]}",
        kind=kind,
        order_id=order_id,
        participant_id=participant_id,
        payer_id=payer_id,
        provider=provider,
        reference=reference,
        amount=amount,
        message=message,
        created_at=now,
    )
    return recon_item(item)


def _view(order: PaymentOrder) -> PaymentOrderView:
    return PaymentOrderView(
        order_id=order.order_id,
        payment_code=order.payment_code,
        amount=order.amount,
        months=order.months,
        rebate=sum(r.amount for r in order.rebates),
        expires_at=order.payable_until,
        status=order.status,
        payments=[
            PaymentView(provider=p.provider, reference=p.reference, amount=p.amount, at=p.at, outcome=p.outcome)
            for p in order.payments
        ],
    )
