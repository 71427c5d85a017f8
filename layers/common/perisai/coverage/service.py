"""The aggregator (domain events -> counters, idempotent per event id) and the coverage report."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from pydantic import ValidationError

from perisai.claims.models import ClaimEvent
from perisai.coverage.models import (
    ClaimsPaid,
    CoverageReport,
    CoverageRow,
    EventEnvelope,
    ReportDimension,
    StoredRecord,
)
from perisai.coverage.repository import CoverageRepository, agent_lines_partition, counter_partition
from perisai.domain import coverage as rules
from perisai.domain.months import DuesMonth
from perisai.enrollment.models import ParticipantEnrolled
from perisai.errors import DependencyUnavailable, VersionConflict
from perisai.payments.models import ContributionReceived, ContributionReversed, ParticipantStatusChanged
from perisai.reminders.models import ParticipantInArrears, ParticipantLapsed

Outcome = Literal["applied", "duplicate", "ignored"]
WRITE_ATTEMPTS = 5

Parsed = tuple[str, rules.Fact, rules.Dimensions | None]


def _enrolled(detail: dict[str, object]) -> Parsed:
    e = ParticipantEnrolled.model_validate(detail)
    dims = rules.Dimensions(
        partner_id=e.recruited_by_partner or e.partner_id,
        channel=e.channel,
        sector=e.sector,
        regency=e.regency,
        agent_code=e.recruited_by_agent if e.recruited_by_partner else e.agent_code,
    )
    fact = rules.Fact(e.event_id, "enrolled", e.enrolled_at, first_enrollment=not e.reactivated)
    return e.participant_id, fact, dims


def _paid(detail: dict[str, object]) -> Parsed:
    e = ContributionReceived.model_validate(detail)
    fact = rules.Fact(
        e.event_id,
        "paid",
        e.credited_at,
        status=e.status,
        covered_through=e.covered_through,
        covered_known=True,
        amount=e.amount,
        months=len(e.months),
    )
    return e.participant_id, fact, None


def _reversed(detail: dict[str, object]) -> Parsed:
    e = ContributionReversed.model_validate(detail)
    fact = rules.Fact(
        e.event_id,
        "reversed",
        e.at,
        status=e.status,
        covered_through=e.covered_through,
        covered_known=True,
        amount=e.amount or 0,
        months=len(e.months),
    )
    return e.participant_id, fact, None


def _status(detail: dict[str, object]) -> Parsed:
    e = ParticipantStatusChanged.model_validate(detail)
    fact = rules.Fact(e.event_id, "status", e.at, e.status, e.covered_through, covered_known=True)
    return e.participant_id, fact, None


def _arrears(detail: dict[str, object]) -> Parsed:
    e = ParticipantInArrears.model_validate(detail)
    fact = rules.Fact(e.event_id, "status", e.at, "arrears", e.covered_through, covered_known=True)
    return e.participant_id, fact, None


def _lapsed(detail: dict[str, object]) -> Parsed:
    e = ParticipantLapsed.model_validate(detail)
    fact = rules.Fact(e.event_id, "status", e.at, "lapsed", e.covered_through, covered_known=True)
    return e.participant_id, fact, None


def _claim(detail: dict[str, object]) -> Parsed:
    e = ClaimEvent.model_validate(detail)
    paid = e.status == "paid"
    kind: rules.FactKind = "claim_paid" if paid else "status"
    fact = rules.Fact(e.event_id, kind, e.at, status=e.participant_status, amount=e.total if paid else 0)
    return e.participant_id, fact, None


PARSERS: dict[str, Callable[[dict[str, object]], Parsed]] = {
    "ParticipantEnrolled": _enrolled,
    "ContributionReceived": _paid,
    "ContributionReversed": _reversed,
    "ParticipantActivated": _status,
    "ParticipantReactivated": _status,
    "ParticipantInArrears": _arrears,
    "ParticipantLapsed": _lapsed,
    "ClaimSubmitted": _claim,
    "ClaimDecided": _claim,
    "ClaimPaid": _claim,
}
# The events the counters follow (the EventBridge rule routes exactly these to the aggregator).
COUNTED_EVENTS = tuple(PARSERS)


def placements(dims: rules.Dimensions | None, contribution: rules.Contribution) -> dict[tuple[str, str], rules.Counts]:
    """Where a contribution is counted: each dimension's key, for the scheme and for the partner."""
    if dims is None:
        return {}
    placed: dict[tuple[str, str], rules.Counts] = {}
    for scope in (None, dims.partner_id):
        for dimension, key in dims.keys().items():
            counts = dict(contribution.common)
            if dimension == "agent" and dims.agent_code:
                counts.update(contribution.agent)
            placed[(counter_partition(dimension, scope), key)] = counts
    return placed


def agent_lines(
    participant_id: str, dims: rules.Dimensions | None, contribution: rules.Contribution
) -> dict[tuple[str, str], tuple[int, int]]:
    if dims is None or not dims.agent_code:
        return {}
    agent = rules.agent_key(dims.partner_id, dims.agent_code)
    return {(agent_lines_partition(agent, m), participant_id): v for m, v in contribution.dues_by_month.items()}


class Aggregator:
    def __init__(
        self,
        repository: CoverageRepository,
        note_activity: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.repository = repository
        # (partner_id, agent_code, month): an agent's recruit enrolled or paid in that month.
        self.note_activity = note_activity

    def apply(self, envelope: EventEnvelope) -> Outcome:
        parser = PARSERS.get(envelope.detail_type)
        if parser is None:
            return "ignored"
        try:
            participant_id, fact, dims = parser(envelope.detail)
        except ValidationError:
            return "ignored"  # not a detail this version understands: counted by none
        for _ in range(WRITE_ATTEMPTS):
            stored = self.repository.record(participant_id)
            version = stored.version if stored else 0
            record = stored.domain() if stored else rules.Record(participant_id)
            if record.knows(fact.event_id):
                self._activity(record.dimensions, fact)
                return "duplicate"
            updated = record.with_fact(fact, dims)
            before, after = rules.contribution(record), rules.contribution(updated)
            counters = _changes(placements(record.dimensions, before), placements(updated.dimensions, after))
            old_lines = agent_lines(participant_id, record.dimensions, before)
            new_lines = agent_lines(participant_id, updated.dimensions, after)
            lines = {
                k: (
                    new_lines.get(k, (0, 0))[0] - old_lines.get(k, (0, 0))[0],
                    new_lines.get(k, (0, 0))[1] - old_lines.get(k, (0, 0))[1],
                )
                for k in set(old_lines) | set(new_lines)
                if new_lines.get(k) != old_lines.get(k)
            }
            try:
                self.repository.apply(StoredRecord.of(updated, version + 1), version, counters, lines)
            except VersionConflict:
                continue  # another event of this participant landed first: read it again
            self._activity(updated.dimensions, fact)
            return "applied"
        raise DependencyUnavailable("coverage record kept changing")

    def _activity(self, dims: rules.Dimensions | None, fact: rules.Fact) -> None:
        acquired = fact.kind == "enrolled" and fact.first_enrollment
        if self.note_activity and dims and dims.agent_code and (acquired or fact.kind == "paid"):
            self.note_activity(dims.partner_id, dims.agent_code, str(fact.month))


def _changes(
    before: dict[tuple[str, str], rules.Counts], after: dict[tuple[str, str], rules.Counts]
) -> dict[tuple[str, str], rules.Counts]:
    changes = {k: rules.difference(before.get(k, {}), after.get(k, {})) for k in set(before) | set(after)}
    return {k: v for k, v in changes.items() if v}


# -- the coverage report --------------------------------------------------------------------------


def row(key: str, figures: rules.Figures, informal_workers: int | None) -> CoverageRow:
    active = figures.standing["active"]
    return CoverageRow(
        key=key,
        ever_enrolled=figures.ever_enrolled,
        active=active,
        arrears=figures.standing["arrears"],
        lapsed=figures.standing["lapsed"],
        new=figures.flows["new"],
        reactivated=figures.flows["reactivated"],
        dues_collected=figures.flows["dues"],
        claims_paid=ClaimsPaid(count=figures.flows["claims_paid_count"], amount=figures.flows["claims_paid_amount"]),
        informal_workers=informal_workers,
        coverage_ratio=rules.ratio(active, informal_workers),
    )


class CoverageReports:
    def __init__(self, repository: CoverageRepository, denominators: rules.Denominators) -> None:
        self.repository = repository
        self.denominators = denominators

    def report(self, by: ReportDimension, month: DuesMonth, partner_id: str | None) -> CoverageReport:
        """The month's figures per key of ``by``: the whole scheme, or one partner's participants."""
        rows: list[CoverageRow] = []
        total = rules.Figures.zero()
        for key, values in self.repository.counters(counter_partition(by, partner_id), month):
            figures = rules.figures(values, month)
            if figures.empty:
                continue
            workers = self.denominators.for_key(by, key) if partner_id is None else None
            rows.append(row(key, figures, workers))
            total = total.plus(figures)
        national = self.denominators.national if partner_id is None else None
        return CoverageReport(
            month=str(month),
            by=by,
            rows=sorted(rows, key=lambda r: r.key),
            totals=row("total", total, national),
            denominator_source=self.denominators.source,
        )
