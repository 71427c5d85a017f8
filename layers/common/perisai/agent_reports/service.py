"""Agent reports: an agent's performance and monthly statement, and the evaluation list.

Who sees what: a partner (scope enroll) sees its own agents; the back office any partner's, by
``partner_id`` (default: itself; for the list: every partner). Another partner's agent is
reported absent (404), as in the registry. Figures come from the aggregator's counters (a few
key reads); the fraud signals read the agent's recruits (one index query, profiles in batches).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from perisai.agent_reports.models import (
    Acquisitions,
    AgentList,
    AgentListItem,
    AgentPerformance,
    AgentStatement,
    CohortRow,
    CommissionView,
    FraudSignal,
    RecruitStandings,
    StatementLine,
    StatementTotals,
)
from perisai.agents.models import StoredAgent
from perisai.agents.service import owner_of
from perisai.coverage.repository import counter_partition
from perisai.domain import agent_performance as perf
from perisai.domain import coverage as rules
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.errors import NotFound
from perisai.participants.models import Participant

# The evaluation list reads at most this many registry agents per request (a filter that keeps
# few of them answers a short page with a next_token rather than reading the whole registry).
MAX_EXAMINED = 5000


class AgentDirectory(Protocol):
    def get(self, partner_id: str, agent_code: str) -> StoredAgent | None: ...

    def partners_with_code(self, agent_code: str, at_most: int = 10) -> list[str]: ...


class ReportStore(Protocol):
    def agents_page(
        self, partner_id: str | None, after_sk: str | None, limit: int
    ) -> tuple[list[tuple[str, StoredAgent]], bool]: ...

    def counters_of(self, partition: str, keys: Sequence[str], upto: DuesMonth) -> dict[str, dict[str, int]]: ...

    def recruit_ids(self, partner_id: str, agent_code: str) -> Iterator[str]: ...


class Counters(Protocol):
    def counter(self, partition: str, key: str, upto: DuesMonth) -> dict[str, int]: ...

    def agent_lines(self, agent: str, month: str) -> Iterator[tuple[str, int, int]]: ...


class Profiles(Protocol):
    def batch_get(self, participant_ids: Sequence[str]) -> dict[str, Participant]: ...


def cohort_rows(table: Iterable[perf.CohortRetention]) -> list[CohortRow]:
    return [
        CohortRow(
            cohort=c.cohort,
            enrolled=c.enrolled,
            active_after_3=c.active_after[3],
            active_after_6=c.active_after[6],
            active_after_12=c.active_after[12],
        )
        for c in table
    ]


def recruit_of(participant: Participant) -> perf.Recruit:
    return perf.Recruit(
        participant_id=participant.participant_id,
        phone=participant.phone,
        regency=participant.regency,
        recruited_at=participant.recruited_by.at,
        status=participant.status,
        first_dues_month=participant.first_dues_month,
        covered_through=participant.covered_through,
    )


def encode_token(sort_key: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"after": sort_key}).encode()).decode().rstrip("=")


def decode_token(token: str, partner_id: str | None) -> str:
    """The registry sort key a next_token continues after (422 naming next_token otherwise)."""
    try:
        document = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        after = document["after"]
    except (binascii.Error, ValueError, KeyError, TypeError):
        after = None
    if not isinstance(after, str) or "#" not in after or (partner_id and not after.startswith(f"{partner_id}#")):
        raise DomainValidationError.single("next_token", "not a next_token this list gave")
    return after


@dataclass
class AgentReports:
    agents: AgentDirectory
    store: ReportStore
    counters: Counters
    profiles: Profiles
    book: perf.CommissionBook

    def _agent(self, agent_code: str, partner: Partner, partner_id: str | None) -> StoredAgent:
        agent = self.agents.get(owner_of(partner_id, partner, agent_code, self.agents), agent_code)
        if agent is None:
            raise NotFound("agent")
        return agent

    def _policies(self, month: DuesMonth) -> tuple[perf.CommissionPolicy, perf.FraudPolicy]:
        try:
            return self.book.commission_in(month), self.book.fraud_in(month)
        except ValueError:
            raise DomainValidationError.single("month", "before the first agent commission policy") from None

    def _values(self, agent: StoredAgent, month: DuesMonth) -> dict[str, int]:
        key = rules.agent_key(agent.partner_id, agent.agent_code)
        return self.counters.counter(counter_partition("agent", None), key, month)

    def performance(
        self, agent_code: str, month: DuesMonth, partner: Partner, partner_id: str | None
    ) -> AgentPerformance:
        policy, thresholds = self._policies(month)
        agent = self._agent(agent_code, partner, partner_id)
        figures = perf.agent_figures(self._values(agent, month), month, policy, has_cooperative=bool(agent.cooperative))
        ids = list(self.store.recruit_ids(agent.partner_id, agent.agent_code))
        recruits = [recruit_of(p) for p in self.profiles.batch_get(ids).values()]
        signals = perf.fraud_signals(recruits, month, agent.home_regency, thresholds)
        c = figures.commission
        return AgentPerformance(
            agent_code=agent.agent_code,
            month=str(month),
            acquisitions=Acquisitions(month=figures.acquisitions_month, to_date=figures.acquisitions_to_date),
            recruits=RecruitStandings(**figures.recruits),
            active_share=figures.active_share,
            cohorts=cohort_rows(figures.cohorts),
            dues_collected=figures.dues_collected,
            commission=CommissionView(
                accrued=c.accrued, cooperative_share=c.cooperative_share, bonus=c.bonus, clawback=c.clawback
            ),
            fraud_signals=[
                FraudSignal(signal=s.signal, detail=s.detail, participant_ids=list(s.participant_ids)) for s in signals
            ],
        )

    def statement(self, agent_code: str, month: DuesMonth, partner: Partner, partner_id: str | None) -> AgentStatement:
        policy, _ = self._policies(month)
        agent = self._agent(agent_code, partner, partner_id)
        values = self._values(agent, month)
        key = rules.agent_key(agent.partner_id, agent.agent_code)
        paid = sorted((pid, amount, months) for pid, amount, months in self.counters.agent_lines(key, str(month)))
        paid = [line for line in paid if line[1] or line[2]]  # a payment and its reversal in the month
        shares = perf.line_commissions([amount for _, amount, _ in paid], policy.incentive_rate)
        lines = [
            StatementLine(participant_id=pid, months=months, dues=amount, commission=share)
            for (pid, amount, months), share in zip(paid, shares, strict=True)
        ]
        c = perf.commission(values, month, policy, has_cooperative=bool(agent.cooperative))
        return AgentStatement(
            agent_code=agent.agent_code,
            partner_id=agent.partner_id,
            month=str(month),
            cooperative=agent.cooperative,
            lines=lines,
            totals=StatementTotals(
                months=sum(line.months for line in lines),
                dues=rules.figures(values, month).flows["dues"],
                accrued=c.accrued,
                cooperative_share=c.cooperative_share,
                bonus=c.bonus,
                clawback=c.clawback,
                payable=c.payable,
            ),
            cohorts=cohort_rows(perf.cohort_table(values, month)),
        )

    def evaluation(
        self,
        month: DuesMonth,
        partner: Partner,
        partner_id: str | None,
        below_active_share: float | None,
        regency: str | None,
        limit: int,
        next_token: str | None,
    ) -> AgentList:
        """Registered agents (active or not) in registry order with their figures for ``month``,
        filtered: ``below_active_share`` keeps agents whose share is below it (an agent without a
        share is left out), ``regency`` those whose home regency it is."""
        if partner.is_backoffice:
            scope = partner_id  # None: every partner's agents
        elif partner_id in (None, partner.partner_id):
            scope = partner.partner_id
        else:
            raise NotFound("partner")
        after = decode_token(next_token, scope) if next_token else None
        partition = counter_partition("agent", scope)
        items: list[AgentListItem] = []
        examined = 0
        while True:
            page, more = self.store.agents_page(scope, after, limit)
            counters = self.store.counters_of(
                partition, [rules.agent_key(a.partner_id, a.agent_code) for _, a in page], month
            )
            for sort_key, agent in page:
                examined += 1
                after = sort_key
                values = counters.get(rules.agent_key(agent.partner_id, agent.agent_code), {})
                figures = rules.figures(values, month)
                share = perf.active_share(figures)
                if regency is not None and agent.home_regency != regency:
                    continue
                if below_active_share is not None and (share is None or share >= below_active_share):
                    continue
                items.append(
                    AgentListItem(
                        agent_code=agent.agent_code,
                        partner_id=agent.partner_id,
                        home_regency=agent.home_regency,
                        active_share=share,
                        acquisitions_to_date=figures.ever_enrolled,
                    )
                )
                if len(items) == limit:
                    break
            last_of_page = not page or after == page[-1][0]
            if len(items) == limit or examined >= MAX_EXAMINED or not more:
                has_more = more or not last_of_page
                return AgentList(items=items, next_token=encode_token(after) if has_more and after else None)
