"""Bulk orders: a payer pays for many workers with one code, and each worker is credited in its
own transaction from a queue, exactly once per (order, worker), as its own payment would be.

Pure rules come from ``perisai.domain`` (billing, payers) and ``perisai.payments.crediting``;
storage is a port.
"""

from __future__ import annotations

import contextlib
import hashlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from perisai.bulk_orders.models import (
    MAX_WORKERS,
    BulkChunk,
    BulkOrder,
    BulkOrderPaid,
    BulkOrderRequest,
    BulkOrderView,
    BulkProgress,
    BulkWorker,
    CreditTask,
    SkippedWorker,
    SkipReason,
)
from perisai.bulk_orders.repository import WorkerDone
from perisai.clock import JAKARTA
from perisai.domain.billing import billable_months
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.payers import PAYER_CHANNELS
from perisai.domain.payment_codes import new_payment_code
from perisai.domain.rates import RateBook
from perisai.errors import DependencyUnavailable, NotFound, VersionConflict, WorkersInOpenOrder
from perisai.participants.models import Participant
from perisai.participants.repository import DomainEvent
from perisai.payments.crediting import CreditPlan, PaidVia, plan_credit
from perisai.payments.models import CallbackAnswer, CallbackOutcome, PaymentView, ReconciliationKind
from perisai.payments.providers import ProviderEvent
from perisai.payments.repository import MonthAlreadyCredited, PaymentCodeTaken
from perisai.payments.service import held_money, new_order_id, order_line, received_payment

CHUNK_SIZE = 100  # workers per queue task: a task's transactions stay well inside its timeout
# How long an order's creation may run (the API's 29 s, with room): a hold whose order was never
# stored is not taken over before its request must have ended.
CREATION_LEASE = timedelta(minutes=2)
WRITE_ATTEMPTS = 5
SHOWN_REFUSALS = 10


class BulkStore(Protocol):
    def open_order_id(self, payer_id: str, selection: str) -> str | None: ...
    def payer_workers(self, payer_id: str, month: str) -> list[str]: ...
    def participants(self, participant_ids: Sequence[str]) -> dict[str, Participant]: ...
    def hold(
        self, order_id: str, participant_ids: Sequence[str], payable_until: datetime, now: datetime
    ) -> list[str]: ...
    def holders(self, participant_ids: Sequence[str]) -> dict[str, tuple[str, datetime]]: ...
    def take_over_holds(
        self, stale: dict[str, str], order_id: str, payable_until: datetime, now: datetime
    ) -> list[str]: ...
    def release(self, participant_ids: Sequence[str]) -> None: ...
    def store_chunks(self, chunks: Sequence[BulkChunk], payable_until: datetime) -> None: ...
    def create(self, order: BulkOrder, selection: str, now: datetime) -> None: ...
    def get(self, order_id: str) -> BulkOrder | None: ...
    def chunk(self, order_id: str, chunk: int) -> BulkChunk | None: ...
    def progress(self, order_id: str) -> tuple[int, list[tuple[str, str]]]: ...
    def record(
        self,
        order: BulkOrder,
        read_version: int,
        received_key: str,
        events: Sequence[DomainEvent] = (),
        recon: dict[str, Any] | None = None,
    ) -> None: ...
    def credit(
        self, order: BulkOrder, chunk: int, worker: BulkWorker, plan: CreditPlan, read_participant_version: int
    ) -> None: ...
    def skip(
        self, order: BulkOrder, chunk: int, worker: BulkWorker, reason: SkipReason, recon: dict[str, Any]
    ) -> None: ...
    def chunk_done(self, order_id: str, chunk: int) -> int: ...
    def mark_paid(self, order_id: str) -> None: ...
    def participant(self, participant_id: str) -> Participant | None: ...


class PayerDirectory(Protocol):
    def partner_channel(self, partner_id: str) -> str | None: ...


@dataclass
class BulkOrders:
    store: BulkStore
    rate_book: RateBook
    # Opening only: whether a payer the back office names is one (crediting never needs it).
    payers: PayerDirectory | None = None

    # -- opening --------------------------------------------------------------

    def open(
        self, payer_id: str, request: BulkOrderRequest, partner: Partner, now: datetime
    ) -> tuple[BulkOrderView, bool]:
        """One order for the workers' next ``months`` unpaid months; (order, created). Asking
        again for the same months and workers while that order is open answers it again."""
        payer_visible(payer_id, partner, self.payers)
        selection = _selection(request)
        existing_id = self.store.open_order_id(payer_id, selection)
        existing = self.store.get(existing_id) if existing_id else None
        if existing is not None and existing.status == "open" and existing.payable_until > now:
            return self._view(existing), False
        today = now.astimezone(JAKARTA).date()
        named = request.participant_ids
        candidates = named if named is not None else self.store.payer_workers(payer_id, str(DuesMonth.of(today)))
        profiles = self.store.participants(candidates)
        workers: list[BulkWorker] = []
        refused: list[str] = []
        for participant_id in candidates:
            billed = self._bill(profiles.get(participant_id), payer_id, request.months, today)
            if isinstance(billed, BulkWorker):
                workers.append(billed)
            elif named is not None:
                refused.append(f"{participant_id} ({billed})")
        if refused:
            raise DomainValidationError.single("participant_ids", _listed("cannot be billed to this payer", refused))
        if len(workers) > MAX_WORKERS:
            raise DomainValidationError.single(
                "participant_ids",
                f"{len(workers)} workers owe a month this payer pays for; one order bills at most {MAX_WORKERS}: "
                "name them in several orders",
            )
        if not workers:
            raise DomainValidationError.single(
                "participant_ids", "no worker this payer pays for has an unpaid dues month it pays for"
            )
        order_id = new_order_id()
        payable_until = now + timedelta(hours=self.rate_book.policies.payment_order_ttl_hours)
        workers = self._hold(order_id, workers, payable_until, now, strict=named is not None)
        try:
            return self._store(order_id, payer_id, request, partner, workers, selection, payable_until, now), True
        except BaseException:
            # Nothing billed them: let the workers go now rather than when the order would expire
            # (if this fails too, the next order takes the holds over once the lease is past).
            with contextlib.suppress(DependencyUnavailable):
                self.store.release([w.participant_id for w in workers])
            raise

    def _store(
        self,
        order_id: str,
        payer_id: str,
        request: BulkOrderRequest,
        partner: Partner,
        workers: list[BulkWorker],
        selection: str,
        payable_until: datetime,
        now: datetime,
    ) -> BulkOrderView:
        chunks = [
            BulkChunk(order_id=order_id, chunk=n, workers=workers[start : start + CHUNK_SIZE])
            for n, start in enumerate(range(0, len(workers), CHUNK_SIZE))
        ]
        self.store.store_chunks(chunks, payable_until)
        for _ in range(WRITE_ATTEMPTS):
            order = BulkOrder(
                order_id=order_id,
                payer_id=payer_id,
                partner_id=partner.partner_id,
                payment_code=new_payment_code(self.rate_book.policies.payment_code_length),
                months=request.months,
                amount=sum(w.amount for w in workers),
                participants=len(workers),
                chunks=len(chunks),
                status="open",
                created_at=now,
                payable_until=payable_until,
            )
            try:
                self.store.create(order, selection, now)
            except (PaymentCodeTaken, VersionConflict):
                continue  # a code still in use (draw again), or a concurrent write: try again
            return self._view(order)
        raise DependencyUnavailable("could not draw a free payment code; retry")

    def _bill(self, participant: Participant | None, payer_id: str, months: int, today: date) -> BulkWorker | str:
        """The worker's months this payer pays for, priced; or why the worker cannot be billed.

        Each worker's next ``months`` unpaid months from their first unpaid one, as their own
        order would bill, up to the first month this payer does not pay for. A worker whose
        first unpaid month another payer (or the worker) pays for is not this payer's to bill
        yet: a takeover from next month is billed once this month is paid."""
        if participant is None:
            return "not found"
        if participant.status == "ended":
            return "participation ended"
        policies = self.rate_book.policies
        months_billed = billable_months(
            first_dues_month=DuesMonth.parse(participant.first_dues_month),
            covered_through=DuesMonth.parse(participant.covered_through) if participant.covered_through else None,
            today=today,
            count=months,
            due_day=policies.due_day_of_month,
            window_months=policies.arrears_window_months,
        )
        paid_by_payer: list[DuesMonth] = []
        for month in months_billed:
            payer = participant.payer_for(str(month))
            if payer is None or payer.id != payer_id or payer.type == "self":
                break
            paid_by_payer.append(month)
        if not paid_by_payer:
            return f"not paid by this payer for {months_billed[0]}"
        return BulkWorker(
            participant_id=participant.participant_id,
            lines=[order_line(participant, month, self.rate_book) for month in paid_by_payer],
        )

    def _hold(
        self, order_id: str, workers: list[BulkWorker], payable_until: datetime, now: datetime, *, strict: bool
    ) -> list[BulkWorker]:
        """Put each worker in this order; a worker in another bulk order that may still be paid
        or is being credited is refused (409) when named, left out otherwise. A hold left by an
        order that is paid and credited, or was never stored (its request is long over), is
        taken over."""
        taken = self.store.hold(order_id, [w.participant_id for w in workers], payable_until, now)
        if not taken:
            return workers
        holders = self.store.holders(taken)
        orders = {held: self.store.get(held) for held, _ in set(holders.values())}
        stale: dict[str, str] = {}
        for participant_id, (held, taken_at) in holders.items():
            holding = orders[held]
            if holding is None:
                if taken_at < now - CREATION_LEASE:
                    stale[participant_id] = held
            elif not (holding.status == "crediting" or (holding.status == "open" and holding.payable_until > now)):
                stale[participant_id] = held
        freed = set(self.store.take_over_holds(stale, order_id, payable_until, now)) if stale else set()
        busy = [f"{pid} ({holders[pid][0]})" if pid in holders else pid for pid in taken if pid not in freed]
        if not busy:
            return workers
        if strict or len(busy) == len(workers):
            self.store.release(
                [w.participant_id for w in workers if w.participant_id not in taken or w.participant_id in freed]
            )
            raise WorkersInOpenOrder(_listed("already in an open bulk order", busy))
        left_out = {entry.split(" ")[0] for entry in busy}
        return [w for w in workers if w.participant_id not in left_out]

    # -- reading --------------------------------------------------------------

    def view(self, order: BulkOrder, partner: Partner) -> BulkOrderView:
        try:
            payer_visible(order.payer_id, partner)
        except NotFound:
            raise NotFound("payment order") from None  # as for an unknown id: no existence leak
        return self._view(order)

    def _view(self, order: BulkOrder) -> BulkOrderView:
        credited, skipped = self.store.progress(order.order_id) if order.status != "open" else (0, [])
        status = order.status
        if status == "crediting" and credited + len(skipped) >= order.participants:
            status = "paid"  # every worker is done; the order item follows when the last chunk says so
        return BulkOrderView(
            order_id=order.order_id,
            payer_id=order.payer_id,
            payment_code=order.payment_code,
            amount=order.amount,
            participants=BulkProgress(
                total=order.participants,
                credited=credited,
                skipped=[SkippedWorker.model_validate({"participant_id": p, "reason": r}) for p, r in skipped],
            ),
            months=order.months,
            expires_at=order.payable_until,
            status=status,
            payments=[
                PaymentView(provider=p.provider, reference=p.reference, amount=p.amount, at=p.at, outcome=p.outcome)
                for p in order.payments
            ],
        )

    # -- the callback ---------------------------------------------------------

    def receive(self, order: BulkOrder, event: ProviderEvent, received_key: str, now: datetime) -> CallbackAnswer:
        """A provider event for a bulk order: a payment is recorded and announced (the workers
        are credited from the queue), answering at once whatever the order's size."""
        if event.kind != "paid":
            # A failed attempt (one virtual account expiring) leaves the order payable by its
            # code until it expires: it stays open. A reversal stops crediting the workers not
            # credited yet; a person decides about those already credited.
            status = "reversed" if event.kind == "reversed" else order.status
            recon = None
            if event.kind == "reversed":
                recon = _recon(
                    order,
                    event,
                    now,
                    "reversal",
                    "a bulk order's payment reversed: crediting stopped; a person decides",
                )
            outcome: CallbackOutcome = "reversed" if event.kind == "reversed" else "recorded"
            updated = order.model_copy(
                update={"status": status, "payments": [*order.payments, received_payment(event, now, outcome)]}
            )
            self.store.record(updated, order.version, received_key, recon=recon)
            return CallbackAnswer(outcome=outcome, order_id=order.order_id, message=f"{event.kind} recorded")
        if event.amount != order.amount:
            message = f"amount {event.amount} differs from the order's {order.amount}; kept for reconciliation"
            return self._hold_money(order, event, received_key, now, "amount_mismatch", message)
        if order.status in ("crediting", "paid"):
            message = "this bulk order is paid already; the money is kept for reconciliation"
            return self._hold_money(order, event, received_key, now, "overpayment", message)
        paid = BulkOrderPaid(
            event_id=str(uuid.uuid4()),
            order_id=order.order_id,
            payer_id=order.payer_id,
            amount=event.amount,
            participants=order.participants,
            chunks=order.chunks,
            provider=event.provider,
            reference=event.reference,
            at=now,
        )
        updated = order.model_copy(
            update={"status": "crediting", "payments": [*order.payments, received_payment(event, now, "credited")]}
        )
        late = None
        if now > order.payable_until:
            # Credited (months still unpaid are credited, the rest kept), and shown to a person.
            late = _recon(
                order, event, now, "late_payment", "bulk order paid after it expired; its workers are credited"
            )
        self.store.record(updated, order.version, received_key, [DomainEvent("BulkOrderPaid", paid)], late)
        return CallbackAnswer(
            outcome="credited",
            order_id=order.order_id,
            message=f"payment recorded; crediting {order.participants} workers",
        )

    def _hold_money(
        self,
        order: BulkOrder,
        event: ProviderEvent,
        received_key: str,
        now: datetime,
        kind: ReconciliationKind,
        message: str,
    ) -> CallbackAnswer:
        outcome: CallbackOutcome = "amount_mismatch" if kind == "amount_mismatch" else "overpayment"
        updated = order.model_copy(update={"payments": [*order.payments, received_payment(event, now, outcome)]})
        self.store.record(updated, order.version, received_key, recon=_recon(order, event, now, kind, message))
        return CallbackAnswer(outcome=outcome, order_id=order.order_id, message=message)

    # -- crediting ------------------------------------------------------------

    def tasks(self, order_id: str) -> list[CreditTask]:
        """One task per chunk of a paid order (none for an order not paid)."""
        order = self.store.get(order_id)
        if order is None or order.status not in ("crediting", "paid"):
            return []
        return [CreditTask(order_id=order_id, chunk=n) for n in range(order.chunks)]

    def credit_chunk(self, task: CreditTask, now: datetime) -> None:
        """Credit every worker of one chunk, each in its own transaction, then note the chunk
        done; the last chunk done marks the order paid. Safe to run again: a worker with its
        outcome is left as it is."""
        order = self.store.get(task.order_id)
        chunk = self.store.chunk(task.order_id, task.chunk)
        if order is None or chunk is None or order.status not in ("crediting", "paid"):
            return
        payment = next(p for p in reversed(order.payments) if p.outcome == "credited")
        via = PaidVia(
            order_id=order.order_id,
            collecting_partner=order.partner_id,
            provider=payment.provider,
            channel=payment.channel,
            reference=payment.reference,
            paid_at=payment.at,
        )
        profiles = self.store.participants([w.participant_id for w in chunk.workers])
        for worker in chunk.workers:
            self._credit(order, task.chunk, worker, profiles.get(worker.participant_id), via, now)
        if self.store.chunk_done(order.order_id, task.chunk) >= order.chunks:
            self.store.mark_paid(order.order_id)

    def _credit(
        self,
        order: BulkOrder,
        chunk: int,
        worker: BulkWorker,
        participant: Participant | None,
        via: PaidVia,
        now: datetime,
    ) -> None:
        for _ in range(WRITE_ATTEMPTS):
            try:
                if participant is None:
                    return self._skip(order, chunk, worker, "participant_not_found", via, now)
                if participant.status == "ended":
                    return self._skip(order, chunk, worker, "participation_ended", via, now)
                try:
                    plan = plan_credit(participant, worker.lines, via, now, self.rate_book.policies)
                except DomainValidationError:
                    # A month was paid meanwhile (by the worker, another payer or order).
                    return self._skip(order, chunk, worker, "already_paid", via, now)
                self.store.credit(order, chunk, worker, plan, participant.version)
                return None
            except WorkerDone:
                return None
            except (MonthAlreadyCredited, VersionConflict):
                participant = self.store.participant(worker.participant_id)  # changed meanwhile: decide again
        raise DependencyUnavailable(f"participant {worker.participant_id} kept changing; the task is retried")

    def _skip(
        self, order: BulkOrder, chunk: int, worker: BulkWorker, reason: SkipReason, via: PaidVia, now: datetime
    ) -> None:
        message = f"{reason.replace('_', ' ')}: Rp{worker.amount:,} kept for payer {order.payer_id}"
        kept = held_money(
            "overpayment",
            order.order_id,
            via.provider,
            via.reference,
            worker.amount,
            message,
            now,
            participant_id=worker.participant_id,
            payer_id=order.payer_id,
        )
        self.store.skip(order, chunk, worker, reason, kept)


def payer_visible(payer_id: str, partner: Partner, directory: PayerDirectory | None = None) -> None:
    """Only the payer itself (a sponsor or local government partner) or the back office sees a
    payer's orders; anybody else is told there is no such payer (no existence leak). Given the
    ``directory``, the back office naming a partner that pays for nobody (or no partner) is told
    the same."""
    if not (partner.is_backoffice or (partner.partner_id == payer_id and partner.channel in PAYER_CHANNELS)):
        raise NotFound("payer")
    if partner.is_backoffice and directory is not None and directory.partner_channel(payer_id) not in PAYER_CHANNELS:
        raise NotFound("payer")


def _selection(request: BulkOrderRequest) -> str:
    """Which order 'the same request' means: the month count and the set of workers named."""
    if request.participant_ids is None:
        return f"{request.months}#all"
    digest = hashlib.sha256(",".join(sorted(request.participant_ids)).encode()).hexdigest()[:24]
    return f"{request.months}#{digest}"


def _listed(what: str, entries: list[str]) -> str:
    shown = "; ".join(entries[:SHOWN_REFUSALS])
    more = f"; and {len(entries) - SHOWN_REFUSALS} more" if len(entries) > SHOWN_REFUSALS else ""
    return f"{len(entries)} {'worker' if len(entries) == 1 else 'workers'} {what}: {shown}{more}"


def _recon(
    order: BulkOrder, event: ProviderEvent, now: datetime, kind: ReconciliationKind, message: str
) -> dict[str, Any]:
    return held_money(
        kind, order.order_id, event.provider, event.reference, event.amount, message, now, payer_id=order.payer_id
    )
