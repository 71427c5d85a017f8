"""Bulk payment orders: one order, one payment code, one amount for many workers a payer (a
SERTAKAN sponsor or a local government) pays for; credited worker by worker through a queue."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator

from perisai.models import Model, StoredModel
from perisai.payments.models import OrderLine, PaymentView, ReceivedPayment

MAX_WORKERS = 20_000
BulkStatus = Literal["open", "crediting", "paid", "expired", "cancelled", "reversed"]
SkipReason = Literal["already_paid", "participation_ended", "participant_not_found"]


class BulkOrderRequest(Model):
    """POST /v1/payers/{payer_id}/payment-orders."""

    months: Literal[1, 3, 6, 12] = Field(description="How many dues months to bill each worker, oldest unpaid first")
    participant_ids: list[str] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_WORKERS,
        description="The workers to pay for; default: every worker this payer pays for that owes a month",
    )

    @field_validator("participant_ids")
    @classmethod
    def _ids(cls, ids: list[str] | None) -> list[str] | None:
        if ids is None:
            return None
        for participant_id in ids:
            if not 1 <= len(participant_id) <= 64:
                raise ValueError("each participant id is 1 to 64 characters")
        if len(set(ids)) != len(ids):
            raise ValueError("a participant id appears more than once")
        return ids


class BulkWorker(StoredModel):
    """One worker of a bulk order: the months billed and their prices (each month's payer)."""

    participant_id: str
    lines: list[OrderLine]

    @property
    def amount(self) -> int:
        return sum(line.total for line in self.lines)


class BulkChunk(StoredModel):
    """``ORDER#<id> / WORKERS#<nnnn>``: a slice of the order's workers, credited as one queue task."""

    order_id: str
    chunk: int
    workers: list[BulkWorker]


class BulkOrder(StoredModel):
    """``ORDER#<id> / ORDER`` with ``kind = bulk``: the order a payer pays with one code."""

    kind: Literal["bulk"] = "bulk"
    order_id: str
    payer_id: str
    partner_id: str  # who opened it: the payer itself or the back office
    payment_code: str
    months: int
    amount: int
    participants: int
    chunks: int
    status: BulkStatus
    created_at: datetime
    payable_until: datetime
    payments: list[ReceivedPayment] = Field(default_factory=list)
    version: int = 1


class SkippedWorker(Model):
    participant_id: str
    reason: SkipReason


class BulkProgress(Model):
    total: int = Field(description="Workers in the order")
    credited: int = Field(description="Workers credited so far, each in its own transaction")
    skipped: list[SkippedWorker] = Field(
        default_factory=list,
        description="Workers not credited (their amount is kept for the payer in reconciliation)",
    )


class BulkOrderView(Model):
    """A bulk order as its payer (or the back office) sees it."""

    order_id: str
    payer_id: str
    payment_code: str = Field(description="12-16 digits ending in a Damm check digit; said or typed at any counter")
    amount: int = Field(description="Integer rupiah: every worker's months, each priced with the rules in force")
    participants: BulkProgress
    months: int = Field(description="Dues months asked per worker (a worker whose payer stops sooner is billed fewer)")
    expires_at: datetime
    status: BulkStatus = Field(description="open, then crediting once paid, then paid when every worker is done")
    payments: list[PaymentView] = Field(default_factory=list)


class BulkOrderPaid(Model):
    """Detail of BulkOrderPaid: a bulk order's payment was recorded; its workers are credited next."""

    event_id: str
    order_id: str
    payer_id: str
    amount: int
    participants: int
    chunks: int
    provider: str
    reference: str
    at: datetime


class CreditTask(Model):
    """A queue task: credit one chunk of a paid bulk order."""

    order_id: str
    chunk: int = Field(ge=0)
