"""Coverage rules (perisai.domain.coverage): what one participant adds to the counters, from the
facts its events told, in any order. Pure: no AWS, no mocks."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone

import pytest

from perisai.domain import coverage as c
from perisai.domain.months import DuesMonth

JAKARTA = timezone(timedelta(hours=7))
DIMS = c.Dimensions("mitra-1", "agent", "transport", "3273", "ag-7")


def at(day: str, hour: int = 10) -> datetime:
    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, hour, tzinfo=JAKARTA)


def enrolled(day: str, first: bool = True, event_id: str = "enr") -> c.Fact:
    return c.Fact(event_id, "enrolled", at(day), first_enrollment=first)


def paid(day: str, through: str, amount: int = 16_800, months: int = 1, event_id: str | None = None) -> c.Fact:
    return c.Fact(
        event_id or f"pay-{day}", "paid", at(day), "active", through, amount=amount, months=months, covered_known=True
    )


def moved(day: str, status: str, through: str | None) -> c.Fact:
    return c.Fact(f"{status}-{day}", "status", at(day, 0), status, through, covered_known=True)


def record(*facts: c.Fact, dims: c.Dimensions | None = DIMS) -> c.Record:
    r = c.Record("PST-1")
    for fact in facts:
        r = r.with_fact(fact, dims if fact.kind == "enrolled" else None)
    return r


def at_month(r: c.Record, month: str) -> c.Figures:
    contribution = c.contribution(r)
    values = {c.counter_attribute(m, f): n for (m, f), n in {**contribution.common, **contribution.agent}.items()}
    return c.figures(values, DuesMonth.parse(month))


def test_a_paying_participant_is_active_while_paid_through_the_month_then_in_arrears_then_lapsed() -> None:
    r = record(
        enrolled("2026-09-03"),
        paid("2026-09-05", "2026-09"),
        moved("2026-10-16", "arrears", "2026-09"),
        moved("2027-01-16", "lapsed", "2026-09"),
    )
    seen = {m: at_month(r, m).standing for m in ("2026-08", "2026-09", "2026-10", "2026-12", "2027-01", "2027-06")}
    assert seen["2026-08"]["active"] == 0 and at_month(r, "2026-08").ever_enrolled == 0
    assert seen["2026-09"]["active"] == 1
    assert seen["2026-10"]["arrears"] == 1 and seen["2026-10"]["active"] == 0
    assert seen["2026-12"]["arrears"] == 1
    assert seen["2027-01"]["lapsed"] == 1 and seen["2027-01"]["arrears"] == 0
    assert seen["2027-06"]["lapsed"] == 1
    assert at_month(r, "2026-09").flows["new"] == 1 and at_month(r, "2026-10").flows["new"] == 0
    assert at_month(r, "2027-06").ever_enrolled == 1


def test_months_paid_ahead_count_active_until_they_run_out_even_before_any_status_job() -> None:
    r = record(enrolled("2026-09-03"), paid("2026-09-05", "2026-11", amount=50_400, months=3))
    assert [at_month(r, m).standing["active"] for m in ("2026-09", "2026-10", "2026-11", "2026-12")] == [1, 1, 1, 0]
    # Nobody moved it yet, but December is past due at its end: counted in arrears.
    assert at_month(r, "2026-12").standing["arrears"] == 1
    assert at_month(r, "2026-09").flows["dues"] == 50_400 and at_month(r, "2026-10").flows["dues"] == 0


def test_an_enrolled_participant_who_never_pays_is_pending_payment() -> None:
    r = record(enrolled("2026-09-03"))
    assert at_month(r, "2026-09").standing["pending_payment"] == 1
    assert at_month(r, "2026-09").standing["active"] == 0


def test_paying_after_a_lapse_is_one_reactivation_whether_or_not_the_worker_enrolled_again() -> None:
    history = (
        enrolled("2026-05-03"),
        paid("2026-05-05", "2026-05"),
        moved("2026-06-16", "arrears", "2026-05"),
        moved("2026-09-16", "lapsed", "2026-05"),
    )
    by_paying = record(*history, paid("2026-11-02", "2026-11"))
    by_enrolling = record(
        *history, enrolled("2026-11-01", first=False, event_id="enr-2"), paid("2026-11-02", "2026-11")
    )
    for r in (by_paying, by_enrolling):
        november = at_month(r, "2026-11")
        assert november.flows["reactivated"] == 1
        assert november.standing["active"] == 1 and november.standing["lapsed"] == 0
        assert november.ever_enrolled == 1  # a reactivation is not new
    assert at_month(by_enrolling, "2026-11").flows["new"] == 0


def test_a_reversal_takes_the_dues_back_in_its_month_and_the_months_it_covered() -> None:
    reversal = c.Fact(
        "rev", "reversed", at("2026-10-02"), "pending_payment", None, amount=16_800, months=1, covered_known=True
    )
    r = record(enrolled("2026-09-03"), paid("2026-09-05", "2026-09"), reversal)
    assert at_month(r, "2026-09").flows["dues"] == 16_800
    assert at_month(r, "2026-10").flows["dues"] == -16_800
    assert at_month(r, "2026-10").standing["pending_payment"] == 1
    assert c.contribution(r).dues_by_month == {"2026-09": (16_800, 1), "2026-10": (-16_800, -1)}


def test_a_claim_that_ends_the_participation_and_its_payout() -> None:
    ended = c.Fact("claim-1", "status", at("2026-10-20"), "ended")
    payout = c.Fact("claim-2", "claim_paid", at("2026-11-03"), amount=42_000_000)
    r = record(enrolled("2026-09-03"), paid("2026-09-05", "2026-12", amount=67_200, months=4), ended, payout)
    assert at_month(r, "2026-10").standing == {"active": 0, "arrears": 0, "lapsed": 0, "pending_payment": 0, "ended": 1}
    assert at_month(r, "2026-11").flows["claims_paid_count"] == 1
    assert at_month(r, "2026-11").flows["claims_paid_amount"] == 42_000_000


def test_the_same_facts_in_any_order_add_the_same_counts() -> None:
    facts = [
        enrolled("2026-09-03"),
        paid("2026-09-05", "2026-09"),
        moved("2026-10-16", "arrears", "2026-09"),
        paid("2026-10-20", "2026-10"),
        moved("2026-11-16", "arrears", "2026-10"),
    ]
    expected = c.contribution(record(*facts))
    for order in itertools.permutations(facts):
        assert c.contribution(record(*order)) == expected


def test_nothing_is_counted_before_the_enrollment_is_known() -> None:
    r = record(paid("2026-09-05", "2026-09"))
    assert c.contribution(r) == c.Contribution()
    assert r.knows("pay-2026-09-05") and not r.knows("other")


def test_agent_cohort_fields_follow_the_cohort_active_count_and_the_single_month_payers() -> None:
    r = record(enrolled("2026-09-03"), paid("2026-09-05", "2026-09"), moved("2026-10-16", "arrears", "2026-09"))
    agent = c.contribution(r).agent
    assert agent == {
        ("2026-09", "active@2026-09"): 1,
        ("2026-10", "active@2026-09"): -1,
        ("2026-09", "single@2026-09"): 16_800,
    }
    r2 = r.with_fact(paid("2026-10-20", "2026-10"))
    agent2 = c.contribution(r2).agent
    # Paid a second month in October: no longer a single-month payer from then on.
    assert agent2[("2026-10", "single@2026-09")] == -16_800
    assert ("2026-10", "active@2026-09") not in agent2


def test_dimension_keys() -> None:
    assert DIMS.keys() == {
        "province": "32",
        "regency": "3273",
        "channel": "agent",
        "agent": "mitra-1/AG-7",
        "sector": "transport",
    }
    unknown = c.Dimensions("mitra-1", "retailer", "trade", None, None).keys()
    assert unknown["province"] == unknown["regency"] == c.UNKNOWN_REGION and unknown["agent"] == c.NO_AGENT


def test_the_denominator_table_is_dated_data_with_its_source() -> None:
    table = c.Denominators.load()
    assert table.national == 84_130_000
    assert "Sakernas" in table.source and "2024-02" in table.source
    assert table.for_key("regency", "3273") is None
    assert c.ratio(9_400_000, table.national) == pytest.approx(0.111732, abs=1e-6)
    assert c.ratio(5, None) is None


def test_the_aggregators_rule_routes_exactly_the_events_it_counts() -> None:
    from perisai.coverage.service import COUNTED_EVENTS
    from perisai_infra.coverage import COUNTED_EVENTS as ROUTED

    assert sorted(ROUTED) == sorted(COUNTED_EVENTS)
