"""The agent reports service over in-memory stores: who sees what, the evaluation list's filters
and pages, the statement's lines and totals. No AWS, no mocks of boto3."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta, timezone

import pytest

from perisai.agent_reports.service import MAX_EXAMINED, AgentReports, decode_token, encode_token
from perisai.agents.models import StoredAgent
from perisai.domain import agent_performance as perf
from perisai.domain import coverage as rules
from perisai.domain.agents import agent_sort_key
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.errors import NotFound
from perisai.participants.models import Participant

WIB = timezone(timedelta(hours=7))
NOW = datetime(2026, 1, 2, tzinfo=UTC)
P1 = Partner("p1", "agent_network", frozenset({"enroll"}))
P2 = Partner("p2", "agent_network", frozenset({"enroll"}))
BACK = Partner("bo", "back_office", frozenset({"enroll", "backoffice"}))
MARCH = DuesMonth(2026, 3)


def agent(partner: str, code: str, regency: str = "3273", cooperative: str | None = None) -> StoredAgent:
    return StoredAgent(
        agent_code=code, partner_id=partner, name="x", phone="+6281200000000", home_regency=regency,
        cooperative=cooperative, status="active", status_reason="registered", registered_at=NOW, updated_at=NOW,
        last_activity_month="2026-01",
    )


def share_values(active: int, enrolled: int) -> dict[str, int]:
    return {"2026-01|new": enrolled, "2026-01|active": active, "2026-01|pending_payment": enrolled - active}


class Store:
    """Registry, counters, lines and profiles in memory; counts the registry pages read."""

    def __init__(self) -> None:
        self.registry: dict[str, StoredAgent] = {}
        self.counters: dict[tuple[str, str], dict[str, int]] = {}
        self.lines: dict[tuple[str, str], list[tuple[str, int, int]]] = {}
        self.pages = 0

    def add(self, a: StoredAgent, values: dict[str, int] | None = None) -> None:
        self.registry[agent_sort_key(a.partner_id, a.agent_code)] = a
        if values is not None:
            key = rules.agent_key(a.partner_id, a.agent_code)
            self.counters[("AGG#ALL#agent", key)] = values
            self.counters[(f"AGG#PARTNER#{a.partner_id}#agent", key)] = values

    # AgentDirectory
    def get(self, partner_id: str, agent_code: str) -> StoredAgent | None:
        return self.registry.get(agent_sort_key(partner_id, agent_code))

    # ReportStore
    def agents_page(
        self, partner_id: str | None, after_sk: str | None, limit: int
    ) -> tuple[list[tuple[str, StoredAgent]], bool]:
        self.pages += 1
        keys = sorted(k for k in self.registry if partner_id is None or k.startswith(f"{partner_id}#"))
        keys = [k for k in keys if after_sk is None or k > after_sk]
        return [(k, self.registry[k]) for k in keys[:limit]], len(keys) > limit

    def counters_of(self, partition: str, keys: Sequence[str], upto: DuesMonth) -> dict[str, dict[str, int]]:
        return {k: self.counters[(partition, k)] for k in keys if (partition, k) in self.counters}

    def recruit_ids(self, partner_id: str, agent_code: str) -> Iterator[str]:
        return iter(())

    # Counters
    def counter(self, partition: str, key: str, upto: DuesMonth) -> dict[str, int]:
        return self.counters.get((partition, key), {})

    def agent_lines(self, agent: str, month: str) -> Iterator[tuple[str, int, int]]:
        return iter(self.lines.get((agent, month), []))

    # Profiles
    def batch_get(self, participant_ids: Sequence[str]) -> dict[str, Participant]:
        return {}


def service(store: Store) -> AgentReports:
    return AgentReports(store, store, store, store, perf.CommissionBook.packaged())


@pytest.fixture
def store() -> Store:
    s = Store()
    s.add(agent("p1", "A-01", "3273"), share_values(9, 10))
    s.add(agent("p1", "A-02", "3273"), share_values(5, 10))
    s.add(agent("p1", "A-03", "3171"), share_values(6, 10))
    s.add(agent("p1", "A-04", "3273"))  # no recruits yet: no share
    s.add(agent("p2", "B-01", "3273"), share_values(1, 10))
    return s


def codes(page: object) -> list[str]:
    return [i.agent_code for i in page.items]  # type: ignore[attr-defined]  # an AgentList


def test_a_partner_lists_its_own_agents_the_back_office_every_partners(store: Store) -> None:
    svc = service(store)
    assert codes(svc.evaluation(MARCH, P1, None, None, None, 100, None)) == ["A-01", "A-02", "A-03", "A-04"]
    assert codes(svc.evaluation(MARCH, BACK, None, None, None, 100, None)) == ["A-01", "A-02", "A-03", "A-04", "B-01"]
    assert codes(svc.evaluation(MARCH, BACK, "p2", None, None, 100, None)) == ["B-01"]
    with pytest.raises(NotFound):
        svc.evaluation(MARCH, P1, "p2", None, None, 100, None)
    first = svc.evaluation(MARCH, P1, None, None, None, 100, None).items[0]
    assert (first.active_share, first.acquisitions_to_date, first.home_regency) == (0.9, 10, "3273")


def test_filters_leave_out_agents_without_a_share(store: Store) -> None:
    svc = service(store)
    assert codes(svc.evaluation(MARCH, BACK, None, 0.7, None, 100, None)) == ["A-02", "A-03", "B-01"]
    assert codes(svc.evaluation(MARCH, BACK, None, 0.7, "3273", 100, None)) == ["A-02", "B-01"]
    assert codes(svc.evaluation(MARCH, P1, None, None, "3171", 100, None)) == ["A-03"]
    assert codes(svc.evaluation(MARCH, P1, None, 0.6, None, 100, None)) == ["A-02"]  # 0.6 is not below 0.6


def test_pages_follow_the_token_to_the_end(store: Store) -> None:
    svc = service(store)
    seen: list[str] = []
    token = None
    for _ in range(10):
        page = svc.evaluation(MARCH, BACK, None, 0.7, None, 1, token)
        seen += codes(page)
        token = page.next_token
        if token is None:
            break
    assert seen == ["A-02", "A-03", "B-01"]
    # A partner cannot continue a token into another partner's agents.
    with pytest.raises(DomainValidationError) as caught:
        svc.evaluation(MARCH, P2, None, None, None, 1, encode_token("p1#A-01"))
    assert caught.value.field_names == ["next_token"]
    for bad in ("%%%", "eyJ4IjogMX0", encode_token("no-hash")):
        with pytest.raises(DomainValidationError):
            decode_token(bad, None)


def test_a_filter_that_keeps_few_agents_reads_a_bounded_part_of_the_registry() -> None:
    s = Store()
    for i in range(MAX_EXAMINED + 50):
        s.add(agent("p1", f"X-{i:05d}"), share_values(10, 10))
    s.add(agent("p1", "Z-00001"), share_values(1, 10))
    page = service(s).evaluation(MARCH, P1, None, 0.5, None, 100, None)
    assert page.items == [] and page.next_token is not None
    assert s.pages == MAX_EXAMINED // 100
    rest = service(s).evaluation(MARCH, P1, None, 0.5, None, 100, page.next_token)
    assert codes(rest) == ["Z-00001"] and rest.next_token is None


def test_a_month_before_the_first_policy_is_refused(store: Store) -> None:
    for call in (service(store).performance, service(store).statement):
        with pytest.raises(DomainValidationError) as caught:
            call("A-01", DuesMonth(2017, 12), P1, None)
        assert caught.value.field_names == ["month"]


def test_another_partners_agent_is_absent(store: Store) -> None:
    svc = service(store)
    with pytest.raises(NotFound):
        svc.performance("B-01", MARCH, P1, None)
    with pytest.raises(NotFound):
        svc.performance("B-01", MARCH, P1, "p2")
    with pytest.raises(NotFound):
        svc.performance("NOPE", MARCH, P1, None)
    assert svc.performance("b-01", MARCH, BACK, "p2").agent_code == "B-01"


def test_statement_lines_add_up_to_the_totals() -> None:
    s = Store()
    s.add(
        agent("p1", "A-01", cooperative="Koperasi Maju"),
        {"2026-03|new": 3, "2026-03|active": 3, "2026-03|dues": 15_900 * 2 + 47_700},
    )
    s.lines[("p1/A-01", "2026-03")] = [("PST-B", 47_700, 3), ("PST-A", 15_900, 1), ("PST-C", 15_900, 1), ("PST-D", 0, 0)]
    st = service(s).statement("a-01", MARCH, P1, None)
    assert [(line.participant_id, line.months, line.dues) for line in st.lines] == [
        ("PST-A", 1, 15_900),
        ("PST-B", 3, 47_700),
        ("PST-C", 1, 15_900),
    ]
    assert sum(line.commission for line in st.lines) == st.totals.accrued == 79_500 * 75 // 1000
    assert st.totals.cooperative_share == st.totals.accrued // 10
    assert st.totals.payable == st.totals.accrued - st.totals.cooperative_share
    assert (st.totals.months, st.totals.dues, st.cooperative) == (5, 79_500, "Koperasi Maju")
    assert [(c.cohort, c.enrolled) for c in st.cohorts] == [("2026-03", 3)]
