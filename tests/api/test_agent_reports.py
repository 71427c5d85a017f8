"""Agent reports through the real handlers (issue 14): performance, the evaluation list, the
statement (JSON and CSV) and the coverage route's shape and scoping.

Five months of one partner's history in 2032 (no other test's participant is due then, so the
status job moves only these): an agent with a cooperative enrolls five workers in one burst in
January (two share a phone), three more from outside its home province in February; some pay
every month, some once, one three months ahead, some never; the daily status job moves them to
arrears and lapse. At the end of each month the test reads every recruit through
GET /v1/participants/{id} and counts, itself, who is active, in arrears, lapsed or pending;
dues and commission it counts from the orders it paid. Every figure the reports give must equal
those counts."""

from __future__ import annotations

import csv
import io
import itertools
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import (
    BACKOFFICE,
    Api,
    enrollment,
    make_nik,
    partner_key,
    pay_by_midtrans,
    register_agent,
    run_status_job,
    standing_at_month_end,
)

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

MONTHS = ("2032-01", "2032-02", "2032-03", "2032-04", "2032-05")
AGENT, NO_RECRUITS, OTHER_REGENCY = "AG-RPT", "AG-RPT2", "AG-RPT3"
COOPERATIVE = "=Koperasi Sejahtera"  # starts like a formula: the CSV must keep it as text
SHARED_PHONE = "0813-3200-0001"
_phones = itertools.count(32_000_101)


def _prev(month: str, n: int) -> str:
    year, mon = map(int, month.split("-"))
    ordinal = year * 12 + mon - 1 - n
    return f"{ordinal // 12:04d}-{ordinal % 12 + 1:02d}"


@dataclass
class Seen:
    """What the test did and saw, counted by the test itself."""

    partner_id: str
    headers: dict[str, str]
    cohort: dict[str, str] = field(default_factory=dict)  # recruit of AGENT -> first month
    paid: list[tuple[str, str, int, int]] = field(default_factory=list)  # (month, pid, rupiah, months)
    standing: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))  # month -> pid -> standing
    ids: dict[str, str] = field(default_factory=dict)  # name -> participant id

    def dues(self, month: str) -> int:
        """Rupiah the agent's recruits paid in the month."""
        return sum(amount for m, pid, amount, _ in self.paid if m == month and pid in self.cohort)

    def months_paid(self, pid: str, upto: str) -> int:
        return sum(n for m, p, _, n in self.paid if p == pid and m <= upto)

    def counts(self, month: str) -> Counter[str]:
        return Counter(self.standing[month][pid] for pid in self.cohort if self.cohort[pid] <= month)

    def clawback_base(self, month: str) -> int:
        """Rupiah paid by the recruits of cohort month-3 who, at the end of month, paid one month only."""
        cohort = _prev(month, 3)
        singles = {p for p, c in self.cohort.items() if c == cohort and self.months_paid(p, month) == 1}
        return sum(amount for m, pid, amount, _ in self.paid if pid in singles and m <= month)


@pytest.fixture(scope="module")
def seen(api: Api, runtime: LocalRuntime) -> Iterator[Seen]:
    partner_id = f"rpt-{uuid.uuid4().hex[:8]}"
    headers, _ = partner_key(runtime, partner_id, ["enroll", "pay"], channel="agent_network")
    s = Seen(partner_id, headers)

    def clock(instant: str) -> None:
        assert api.put("/_local/clock", {"now": instant}).status_code == 200

    def enroll(name: str, month: str, region: str, phone: str | None = None, agent: str = AGENT) -> str:
        body = enrollment(
            birth=date(1988, 4, 12),
            nik=make_nik(date(1988, 4, 12), "M", region=region),
            sector="other",
            phone=phone or f"0813{next(_phones):08d}",
            agent_code=agent.lower(),  # any case: the same agent
        )
        response = api.enroll(body, headers)
        assert response.status_code == 201, response.text
        pid = str(response.json()["participant_id"])
        s.ids[name] = pid
        if agent == AGENT:
            s.cohort[pid] = month
        return pid

    def pay(name: str, month: str, months: int = 1) -> None:
        pid = s.ids[name]
        s.paid.append((month, pid, pay_by_midtrans(api, pid, months, headers=headers)["amount"], months))

    def snapshot(month: str) -> None:
        api.post("/_local/drain")
        for pid in s.cohort:
            view = api.get(f"/v1/participants/{pid}", headers).json()
            s.standing[month][pid] = standing_at_month_end(view, month)

    try:
        clock("2032-01-04T09:00:00+07:00")
        register_agent(api, headers, AGENT, home_regency="3273", cooperative=COOPERATIVE)
        register_agent(api, headers, NO_RECRUITS, home_regency="3273")
        register_agent(api, headers, OTHER_REGENCY, home_regency="3171")

        # January: five recruits from the agent's province at one instant (a burst); R1 and R2
        # share a phone. R3 pays three months ahead, R4 never pays.
        clock("2032-01-05T10:00:00+07:00")
        enroll("R1", "2032-01", "327301", SHARED_PHONE)
        enroll("R2", "2032-01", "327301", SHARED_PHONE)
        enroll("R3", "2032-01", "320401")
        enroll("R4", "2032-01", "327301")
        enroll("R6", "2032-01", "327301")
        for name in ("R1", "R2", "R6"):
            pay(name, "2032-01")
        pay("R3", "2032-01", 3)
        run_status_job(api, "2032-01-16T00:30:00+07:00")
        snapshot("2032-01")

        # February: three recruits from Jakarta (outside the home province), twenty minutes apart.
        for n, (name, minute) in enumerate((("R5", "00"), ("R7", "20"), ("R8", "40"))):
            clock(f"2032-02-05T1{n}:{minute}:00+07:00")
            enroll(name, "2032-02", "317101")
        pay("R1", "2032-02")
        pay("R5", "2032-02")
        run_status_job(api, "2032-02-16T00:30:00+07:00")  # R2 and R6 fall into arrears
        snapshot("2032-02")

        clock("2032-03-05T10:00:00+07:00")
        pay("R1", "2032-03")
        run_status_job(api, "2032-03-16T00:30:00+07:00")  # R5 in arrears
        snapshot("2032-03")

        clock("2032-04-05T10:00:00+07:00")
        pay("R1", "2032-04")
        run_status_job(api, "2032-04-16T00:30:00+07:00")  # R3 in arrears; R4 (never paid) lapses
        snapshot("2032-04")

        clock("2032-05-05T10:00:00+07:00")
        pay("R1", "2032-05")
        enroll("Q1", "2032-05", "317101", agent=OTHER_REGENCY)
        pay("Q1", "2032-05")
        run_status_job(api, "2032-05-16T00:30:00+07:00")  # R2 and R6 (paid once), R7 and R8 lapse
        snapshot("2032-05")
        api.post("/_local/drain")
        yield s
    finally:
        api.delete("/_local/clock")
        runtime.delivery.drain()


def _get(api: Api, path: str, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = api.get(path, headers, params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _performance(api: Api, s: Seen, month: str, headers: dict[str, str] | None = None, **params: str) -> dict[str, Any]:
    return _get(api, f"/v1/agents/{AGENT.lower()}/performance", headers or s.headers, month=month, **params)


def test_the_history_is_what_the_test_meant_to_build(seen: Seen) -> None:
    """Guards the scenario: each kind of figure is exercised (else a report could match by accident)."""
    assert seen.counts("2032-02") == {"active": 3, "arrears": 2, "pending_payment": 3}
    assert seen.counts("2032-05") == {"active": 1, "arrears": 2, "lapsed": 5}
    assert seen.clawback_base("2032-04") > 0 and seen.clawback_base("2032-05") > 0


def test_performance_of_every_month_equals_what_the_test_counted(api: Api, seen: Seen) -> None:
    for month in MONTHS:
        got = _performance(api, seen, month)
        counts = seen.counts(month)
        to_date = sum(1 for c in seen.cohort.values() if c <= month)
        dues = seen.dues(month)
        accrued = dues * 75 // 1000
        assert got["agent_code"] == AGENT and got["month"] == month
        assert got["acquisitions"] == {"month": sum(1 for c in seen.cohort.values() if c == month), "to_date": to_date}
        assert got["recruits"] == {k: counts[k] for k in ("active", "arrears", "lapsed", "pending_payment")}, month
        assert got["active_share"] == pytest.approx(counts["active"] / to_date), month  # nobody ended
        assert got["dues_collected"] == dues, month
        assert got["commission"] == {
            "accrued": accrued,
            "cooperative_share": accrued // 10,
            "bonus": 0,
            "clawback": seen.clawback_base(month) * 75 // 1000,
        }, month


def test_cohort_retention(api: Api, seen: Seen) -> None:
    got = _performance(api, seen, "2032-05")["cohorts"]
    assert [(c["cohort"], c["enrolled"]) for c in got] == [("2032-01", 5), ("2032-02", 3)]
    for row in got:
        members = [p for p, c in seen.cohort.items() if c == row["cohort"]]
        after_3 = _prev(row["cohort"], -3)
        active = sum(1 for p in members if seen.standing[after_3][p] == "active")
        assert row["active_after_3"] == pytest.approx(active / len(members)), row
        assert row["active_after_6"] is None and row["active_after_12"] is None  # not reached by May
    assert got[0]["active_after_3"] == pytest.approx(0.2)  # only R1, who pays every month
    # In March the February cohort's third month has not ended yet.
    march = _performance(api, seen, "2032-03")["cohorts"]
    assert march[0]["active_after_3"] is None and march[1]["active_after_3"] is None


def test_fraud_signals(api: Api, seen: Seen) -> None:
    ids = seen.ids
    january = _performance(api, seen, "2032-01")
    signals = {s["signal"]: s for s in january["fraud_signals"]}
    assert set(signals) == {"shared_phone", "paid_once_then_lapsed", "enrollment_burst"}, signals
    assert signals["shared_phone"]["participant_ids"] == sorted([ids["R1"], ids["R2"]])
    assert signals["paid_once_then_lapsed"]["participant_ids"] == sorted([ids["R2"], ids["R6"]])
    assert signals["enrollment_burst"]["participant_ids"] == sorted(ids[n] for n in ("R1", "R2", "R3", "R4", "R6"))
    february = {s["signal"]: s for s in _performance(api, seen, "2032-02")["fraud_signals"]}
    assert february["outside_home_province"]["participant_ids"] == sorted(ids[n] for n in ("R5", "R7", "R8"))
    assert "enrollment_burst" not in february  # twenty minutes apart
    # The phone is never in the answer.
    raw = api.get(f"/v1/agents/{AGENT}/performance", seen.headers, params={"month": "2032-01"}).text
    assert "+62" not in raw and "81332000001" not in raw


def test_who_sees_an_agents_performance(api: Api, runtime: LocalRuntime, seen: Seen) -> None:
    other, _ = partner_key(runtime, f"rpt-other-{uuid.uuid4().hex[:6]}", ["enroll"], channel="agent_network")
    path = f"/v1/agents/{AGENT}/performance"
    assert api.get(path, other, params={"month": "2032-05"}).status_code == 404
    assert api.get(path, other, params={"month": "2032-05", "partner_id": seen.partner_id}).status_code == 404
    mine = _performance(api, seen, "2032-05")
    assert _performance(api, seen, "2032-05", BACKOFFICE, partner_id=seen.partner_id) == mine
    assert api.get("/v1/agents/NO-SUCH-AGENT/performance", seen.headers, params={"month": "2032-05"}).status_code == 404
    for params in ({"month": "2032-13"}, {"month": "May 2032"}, {}, {"month": "0000-01"}, {"month": "2017-12"}):
        response = api.get(path, seen.headers, params=params)
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["fields"]] == ["month"]


def test_the_evaluation_list(api: Api, runtime: LocalRuntime, seen: Seen) -> None:
    def listed(headers: dict[str, str], **params: str) -> list[dict[str, Any]]:
        return list(_get(api, "/v1/agents", headers, month="2032-05", **params)["items"])

    everyone = listed(seen.headers)
    share = seen.counts("2032-05")["active"] / len(seen.cohort)
    assert [(i["agent_code"], i["home_regency"], i["acquisitions_to_date"]) for i in everyone] == [
        (AGENT, "3273", 8),
        (NO_RECRUITS, "3273", 0),
        (OTHER_REGENCY, "3171", 1),
    ]
    assert [i["active_share"] for i in everyone] == [pytest.approx(share), None, 1.0]
    assert {i["partner_id"] for i in everyone} == {seen.partner_id}
    # The branch's evaluation: below the 70% target (an agent without recruits has no share).
    assert [i["agent_code"] for i in listed(seen.headers, below_active_share="0.7")] == [AGENT]
    assert [i["agent_code"] for i in listed(seen.headers, regency="3171")] == [OTHER_REGENCY]
    assert listed(seen.headers, below_active_share="0.7", regency="3171") == []
    # One at a time: the token walks the three agents and ends.
    codes, token = [], None
    for _ in range(5):
        page = _get(
            api, "/v1/agents", seen.headers, month="2032-05", limit="1", **({"next_token": token} if token else {})
        )
        codes += [i["agent_code"] for i in page["items"]]
        token = page["next_token"]
        if token is None:
            break
    assert codes == [AGENT, NO_RECRUITS, OTHER_REGENCY]
    # The back office: any partner's, or one partner's; another partner sees none of these.
    assert listed(BACKOFFICE, partner_id=seen.partner_id) == everyone
    other, _ = partner_key(runtime, f"rpt-other-{uuid.uuid4().hex[:6]}", ["enroll"], channel="agent_network")
    assert listed(other) == []
    for params in ({"month": "2032-05", "below_active_share": "1.5"}, {"month": "2032-05", "next_token": "bm9wZQ"}):
        response = api.get("/v1/agents", seen.headers, params=params)
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["fields"]] == [next(k for k in params if k != "month")]


def _statement_csv(api: Api, seen: Seen, month: str) -> list[dict[str, str]]:
    response = api.get(f"/v1/agents/{AGENT}/statement", {**seen.headers, "Accept": "text/csv"}, params={"month": month})
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    assert f"statement-{seen.partner_id}-{AGENT}-{month}.csv" in response.headers["Content-Disposition"]
    reader = csv.DictReader(io.StringIO(response.text))
    assert reader.fieldnames == [
        "kind",
        "key",
        "months",
        "dues",
        "commission",
        "enrolled",
        "active_after_3",
        "active_after_6",
        "active_after_12",
    ]
    return list(reader)


def test_the_statement_as_csv(api: Api, seen: Seen) -> None:
    rows = _statement_csv(api, seen, "2032-01")
    lines = [r for r in rows if r["kind"] == "recruit"]
    paid = sorted((pid, n, amount) for m, pid, amount, n in seen.paid if m == "2032-01" and pid in seen.cohort)
    assert [(r["key"], int(r["months"]), int(r["dues"])) for r in lines] == paid
    dues = seen.dues("2032-01")
    accrued = dues * 75 // 1000
    assert sum(int(r["commission"]) for r in lines) == accrued
    by_kind = {r["kind"]: r for r in rows if r["kind"] != "recruit" and r["kind"] != "cohort"}
    assert (int(by_kind["total"]["dues"]), int(by_kind["total"]["commission"])) == (dues, accrued)
    assert by_kind["total"]["months"] == "6"  # R1, R2, R6 one month each, R3 three
    assert by_kind["cooperative_share"]["key"] == "'" + COOPERATIVE  # kept as text, not a formula
    assert int(by_kind["cooperative_share"]["commission"]) == accrued // 10
    assert int(by_kind["payable"]["commission"]) == accrued - accrued // 10
    assert [(r["key"], r["enrolled"], r["active_after_3"]) for r in rows if r["kind"] == "cohort"] == [
        ("2032-01", "5", "")
    ]

    # April: R1's month, and the January recruits who paid one month only clawed back.
    april = {r["kind"]: r for r in _statement_csv(api, seen, "2032-04") if r["kind"] != "recruit"}
    accrued = seen.dues("2032-04") * 75 // 1000
    clawback = seen.clawback_base("2032-04") * 75 // 1000
    assert int(april["clawback"]["commission"]) == clawback
    assert int(april["payable"]["commission"]) == accrued - accrued // 10 + 0 - clawback


def test_the_statement_as_json(api: Api, seen: Seen) -> None:
    got = _get(api, f"/v1/agents/{AGENT}/statement", seen.headers, month="2032-05")
    assert (got["agent_code"], got["partner_id"], got["month"], got["cooperative"]) == (
        AGENT,
        seen.partner_id,
        "2032-05",
        COOPERATIVE,
    )
    assert [line["participant_id"] for line in got["lines"]] == [seen.ids["R1"]]
    totals = got["totals"]
    assert totals["dues"] == seen.dues("2032-05") and totals["clawback"] == seen.clawback_base("2032-05") * 75 // 1000
    assert totals["payable"] == totals["accrued"] - totals["cooperative_share"] + totals["bonus"] - totals["clawback"]
    assert got["cohorts"] == _performance(api, seen, "2032-05")["cohorts"]
    # The back office, naming the partner or not (it is the one partner with this code), sees the same.
    for params in ({"month": "2032-05", "partner_id": seen.partner_id}, {"month": "2032-05"}):
        assert api.get(f"/v1/agents/{AGENT}/statement", BACKOFFICE, params=params).json() == got
    assert api.get(f"/v1/agents/{AGENT}/statement", seen.headers, params={"month": "x"}).status_code == 422


def test_the_coverage_route_shape_and_scope(api: Api, runtime: LocalRuntime, seen: Seen) -> None:
    report = _get(api, "/v1/reports/coverage", seen.headers, month="2032-05", by="agent")
    assert set(report) >= {"month", "by", "rows", "totals"}
    rows = {row["key"]: row for row in report["rows"]}
    mine = f"{seen.partner_id}/{AGENT}"
    assert set(rows) == {mine, f"{seen.partner_id}/{OTHER_REGENCY}"}
    assert set(rows[mine]) >= {
        "key",
        "ever_enrolled",
        "active",
        "arrears",
        "lapsed",
        "new",
        "reactivated",
        "dues_collected",
        "claims_paid",
        "informal_workers",
        "coverage_ratio",
    }
    counts = seen.counts("2032-05")
    assert (rows[mine]["ever_enrolled"], rows[mine]["active"], rows[mine]["lapsed"]) == (
        8,
        counts["active"],
        counts["lapsed"],
    )
    assert rows[mine]["dues_collected"] == seen.dues("2032-05")
    assert report["totals"]["ever_enrolled"] == 9 and report["totals"]["informal_workers"] is None

    response = api.get(
        "/v1/reports/coverage", {**seen.headers, "Accept": "text/csv"}, params={"month": "2032-05", "by": "agent"}
    )
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == [
        "key",
        "ever_enrolled",
        "active",
        "arrears",
        "lapsed",
        "new",
        "reactivated",
        "dues_collected",
        "claims_paid_count",
        "claims_paid_amount",
        "informal_workers",
        "coverage_ratio",
    ]
    assert [line[0] for line in table[1:]] == sorted(rows) + ["TOTAL"]
    assert table[-1][1] == "9" and table[-1][10] == ""

    # A partner sees its own participants only; the back office the scheme (with the denominator).
    other, _ = partner_key(runtime, f"rpt-other-{uuid.uuid4().hex[:6]}", ["pay"], channel="retailer")
    theirs = _get(api, "/v1/reports/coverage", other, month="2032-05", by="agent")
    assert mine not in {row["key"] for row in theirs["rows"]}
    scheme = _get(api, "/v1/reports/coverage", BACKOFFICE, month="2032-05", by="agent")
    assert {row["key"]: row for row in scheme["rows"]}[mine] == rows[mine]
    assert scheme["totals"]["informal_workers"] is not None
    for params, name in (
        ({"month": "2032-5", "by": "agent"}, "month"),
        ({"month": "0000-05", "by": "agent"}, "month"),
        ({"month": "2032-05", "by": "village"}, "by"),
    ):
        bad = api.get("/v1/reports/coverage", seen.headers, params=params)
        assert bad.status_code == 422, bad.text
        assert [f["field"] for f in bad.json()["fields"]] == [name]
