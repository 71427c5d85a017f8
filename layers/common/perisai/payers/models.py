"""Payer edge models: the payer change requests, the participant's payer view, a payer's
workers and its monthly statement. No personal data: a statement shows masked names only."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from perisai.domain.months import MONTH_PATTERN
from perisai.domain.partners import PARTNER_ID_PATTERN
from perisai.models import Model, StoredModel

PartnerPayerType = Literal["sponsor", "government"]
TimelinePayerType = Literal["self", "sponsor", "government"]


class PayerChangeRequest(Model):
    """PUT /v1/participants/{participant_id}/payer."""

    payer_id: str = Field(
        min_length=2,
        max_length=63,
        pattern=PARTNER_ID_PATTERN,
        description="The paying partner's id: a sponsor or local government partner",
    )
    from_month: str = Field(
        pattern=MONTH_PATTERN,
        description="First dues month it pays (YYYY-MM): not before the first dues month, not a month "
        "already paid, at most 12 months after the current month",
    )


class PayerStopRequest(Model):
    """DELETE /v1/participants/{participant_id}/payer as a body: the PUT's fields, ``payer_id``
    optional (``from_month`` may come in the query string instead)."""

    payer_id: str | None = Field(
        default=None,
        min_length=2,
        max_length=63,
        pattern=PARTNER_ID_PATTERN,
        description="The payer that stops: a payer may name only itself; the back office names the payer it stops",
    )
    from_month: str | None = Field(
        default=None, pattern=MONTH_PATTERN, description="First dues month the worker pays again (YYYY-MM)"
    )


class PayerRefView(Model):
    payer_id: str
    type: PartnerPayerType


class PayerTimelineEntry(Model):
    from_month: str = Field(description="From this dues month on (until the next entry)")
    payer_id: str | None = Field(description="The paying partner; null: the worker pays")
    type: TimelinePayerType


class ParticipantPayerView(Model):
    """Who pays a participant's dues: this month, and from which month on."""

    participant_id: str
    payer: PayerRefView | None = Field(description="The payer in force this month; null: the worker pays")
    changes: list[PayerTimelineEntry] = Field(description="The payer timeline from the first dues month, oldest first")
    first_dues_month: str
    covered_through: str | None = Field(description="Last dues month paid; later payer changes start after it")


class PayerWorker(Model):
    participant_id: str
    status: str
    months_owed: int
    covered_through: str | None
    next_dues_month: str
    paid_from: str = Field(description="First dues month of this payer's current or next period")
    paid_until: str | None = Field(description="Last dues month of that period (inclusive); null: no end set")


class PayerWorkerPage(Model):
    items: list[PayerWorker]
    next_token: str | None = Field(description="Pass as next_token for the next page; null: no more")


class StatementRow(Model):
    participant_id: str
    masked_name: str | None
    regency: str | None
    month: str
    months: list[str] = Field(description="Every month the same order paid for this worker")
    amount: int = Field(description="What this month's ledger entry holds (integer rupiah)")
    order_id: str
    payment_reference: str
    provider: str
    paid_at: datetime


class PayerStatement(Model):
    payer_id: str
    month: str
    rows: list[StatementRow] = Field(description="This page's rows, by participant id")
    count: int = Field(description="Rows of the whole month (every page), not only this page's")
    total: int = Field(
        description="Sum of the whole month's amounts (every page): what the ledger holds for this payer and month"
    )
    next_token: str | None = Field(description="Pass as next_token for the next page of rows; null: no more")


class PayerLink(StoredModel):
    """``PAYER#<payer_id> / WORKER#<participant_id>``: a payer pays this worker for ``periods``."""

    payer_id: str
    payer_type: str
    participant_id: str
    periods: list[dict[str, str]]
    until_month: str | None = None


class StatementEntry(StoredModel):
    """A ledger entry as the by_payer_month index projects it."""

    participant_id: str
    month: str
    total: int
    payer_type: str
    payer_id: str | None = None
    order_id: str
    order_months: list[str] = Field(default_factory=list)
    provider: str
    reference: str
    paid_at: datetime
    regency: str | None = None
    masked_name: str | None = None
