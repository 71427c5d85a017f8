"""Coverage edge models: the aggregator's stored participant record, the events it reads, and
the coverage report. No personal data: a record holds ids, region codes and amounts."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from perisai.domain import coverage as rules
from perisai.models import Model, StoredModel

ReportDimension = Literal["province", "regency", "channel", "agent", "sector"]


class StoredDimensions(StoredModel):
    partner_id: str
    channel: str
    sector: str
    regency: str | None = None
    agent_code: str | None = None


class StoredFact(StoredModel):
    event_id: str
    kind: rules.FactKind
    at: datetime
    status: str | None = None
    covered_through: str | None = None
    covered_known: bool = False
    amount: int = 0
    months: int = 0
    first_enrollment: bool = False


class StoredRecord(StoredModel):
    """``AGG#PARTICIPANT#<id> / RECORD``: what the aggregator knows of one participant."""

    participant_id: str
    dimensions: StoredDimensions | None = None
    facts: list[StoredFact] = []
    version: int = 0

    def domain(self) -> rules.Record:
        dims = rules.Dimensions(**self.dimensions.model_dump()) if self.dimensions else None
        facts = tuple(rules.Fact(**f.model_dump()) for f in self.facts)
        return rules.Record(self.participant_id, dims, facts)

    @classmethod
    def of(cls, record: rules.Record, version: int) -> StoredRecord:
        dims = StoredDimensions(**vars(record.dimensions)) if record.dimensions else None
        return cls(
            participant_id=record.participant_id,
            dimensions=dims,
            facts=[StoredFact(**vars(f)) for f in record.facts],
            version=version,
        )


class EventEnvelope(Model):
    """The EventBridge event as the aggregator's queue delivers it (only what it reads)."""

    id: str
    detail_type: str = Field(alias="detail-type")
    detail: dict[str, Any]


# -- the coverage report ------------------------------------------------------------------------


class ClaimsPaid(Model):
    count: int
    amount: int = Field(description="Rupiah paid out")


class CoverageRow(Model):
    key: str = Field(
        description="Province (2 digits) or regency (4 digits) of the NIK, channel, agent "
        "(`<partner_id>/<AGENT_CODE>`; `none`: enrolled without an agent) or sector; `unknown`: "
        "a participant stored before regions were kept"
    )
    ever_enrolled: int = Field(description="Participants first enrolled up to the end of the month")
    active: int = Field(description="Dues paid through the month at its end (covered_through >= month)")
    arrears: int = Field(description="Unpaid at the end of the month, within the arrears window")
    lapsed: int = Field(description="Lapsed at the end of the month (more than the arrears window unpaid)")
    new: int = Field(description="First enrollments in the month")
    reactivated: int = Field(description="Participants who resumed paying in the month after a lapse")
    dues_collected: int = Field(description="Rupiah credited in the month, less reversals in the month")
    claims_paid: ClaimsPaid
    informal_workers: int | None = Field(
        description="Informal workers (denominator table); null where no public figure"
    )
    coverage_ratio: float | None = Field(description="active / informal_workers, where both exist")


class CoverageReport(Model):
    month: str
    by: ReportDimension
    rows: list[CoverageRow]
    totals: CoverageRow
    denominator_source: str = Field(description="Where informal_workers comes from, and as of when")
