"""Coverage counters in DynamoDB (moto in-process): one item per key and year, read back merged."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from perisai.coverage.models import EventEnvelope
from perisai.coverage.repository import CoverageRepository
from perisai.coverage.service import Aggregator, CoverageReports
from perisai.domain import coverage as rules
from perisai.domain.months import DuesMonth
from tests.helpers.moto_table import participants_table

JAKARTA = timezone(timedelta(hours=7))


def _enrolled(at: datetime) -> EventEnvelope:
    return EventEnvelope.model_validate(
        {
            "id": "x",
            "detail-type": "ParticipantEnrolled",
            "detail": {
                "event_id": "enr-1",
                "participant_id": "PST-1",
                "partner_id": "mitra",
                "channel": "agent_network",
                "agent_code": "AG-1",
                "sector": "transport",
                "programs": ["JKK", "JKM"],
                "payer_type": "self",
                "first_dues_month": "2027-11",
                "first_dues_total": 16_800,
                "enrolled_at": at.isoformat(),
                "regency": "3273",
                "recruited_by_partner": "mitra",
                "recruited_by_agent": "AG-1",
            },
        }
    )


def _paid(at: datetime, through: str, months: int) -> EventEnvelope:
    return EventEnvelope.model_validate(
        {
            "id": "y",
            "detail-type": "ContributionReceived",
            "detail": {
                "event_id": "pay-1",
                "participant_id": "PST-1",
                "order_id": "ORD-1",
                "months": [f"m{i}" for i in range(months)],
                "amount": 16_800 * months,
                "provider": "midtrans",
                "channel": None,
                "collecting_partner": "mitra",
                "recruited_by_partner": "mitra",
                "recruited_by_agent": "AG-1",
                "covered_through": through,
                "status": "active",
                "credited_at": at.isoformat(),
            },
        }
    )


def test_a_participant_active_across_new_year_is_counted_in_both_years_items(monkeypatch: pytest.MonkeyPatch) -> None:
    with participants_table(monkeypatch, "coverage-years") as client:
        repository = CoverageRepository("coverage-years", client)
        aggregator = Aggregator(repository)
        assert aggregator.apply(_enrolled(datetime(2027, 11, 5, 10, tzinfo=JAKARTA))) == "applied"
        # November 2027 to February 2028, paid in November: active at the end of each of them.
        assert aggregator.apply(_paid(datetime(2027, 11, 6, 10, tzinfo=JAKARTA), "2028-02", 4)) == "applied"
        assert aggregator.apply(_paid(datetime(2027, 11, 6, 10, tzinfo=JAKARTA), "2028-02", 4)) == "duplicate"
        items = client.scan(TableName="coverage-years")["Items"]
        regency_items = sorted(i["pk"]["S"] for i in items if i["pk"]["S"].startswith("AGG#ALL#regency"))
        assert regency_items == ["AGG#ALL#regency#2027", "AGG#ALL#regency#2028"]
        reports = CoverageReports(repository, rules.Denominators.load())
        active = {
            m: reports.report("regency", DuesMonth.parse(m), None).totals.active
            for m in ("2027-12", "2028-02", "2028-03")
        }
        assert active == {"2027-12": 1, "2028-02": 1, "2028-03": 0}
        # The whole contribution, merged from both years' items, is what the rules say.
        merged = repository.counter("AGG#ALL#agent", "mitra/AG-1", DuesMonth.parse("2028-12"))
        record = repository.record("PST-1")
        assert record is not None
        contribution = rules.contribution(record.domain())
        expected = {
            rules.counter_attribute(m, f): n for (m, f), n in {**contribution.common, **contribution.agent}.items()
        }
        assert merged == expected
        # Reading December 2027 reads only the items up to 2027.
        assert rules.counter_years(DuesMonth.parse("2027-12"), DuesMonth.parse("2028-01")) == range(2026, 2028)
        # A far-future month reads no more years than can hold anything (2 after today's).
        assert rules.counter_years(DuesMonth.parse("9999-12"), DuesMonth.parse("2028-01")) == range(2026, 2031)
