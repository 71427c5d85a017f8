"""Payment edge and stored models: orders, the contributions ledger, callback answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from perisai.domain.programs import PayerType
from perisai.models import Model, StoredModel

OrderStatus = Literal["open", "paid", "expired", "cancelled", "reversed"]


class PaymentOrderRequest(Model):
    """POST /v1/participants/{participant_id}/payment-orders."""

    months: Literal[1, 3, 6, 12] = Field(description="How many dues months to bill, oldest unpaid first")


class OrderLine(StoredModel):
    """One dues month of an order, priced with the rules and the payer of that month."""

    month: str
    jkk: int
    jkm: int
    jht: int
    discount: int
    total: int
    payer_type: PayerType
    payer_id: str | None = None


class Rebate(StoredModel):
    """Money back on a month paid at full price that a later regulation discounted (BPU_RULES:
    PP 50/2025 credits the difference to the next month), taken off this order's amount."""

    month: str
    amount: int


class ReceivedPayment(StoredModel):
    """A provider's callback about an order, as recorded on it (credited or not)."""

    provider: str
    kind: str
    reference: str
    payment_ref: str | None = None
    amount: int
    channel: str | None = None
    at: datetime
    outcome: str


class PaymentOrder(StoredModel):
    """Stored order, ``ORDER#<order_id> / ORDER``."""

    order_id: str
    participant_id: str
    partner_id: str
    payment_code: str
    months: list[str]
    lines: list[OrderLine]
    amount: int
    status: OrderStatus
    created_at: datetime
    payable_until: datetime
    payments: list[ReceivedPayment] = Field(default_factory=list)
    reversed_months: list[str] = Field(default_factory=list)
    rebates: list[Rebate] = Field(default_factory=list)
    version: int = 1


class PaymentView(Model):
    provider: str
    reference: str
    amount: int
    at: datetime
    outcome: str


class PaymentOrderView(Model):
    """An order as a partner sees it."""

    order_id: str
    payment_code: str = Field(description="12-16 digits ending in a Damm check digit; said or typed at any counter")
    amount: int = Field(description="Integer rupiah: the months' dues less `rebate`")
    months: list[str]
    rebate: int = Field(
        default=0, description="Credit for months paid at full price that a later regulation discounted"
    )
    expires_at: datetime
    status: OrderStatus
    payments: list[PaymentView] = Field(default_factory=list)


class ContributionEntry(StoredModel):
    """One credited dues month, ``PARTICIPANT#<id> / DUES#<YYYY-MM>``: credited at most once."""

    participant_id: str
    month: str
    jkk: int
    jkm: int
    jht: int
    discount: int
    total: int
    payer_type: PayerType
    payer_id: str | None = None
    provider: str
    channel: str | None = None
    reference: str
    order_id: str
    paid_at: datetime
    credited_at: datetime
    recruited_by_partner: str
    recruited_by_agent: str | None = None
    collecting_partner: str
    # The order that took this month's rebate (a later discount) off its amount, once.
    rebate_order_id: str | None = None
    # For payers' statements: the worker's regency and masked name, and every month the order
    # paid for this worker (absent on entries credited before statements existed).
    regency: str | None = None
    masked_name: str | None = None
    order_months: list[str] = Field(default_factory=list)


class ContributionView(Model):
    month: str
    jkk: int
    jkm: int
    jht: int
    discount: int
    total: int
    payer_type: PayerType
    payer_id: str | None = None
    provider: str
    channel: str | None = None
    reference: str
    order_id: str
    paid_at: datetime
    credited_at: datetime


class ContributionPage(Model):
    items: list[ContributionView]
    next_token: str | None = None


CallbackOutcome = Literal["credited", "duplicate", "recorded", "amount_mismatch", "overpayment", "reversed"]


class CallbackAnswer(Model):
    """What a provider gets back: 200 with what was done, so it stops retrying."""

    outcome: CallbackOutcome
    order_id: str | None = None
    message: str


class ContributionReceived(Model):
    """Detail of ContributionReceived: one event per credited order. No NIK, name or phone."""

    event_id: str
    participant_id: str
    order_id: str
    months: list[str]
    amount: int
    provider: str
    channel: str | None
    collecting_partner: str
    recruited_by_partner: str
    recruited_by_agent: str | None
    covered_through: str
    status: str
    credited_at: datetime


class ParticipantStatusChanged(Model):
    """Detail of ParticipantActivated (first payment) and ParticipantReactivated (from arrears or lapse)."""

    event_id: str
    participant_id: str
    partner_id: str
    status: str
    covered_through: str
    at: datetime


ReconciliationKind = Literal["amount_mismatch", "overpayment", "reversal", "late_payment"]


class ReconciliationItem(StoredModel):
    """Money that needs a person, ``RECON#open|RECON#resolved / <item id>``."""

    item_id: str
    kind: ReconciliationKind
    order_id: str
    # The worker the money was for; None for a bulk order's payment as a whole (see payer_id).
    participant_id: str | None = None
    payer_id: str | None = None
    provider: str
    reference: str
    amount: int
    message: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None


class ReconciliationView(Model):
    item_id: str
    kind: ReconciliationKind
    order_id: str
    # The worker the money was for; None for a bulk order's payment as a whole (see payer_id).
    participant_id: str | None = None
    payer_id: str | None = None
    provider: str
    reference: str
    amount: int
    message: str
    created_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None


class ReconciliationPage(Model):
    items: list[ReconciliationView]
    next_token: str | None = None


class Resolution(Model):
    """POST /v1/reconciliation/{item_id}/resolve."""

    note: str = Field(min_length=1, max_length=500, description="What was done (refund, credit, contact)")


class ContributionReversed(Model):
    """Detail of ContributionReversed: months a refund or chargeback took back. No personal data."""

    event_id: str
    participant_id: str
    order_id: str
    months: list[str]
    provider: str
    covered_through: str | None
    status: str
    at: datetime
    # Rupiah taken back: what the reversed months were priced at (agent and coverage figures).
    amount: int | None = None
