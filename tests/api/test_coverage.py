"""Coverage counters and the coverage report, through the real handlers (issue 14).

Six months of one partner's history (enrollments through an agent and without one, payments,
arrears and lapse by the daily job, a reactivation, a death claim paid out). At the end of each
month the test reads every participant through GET /v1/participants/{id} and counts, itself,
who is active (paid through the month), in arrears, lapsed; it counts new enrollments, dues and
claims from what it did. At the end the coverage report of every month and dimension must equal
those counts. The months are in 2030, where no other test's participant is due, so the status
job moves only this test's participants.
"""

from __future__ import annotations

import json
import random
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
from botocore.client import BaseClient

from tests.api.conftest import (
    BACKOFFICE,
    Api,
    enrollment,
    make_nik,
    partner_key,
    pay_by_midtrans,
    register_agent,
    run_status_job,
    scan_all,
    standing_at_month_end,
)

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

DIMENSIONS = ("province", "regency", "channel", "agent", "sector")
MONTHS = ("2030-01", "2030-02", "2030-03", "2030-04", "2030-05", "2030-06")
FIGURES = ("ever_enrolled", "active", "arrears", "lapsed", "new", "reactivated", "dues_collected")


class History:
    """What the test did and saw, counted by the test itself."""

    def __init__(self, partner_id: str, agent_code: str) -> None:
        self.partner_id = partner_id
        self.agent = f"{partner_id}/{agent_code}"
        self.keys: dict[str, dict[str, str]] = {}  # participant -> dimension -> row key
        self.new: Counter[tuple[str, str]] = Counter()  # (month, participant)
        self.dues: Counter[tuple[str, str]] = Counter()
        self.reactivated: Counter[tuple[str, str]] = Counter()
        self.claims: Counter[tuple[str, str]] = Counter()
        self.claims_amount: Counter[tuple[str, str]] = Counter()
        self.standing: dict[str, dict[str, str]] = defaultdict(dict)  # month -> participant -> standing

    def expected(self, by: str, month: str) -> dict[str, dict[str, int]]:
        rows: dict[str, Counter[str]] = defaultdict(Counter)
        for pid, keys in self.keys.items():
            row = rows[keys[by]]
            row["ever_enrolled"] += sum(n for (m, p), n in self.new.items() if p == pid and m <= month)
            row["new"] += self.new[(month, pid)]
            row["dues_collected"] += self.dues[(month, pid)]
            row["reactivated"] += self.reactivated[(month, pid)]
            row["claims_count"] += self.claims[(month, pid)]
            row["claims_amount"] += self.claims_amount[(month, pid)]
            standing = self.standing[month].get(pid)
            if standing in ("active", "arrears", "lapsed"):
                row[standing] += 1
        return {key: dict(row) for key, row in rows.items()}


def _report(api: Api, headers: dict[str, str], by: str, month: str) -> dict[str, Any]:
    response = api.get("/v1/reports/coverage", headers, params={"month": month, "by": by})
    assert response.status_code == 200, response.text
    return dict(response.json())


def _figures(row: dict[str, Any]) -> dict[str, int]:
    got = {name: row[name] for name in FIGURES}
    got["claims_count"] = row["claims_paid"]["count"]
    got["claims_amount"] = row["claims_paid"]["amount"]
    return {k: v for k, v in got.items() if v}


@pytest.fixture(scope="module")
def history(api: Api, runtime: LocalRuntime) -> Iterator[tuple[History, dict[str, str]]]:
    partner_id = f"cov-{uuid.uuid4().hex[:8]}"
    headers, _ = partner_key(runtime, partner_id, ["enroll", "pay", "claims"], channel="agent_network")
    seen = History(partner_id, "AG-COV")

    def clock(instant: str) -> None:
        assert api.put("/_local/clock", {"now": instant}).status_code == 200

    def enroll(name: str, region: str, sector: str, agent: bool, month: str) -> str:
        birth = date(1985, 3, 9)
        nik = make_nik(birth, "M", region=region)
        extra = {"agent_code": "ag-cov"} if agent else {}
        body = enrollment(nik=nik, birth=birth, sector=sector, full_name=name, **extra)
        response = api.enroll(body, headers)
        assert response.status_code == 201, response.text
        pid = str(response.json()["participant_id"])
        seen.keys[pid] = {
            "province": region[:2],
            "regency": region[:4],
            "channel": "agent_network",
            "agent": seen.agent if agent else "none",
            "sector": sector,
        }
        seen.new[(month, pid)] += 1
        return pid

    def pay(pid: str, month: str, months: int = 1) -> None:
        seen.dues[(month, pid)] += pay_by_midtrans(api, pid, months, headers=headers)["amount"]

    def snapshot(month: str) -> None:
        api.post("/_local/drain")
        for pid in seen.keys:
            view = api.get(f"/v1/participants/{pid}", headers).json()
            seen.standing[month][pid] = standing_at_month_end(view, month)

    try:
        clock("2030-01-04T09:00:00+07:00")
        register_agent(api, headers, "AG-COV", home_regency="3273")
        clock("2030-01-05T10:00:00+07:00")
        w1 = enroll("Asep", "327301", "transport", True, "2030-01")
        w2 = enroll("Dedi", "327301", "other", True, "2030-01")
        w3 = enroll("Joko", "317101", "transport", True, "2030-01")
        enroll("Rina", "317101", "other", False, "2030-01")  # never pays
        w5 = enroll("Budi", "357801", "transport", False, "2030-01")
        pay(w1, "2030-01")
        pay(w2, "2030-01")
        pay(w3, "2030-01", 3)  # January to March
        pay(w5, "2030-01")
        run_status_job(api, "2030-01-16T00:30:00+07:00")
        snapshot("2030-01")

        clock("2030-02-05T10:00:00+07:00")
        pay(w1, "2030-02")
        w6 = enroll("Eko", "327301", "transport", True, "2030-02")
        pay(w6, "2030-02")
        run_status_job(api, "2030-02-16T00:30:00+07:00")
        snapshot("2030-02")

        clock("2030-03-05T10:00:00+07:00")
        pay(w1, "2030-03")
        # Joko died on 4 March: his heirs claim JKM, which ends his participation; paid out.
        claim = api.post(
            "/v1/claims",
            {
                "participant_id": w3,
                "type": "JKM",
                "incident_date": "2030-03-04",
                "heir": {"name": "Sri", "relationship": "spouse", "phone": "0813-7777-0001"},
            },
            headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
        )
        assert claim.status_code == 201, claim.text
        claim_id = claim.json()["claim_id"]
        decided = api.post(f"/v1/claims/{claim_id}/decision", {"decision": "approve", "reason": "ok"}, BACKOFFICE)
        assert decided.status_code == 200, decided.text
        clock("2030-03-10T10:00:00+07:00")
        payout = {"transfer_reference": "BRI-2030-0001", "paid_at": "2030-03-10T10:00:00+07:00"}
        paid = api.post(f"/v1/claims/{claim_id}/payout", payout, BACKOFFICE)
        assert paid.status_code == 200, paid.text
        seen.claims[("2030-03", w3)] += 1
        seen.claims_amount[("2030-03", w3)] += int(paid.json()["benefit"]["total"])
        run_status_job(api, "2030-03-16T00:30:00+07:00")
        snapshot("2030-03")

        clock("2030-04-05T10:00:00+07:00")
        pay(w1, "2030-04")
        run_status_job(api, "2030-04-16T00:30:00+07:00")  # Rina, who never paid, lapses
        snapshot("2030-04")

        clock("2030-05-05T10:00:00+07:00")
        pay(w1, "2030-05")
        run_status_job(api, "2030-05-16T00:30:00+07:00")  # Dedi and Budi lapse
        snapshot("2030-05")

        clock("2030-06-03T10:00:00+07:00")
        before = api.get(f"/v1/participants/{w2}", headers).json()["status"]
        assert before == "lapsed"
        pay(w2, "2030-06")  # Dedi comes back
        pay(w1, "2030-06")
        seen.reactivated[("2030-06", w2)] += 1
        run_status_job(api, "2030-06-16T00:30:00+07:00")  # Eko lapses
        snapshot("2030-06")
        yield seen, headers
    finally:
        api.delete("/_local/clock")


def test_the_history_is_what_the_test_meant_to_build(history: tuple[History, dict[str, str]]) -> None:
    """Guards the scenario itself: each kind of figure is exercised (else a report could match by accident)."""
    seen, _ = history
    june = Counter(seen.standing["2030-06"].values())
    assert june == {"active": 2, "lapsed": 3, "ended": 1}, june
    assert Counter(seen.standing["2030-02"].values())["arrears"] == 2
    assert sum(seen.reactivated.values()) == 1 and sum(seen.claims.values()) == 1


@pytest.mark.parametrize("by", DIMENSIONS)
def test_every_month_of_the_partners_report_equals_what_the_test_counted(
    api: Api, history: tuple[History, dict[str, str]], by: str
) -> None:
    seen, headers = history
    for month in MONTHS:
        report = _report(api, headers, by, month)
        assert (report["month"], report["by"]) == (month, by)
        got = {row["key"]: _figures(row) for row in report["rows"]}
        expected = {k: {n: v for n, v in row.items() if v} for k, row in seen.expected(by, month).items()}
        assert got == {k: v for k, v in expected.items() if v}, (month, by)
        totals = _figures(report["totals"])
        summed: Counter[str] = Counter()
        for row in expected.values():
            summed.update(row)
        assert totals == {k: v for k, v in summed.items() if v}, (month, by)
        # A partner's own report has no denominator: its participants are not a region's workers.
        assert report["totals"]["informal_workers"] is None and report["totals"]["coverage_ratio"] is None


def test_the_back_office_sees_the_agents_row_and_the_national_denominator(
    api: Api, history: tuple[History, dict[str, str]]
) -> None:
    seen, _ = history
    report = _report(api, BACKOFFICE, "agent", "2030-06")
    rows = {row["key"]: row for row in report["rows"]}
    assert _figures(rows[seen.agent]) == {k: v for k, v in seen.expected("agent", "2030-06")[seen.agent].items() if v}
    assert report["totals"]["informal_workers"] == 84_130_000
    assert report["totals"]["coverage_ratio"] == pytest.approx(report["totals"]["active"] / 84_130_000)
    assert report["totals"]["coverage_ratio"] > 0
    assert "Sakernas" in report["denominator_source"]
    by_province = _report(api, BACKOFFICE, "province", "2030-06")
    # No public per-province figure is shipped: null, never guessed.
    assert all(row["informal_workers"] is None and row["coverage_ratio"] is None for row in by_province["rows"])


def test_the_report_as_csv(api: Api, history: tuple[History, dict[str, str]]) -> None:
    seen, headers = history
    response = api.get(
        "/v1/reports/coverage", {**headers, "Accept": "text/csv"}, params={"month": "2030-06", "by": "regency"}
    )
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = response.text.strip().splitlines()
    assert lines[0] == (
        "key,ever_enrolled,active,arrears,lapsed,new,reactivated,dues_collected,"
        "claims_paid_count,claims_paid_amount,informal_workers,coverage_ratio"
    )
    rows = {line.split(",")[0]: line.split(",") for line in lines[1:]}
    expected = seen.expected("regency", "2030-06")
    assert set(rows) == {*expected, "TOTAL"}
    assert int(rows["3273"][2]) == expected["3273"].get("active", 0)
    assert int(rows["TOTAL"][1]) == sum(row.get("ever_enrolled", 0) for row in expected.values())


def _events_of(runtime: LocalRuntime, participant_ids: set[str]) -> list[dict[str, Any]]:
    """Every domain event about these participants, as the event archive would replay them."""
    items = scan_all(
        runtime, FilterExpression="entity = :outbox", ExpressionAttributeValues={":outbox": {"S": "outbox"}}
    )
    events = []
    for item in items:
        detail = json.loads(item["detail"]["S"])
        if detail.get("participant_id") in participant_ids:
            events.append({"id": str(uuid.uuid4()), "detail-type": item["detail_type"]["S"], "detail": detail})
    return events


def _counters(runtime: LocalRuntime, table: str, partitions: list[str]) -> dict[tuple[str, str], dict[str, int]]:
    """Each key's counters in these partitions (a counter partition's yearly items merged)."""
    client = runtime.cloud.client("dynamodb")
    found: dict[tuple[str, str], dict[str, int]] = {}
    for partition in partitions:
        yearly = [partition] if "AGENTLINES" in partition else [f"{partition}#{y}" for y in range(2026, 2031)]
        for pk in yearly:
            items = client.query(
                TableName=table, KeyConditionExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": pk}}
            )["Items"]
            for item in items:
                # A count that went up and back down is stored as 0: the same counter as none.
                values = {k: int(v["N"]) for k, v in item.items() if "|" in k or k in ("dues", "months")}
                found.setdefault((partition, item["sk"]["S"]), {}).update({k: n for k, n in values.items() if n})
    return found


def test_replaying_every_event_twice_changes_no_counter_and_a_replay_into_an_empty_table_rebuilds_them(
    api: Api, runtime: LocalRuntime, history: tuple[History, dict[str, str]]
) -> None:
    from perisai.coverage.models import EventEnvelope
    from perisai.coverage.repository import CoverageRepository
    from perisai.coverage.service import Aggregator

    seen, _ = history
    table = runtime.outputs()["ParticipantsTableName"]
    partitions = [f"AGG#PARTNER#{seen.partner_id}#{by}" for by in DIMENSIONS]
    partitions += [f"AGG#AGENTLINES#{seen.agent}#{month}" for month in MONTHS]
    before = _counters(runtime, table, partitions)
    agent_row = _counters(runtime, table, ["AGG#ALL#agent"])[("AGG#ALL#agent", seen.agent)]
    assert before
    events = _events_of(runtime, set(seen.keys))
    kinds = Counter(e["detail-type"] for e in events)
    assert {"ParticipantEnrolled", "ContributionReceived", "ParticipantLapsed", "ClaimPaid"} <= set(kinds), kinds

    # Twice, through the aggregator's queue and the real function, as a replay from the archive.
    sqs = runtime.cloud.client("sqs")
    queue_url = next(url for url in sqs.list_queues()["QueueUrls"] if "AggregatorQueue" in url)
    for _ in range(2):
        for event in events:
            sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(event))
        api.post("/_local/drain")
    assert _counters(runtime, table, partitions) == before

    # Into an empty table, in a shuffled order, twice: the same counters.
    client = runtime.cloud.client("dynamodb")
    rebuilt = f"coverage-rebuild-{uuid.uuid4().hex[:8]}"
    client.create_table(
        TableName=rebuilt,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        aggregator = Aggregator(CoverageRepository(rebuilt, client))
        shuffled = events * 2
        random.Random(14).shuffle(shuffled)
        outcomes = Counter(aggregator.apply(EventEnvelope.model_validate(e)) for e in shuffled)
        assert outcomes == {"applied": len(events), "duplicate": len(events)}
        assert _counters(runtime, rebuilt, partitions) == before
        assert _counters(runtime, rebuilt, ["AGG#ALL#agent"])[("AGG#ALL#agent", seen.agent)] == agent_row
    finally:
        client.delete_table(TableName=rebuilt)


# -- the read cost of a report ----------------------------------------------------------------------

SEEDED = 10_000


@contextmanager
def dynamodb_calls(table: str) -> Iterator[list[tuple[str, dict[str, Any]]]]:
    """Every DynamoDB call on ``table`` made in this process (the handlers run in it)."""
    calls: list[tuple[str, dict[str, Any]]] = []
    original: Callable[..., Any] = BaseClient._make_api_call

    def recording(self: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if self.meta.service_model.service_name == "dynamodb" and table in json.dumps(params):
            calls.append((operation, params))
        return original(self, operation, params)

    BaseClient._make_api_call = recording  # type: ignore[method-assign]  # the test's own call recorder
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]  # restored


def test_a_report_over_ten_thousand_participants_is_a_few_reads_and_none_per_participant(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    """The counters of 10,000 participants over 500 regencies, seeded as the aggregator keeps them
    (the sum of each participant's contribution; its own transactions would take minutes in the
    emulator, and 10,000 more items would slow every later test's transactions). Their records
    are left out: the report cannot read them, which the recorded calls show."""
    from perisai.coverage.service import placements
    from perisai.domain import coverage as rules
    from perisai.domain.months import DuesMonth

    partner_id = f"load-{uuid.uuid4().hex[:8]}"
    headers, _ = partner_key(runtime, partner_id, ["enroll", "pay"], channel="agent_network")
    table = runtime.outputs()["ParticipantsTableName"]
    regencies = [f"{11 + i // 20:02d}{1 + i % 20:02d}" for i in range(500)]
    counters: dict[tuple[str, str], Counter[str]] = defaultdict(Counter)
    active_by_regency: Counter[str] = Counter()
    for n in range(SEEDED):
        regency = regencies[n % len(regencies)]
        months = 6 if n % 3 else 4  # two in three paid through June, the others through April
        if n % 3:
            active_by_regency[regency] += 1
        dims = rules.Dimensions(partner_id, "agent_network", "transport", regency, None)
        facts = (
            rules.Fact(f"e{n}", "enrolled", _noon("2030-01-05"), first_enrollment=True),
            rules.Fact(
                f"p{n}",
                "paid",
                _noon("2030-01-06"),
                "active",
                f"2030-{months:02d}",
                amount=16_800 * months,
                months=months,
                covered_known=True,
            ),
        )
        record = rules.Record(f"PST-LOAD{n:08d}", dims, facts)
        for key, counts in placements(dims, rules.contribution(record)).items():
            if key[0].startswith("AGG#PARTNER#"):
                for (month, name), value in counts.items():
                    counters[key][rules.counter_attribute(month, name)] += value
    client = runtime.cloud.client("dynamodb")
    writes = [
        {"PutRequest": {"Item": _item({"pk": f"{pk}#2030", "sk": sk, **dict(values)})}}
        for (pk, sk), values in counters.items()
    ]
    for start in range(0, len(writes), 25):
        client.batch_write_item(RequestItems={table: writes[start : start + 25]})

    frozen_clock("2030-07-01T10:00:00+07:00")  # counters are read up to 2 years after today
    with dynamodb_calls(table) as calls:
        report = _report(api, headers, "regency", "2030-06")
    assert len(report["rows"]) == len(regencies)
    assert {row["key"]: row["active"] for row in report["rows"]} == dict(active_by_regency)
    assert report["totals"]["ever_enrolled"] == SEEDED
    assert report["totals"]["active"] == sum(active_by_regency.values())
    operations = Counter(operation for operation, _ in calls)
    assert "Scan" not in operations and "BatchGetItem" not in operations and "GetItem" not in operations, operations
    assert set(operations) == {"Query"}, operations
    # One Query per yearly item partition since the counters began (2026 to 2030), whatever the
    # number of participants; 2030's 500 rows fit one 1 MB page.
    read = [params["ExpressionAttributeValues"][":pk"]["S"] for _, params in calls]
    assert read == [f"AGG#PARTNER#{partner_id}#regency#{year}" for year in range(2026, 2031)], read
    assert DuesMonth.parse(report["month"]) == DuesMonth.parse("2030-06")


def _noon(day: str) -> Any:
    from datetime import datetime, timedelta, timezone

    y, m, d = (int(x) for x in day.split("-"))
    return datetime(y, m, d, 12, tzinfo=timezone(timedelta(hours=7)))


def _item(plain: dict[str, Any]) -> dict[str, Any]:
    from perisai.dynamo import to_item

    return to_item(plain)
