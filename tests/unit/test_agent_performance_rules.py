"""Agent performance, commission and fraud signals: pure rules, no AWS, no mocks.

Counter items are built the way the aggregator builds them: the sum of each recruit's
contribution (``perisai.domain.coverage.contribution``) over records of facts written here."""

from __future__ import annotations

import copy
import itertools
import json
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

from perisai.domain import agent_performance as perf
from perisai.domain import coverage as rules
from perisai.domain.months import DuesMonth

WIB = timezone(timedelta(hours=7))
BOOK = perf.CommissionBook.packaged()
POLICY = BOOK.commission_in(DuesMonth(2026, 1))
FRAUD = BOOK.fraud_in(DuesMonth(2026, 1))
DIMS = rules.Dimensions("p1", "agent_network", "transport", "3273", "AG-1")


def at(month: str, day: int = 5, hour: int = 10, minute: int = 0) -> datetime:
    m = DuesMonth.parse(month)
    return datetime(m.year, m.month, day, hour, minute, tzinfo=WIB)


class History:
    """Recruits' facts, summed into one agent counter item as the aggregator would."""

    def __init__(self) -> None:
        self.records: dict[str, rules.Record] = {}
        self.n = 0

    def fact(self, pid: str, kind: rules.FactKind, when: datetime, **kw: object) -> None:
        self.n += 1
        record = self.records.get(pid, rules.Record(pid))
        fact = rules.Fact(f"e{self.n}", kind, when, **kw)  # type: ignore[arg-type]  # test kwargs of Fact
        self.records[pid] = record.with_fact(fact, DIMS if kind == "enrolled" else None)

    def enroll(self, pid: str, month: str) -> None:
        self.fact(pid, "enrolled", at(month, 3), first_enrollment=True)

    def pay(self, pid: str, month: str, through: str, amount: int, months: int = 1) -> None:
        self.fact(
            pid, "paid", at(month, 10), status="active", covered_through=through, covered_known=True,
            amount=amount, months=months,
        )

    def status(self, pid: str, month: str, status: str, through: str | None, day: int = 16) -> None:
        self.fact(pid, "status", at(month, day), status=status, covered_through=through, covered_known=True)

    def values(self) -> dict[str, int]:
        total: dict[str, int] = defaultdict(int)
        for record in self.records.values():
            c = rules.contribution(record)
            for (month, name), n in {**c.common, **c.agent}.items():
                total[rules.counter_attribute(month, name)] += n
        return {k: v for k, v in total.items() if v}


def history() -> History:
    """Cohort 2026-01: A pays Jan-Jun, B pays January only and lapses, C never pays (lapses),
    D pays Jan then a claim ends it in March. Cohort 2026-02: E pays Feb and March."""
    h = History()
    for pid in "ABCD":
        h.enroll(pid, "2026-01")
    h.pay("A", "2026-01", "2026-01", 20_000)
    h.pay("A", "2026-02", "2026-06", 100_000, 5)
    h.pay("B", "2026-01", "2026-01", 20_000)
    h.status("B", "2026-02", "arrears", "2026-01")
    h.status("B", "2026-05", "lapsed", "2026-01")
    h.status("C", "2026-04", "lapsed", None)
    h.pay("D", "2026-01", "2026-01", 20_000)
    h.status("D", "2026-03", "ended", "2026-01")
    h.enroll("E", "2026-02")
    h.pay("E", "2026-02", "2026-03", 40_000, 2)
    return h


def test_policy_book_is_dated_data_with_sources() -> None:
    assert POLICY.incentive_rate == Decimal("0.075")
    assert POLICY.cooperative_share_rate == Decimal("0.10")
    assert POLICY.bonus_min_new_recruits == 50
    assert POLICY.bonus_amount_confirmed is False  # the amount is a placeholder
    assert "UNCONFIRMED" in POLICY.sources["bonus_amount"]
    with pytest.raises(ValueError, match="in force"):
        BOOK.commission_in(DuesMonth(2017, 12))


def test_the_version_in_force_in_the_month_applies() -> None:
    doc = json.loads(
        (perf.Path(perf.__file__).parent / "data" / "agent_commission.json").read_text(encoding="utf-8")
    )
    later = copy.deepcopy(doc["commission"][0])
    later.update(effective_from="2027-02-01", incentive_rate="0.08")
    doc["commission"].append(later)
    book = perf.CommissionBook.from_document(doc)
    assert book.commission_in(DuesMonth(2027, 1)).incentive_rate == Decimal("0.075")
    assert book.commission_in(DuesMonth(2027, 2)).incentive_rate == Decimal("0.08")
    doc["commission"].append(copy.deepcopy(later))
    with pytest.raises(ValueError, match="same day"):
        perf.CommissionBook.from_document(doc)
    bad = copy.deepcopy(doc)
    bad["commission"][0]["incentive_rate"] = "1.5"
    with pytest.raises(ValidationError):
        perf.CommissionBook.from_document(bad)


def test_rate_rounds_down_to_the_rupiah() -> None:
    assert perf.rate_of(20_000, Decimal("0.075")) == 1_500
    assert perf.rate_of(15_900, Decimal("0.075")) == 1_192  # 1,192.5
    assert perf.rate_of(1_192, Decimal("0.10")) == 119
    assert perf.rate_of(-15_900, Decimal("0.075")) == -1_193  # a net reversal: floor


def test_line_commissions_add_up_to_the_months_accrual() -> None:
    dues = [15_900, 15_900, 47_700, -15_900, 33]
    lines = perf.line_commissions(dues, Decimal("0.075"))
    assert sum(lines) == perf.rate_of(sum(dues), Decimal("0.075"))
    for amount, line in zip(dues, lines, strict=True):
        assert abs(line - amount * Decimal("0.075")) < 1


def test_figures_of_each_month() -> None:
    values = history().values()
    jan = perf.agent_figures(values, DuesMonth(2026, 1), POLICY, has_cooperative=True)
    assert (jan.acquisitions_month, jan.acquisitions_to_date) == (4, 4)
    assert jan.recruits == {"active": 3, "arrears": 0, "lapsed": 0, "pending_payment": 1}
    assert jan.active_share == 0.75
    assert jan.dues_collected == 60_000
    assert jan.commission == perf.Commission(accrued=4_500, cooperative_share=450, bonus=0, clawback=0)
    assert jan.commission.payable == 4_050

    mar = perf.agent_figures(values, DuesMonth(2026, 3), POLICY, has_cooperative=False)
    assert (mar.acquisitions_month, mar.acquisitions_to_date) == (0, 5)
    # A and E active; B in arrears; C never paid; D ended (out of the share's denominator).
    assert mar.recruits == {"active": 2, "arrears": 1, "lapsed": 0, "pending_payment": 1}
    assert mar.active_share == 0.5  # 2 / (5 - 1)
    assert mar.dues_collected == 0
    assert mar.commission.cooperative_share == 0

    may = perf.agent_figures(values, DuesMonth(2026, 5), POLICY, has_cooperative=True)
    assert may.recruits == {"active": 1, "arrears": 1, "lapsed": 2, "pending_payment": 0}  # E paid through March
    assert may.active_share == 0.25


def test_cohorts_and_their_retention() -> None:
    values = history().values()
    table = perf.cohort_table(values, DuesMonth(2026, 4))
    assert [c.cohort for c in table] == ["2026-01", "2026-02"]
    jan, feb = table
    assert jan.enrolled == 4
    assert jan.active_after == {3: 0.25, 6: None, 12: None}  # end of April: only A
    assert feb.enrolled == 1
    assert feb.active_after == {3: None, 6: None, 12: None}  # May is after April
    assert perf.cohort_table(values, DuesMonth(2026, 7))[0].active_after[6] == 0.0  # A paid through June
    assert perf.cohort_table(values, DuesMonth(2026, 5))[1].active_after[3] == 0.0  # E paid through March
    assert [c.cohort for c in perf.cohort_table(values, DuesMonth(2026, 1))] == ["2026-01"]


def test_clawback_of_the_cohort_three_months_back_that_paid_one_month_only() -> None:
    h = history()
    values = h.values()
    # Cohort 2026-01 at the end of April: B and D paid exactly one month (20,000 each); A paid on.
    apr = perf.commission(values, DuesMonth(2026, 4), POLICY, has_cooperative=True)
    assert apr.clawback == perf.rate_of(40_000, Decimal("0.075")) == 3_000
    assert perf.commission(values, DuesMonth(2026, 3), POLICY, True).clawback == 0
    assert perf.commission(values, DuesMonth(2026, 5), POLICY, True).clawback == 0  # cohort 2026-02: E paid 2 months
    # B pays a second month before April: no longer clawed back.
    h.pay("B", "2026-03", "2026-03", 20_000)
    assert perf.commission(h.values(), DuesMonth(2026, 4), POLICY, True).clawback == 1_500


def test_bonus_from_the_policy_minimum_of_new_recruits() -> None:
    h = History()
    for i in range(POLICY.bonus_min_new_recruits):
        h.enroll(f"R{i:03d}", "2026-06")
    values = h.values()
    assert perf.commission(values, DuesMonth(2026, 6), POLICY, True).bonus == POLICY.bonus_amount
    assert perf.commission(values, DuesMonth(2026, 7), POLICY, True).bonus == 0
    h.records.popitem()
    assert perf.commission(h.values(), DuesMonth(2026, 6), POLICY, True).bonus == 0


def test_no_recruit_no_share() -> None:
    empty = perf.agent_figures({}, DuesMonth(2026, 1), POLICY, True)
    assert empty.active_share is None and empty.cohorts == [] and empty.commission.payable == 0


# -- fraud signals --------------------------------------------------------------------------------


def recruit(
    pid: str,
    *,
    phone: str = "",
    regency: str | None = "3273",
    when: datetime | None = None,
    status: str = "active",
    first: str = "2026-03",
    through: str | None = "2026-03",
) -> perf.Recruit:
    when = when or at("2026-03", 1) + timedelta(hours=next(_HOURS) % 600)  # apart: no burst unless asked
    return perf.Recruit(pid, phone or f"+62812{pid}", regency, when, status, first, through)


_HOURS = itertools.count()


def signals(recruits: list[perf.Recruit], month: str = "2026-03") -> list[perf.Signal]:
    return perf.fraud_signals(recruits, DuesMonth.parse(month), "3273", FRAUD)


def test_one_function_per_signal() -> None:
    names = [f.__name__ for f in perf.SIGNALS]
    assert names == ["shared_phone", "paid_once_then_lapsed", "outside_home_province", "enrollment_burst"]
    assert signals([recruit(f"P{i}", when=at("2026-03", 1 + i)) for i in range(6)]) == []


def test_shared_phone_lists_each_group_and_never_the_number() -> None:
    found = signals(
        [recruit("P1", phone="+6281200001"), recruit("P2", phone="+6281200001"), recruit("P3"),
         recruit("P4", phone="+6281200002"), recruit("P5", phone="+6281200002"), recruit("P6", phone="+6281200002")]
    )
    assert [(s.signal, s.participant_ids) for s in found] == [
        ("shared_phone", ("P1", "P2")),
        ("shared_phone", ("P4", "P5", "P6")),
    ]
    assert all("+62" not in s.detail and "812" not in s.detail for s in found)
    # A recruit enrolled after the month is not looked at.
    late = [recruit("P1", phone="+6281200001"), recruit("P2", phone="+6281200001", when=at("2026-04"))]
    assert signals(late) == []


def test_paid_once_then_lapsed() -> None:
    once = [recruit(f"L{i}", status="lapsed", first="2026-01", through="2026-01") for i in range(2)]
    never = recruit("N", status="lapsed", first="2026-01", through=None)
    twice = recruit("T", status="lapsed", first="2026-01", through="2026-02")
    found = signals([*once, never, twice])
    assert [(s.signal, s.participant_ids) for s in found] == [("paid_once_then_lapsed", ("L0", "L1"))]
    assert signals([once[0], never, twice]) == []  # below the policy's count


def test_outside_home_province_counts_the_months_recruits_only() -> None:
    month = [recruit(f"O{i}", regency="3171", when=at("2026-03", 2 + i)) for i in range(3)]
    home = [recruit(f"H{i}", regency="3204", when=at("2026-03", 8 + i)) for i in range(2)]  # West Java, as 3273
    found = signals([*month, *home])
    assert [(s.signal, s.participant_ids) for s in found] == [("outside_home_province", ("O0", "O1", "O2"))]
    assert "3 of the month's 5" in found[0].detail
    # Exactly half is not "mostly"; an earlier month's recruits do not count.
    assert signals([*month, *home, recruit("H2", regency="3273", when=at("2026-03", 20))]) == []
    assert signals([*month, *home], month="2026-04") == []
    assert signals(month[:2]) == []  # fewer than the policy's minimum


def test_enrollment_burst_merges_overlapping_windows() -> None:
    base = at("2026-03", 9, 10, 0)
    burst = [recruit(f"B{i}", when=base + timedelta(minutes=2 * i)) for i in range(6)]  # 10:00..10:10
    apart = [recruit(f"S{i}", when=base + timedelta(hours=3, minutes=11 * i)) for i in range(5)]
    found = signals([*burst, *apart])
    assert [(s.signal, s.participant_ids) for s in found] == [("enrollment_burst", tuple(f"B{i}" for i in range(6)))]
    assert found[0].detail.startswith("6 enrollments within 10 minutes")
    assert signals(burst[:4]) == []
    # Two bursts on two days: two signals.
    other = [recruit(f"C{i}", when=base + timedelta(days=1, seconds=30 * i)) for i in range(5)]
    assert [s.participant_ids[0] for s in signals([*burst, *other])] == ["B0", "C0"]


def test_signals_come_in_the_lists_order() -> None:
    rs = [recruit(f"X{i}", phone="+6281299999", regency="3171", when=at("2026-03", 9, 8, i)) for i in range(5)]
    assert [s.signal for s in signals(rs)] == ["shared_phone", "outside_home_province", "enrollment_burst"]


def test_the_dates_month_is_jakartas() -> None:
    # 2026-03-31 20:00 UTC is 1 April in Jakarta.
    r = recruit("J", when=datetime(2026, 3, 31, 20, 0, tzinfo=UTC))
    assert r.month == DuesMonth(2026, 4)
    assert date(2026, 4, 1) == r.recruited_at.astimezone(WIB).date()
