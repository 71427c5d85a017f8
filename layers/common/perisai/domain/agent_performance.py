"""Agen Perisai performance, commission and fraud signals (pure rules: no AWS, no clock).

The figures come from the agent's counter item (``perisai.domain.coverage``: attributes
``YYYY-MM|<field>``), the commission rates and the signal thresholds from the policy book
``data/agent_commission.json`` (effective-dated: the version in force in month M applies).

Definitions (README, "Agent performance and evaluation"):
- a participant is active at the end of month M when their dues are paid through M;
- ``acquisitions.month`` = the agent's recruits first enrolled in M; ``to_date`` = those first
  enrolled up to the end of M;
- ``recruits.*`` = the recruits' standings at the end of M;
- ``active_share`` = recruits active at the end of M / (recruits enrolled by then - recruits
  whose participation a claim ended by then); null when that denominator is 0;
- ``active_after_k`` = the share of cohort C (recruits first enrolled in C) active at the end of
  C+k; null while C+k is after M;
- commission: ``accrued`` = the incentive rate (7.5%) of the month's dues collected, rounded
  down to the rupiah; ``cooperative_share`` = 10% of accrued, rounded down (0 when the agent has
  no cooperative); ``bonus`` = the policy amount when the month's acquisitions reach the policy
  minimum (50); ``clawback`` = the incentive rate of the rupiah paid by the recruits of cohort
  M-3 who, at the end of M, have paid exactly one dues month, rounded down;
  ``payable`` = accrued - cooperative_share + bonus - clawback.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from . import coverage as rules
from . import policy_data
from .months import DuesMonth

__all__ = [
    "RETENTION_HORIZONS",
    "SIGNALS",
    "AgentFigures",
    "CohortRetention",
    "Commission",
    "CommissionBook",
    "CommissionPolicy",
    "FraudPolicy",
    "Recruit",
    "Signal",
    "active_share",
    "agent_figures",
    "cohort_table",
    "commission",
    "fraud_signals",
    "line_commissions",
    "rate_of",
]

RETENTION_HORIZONS = (3, 6, 12)  # active_after_3, _6, _12


# -- the policy book ------------------------------------------------------------------------------


class CommissionPolicy(BaseModel):
    """One effective-dated version of the commission policy."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    effective_from: date
    incentive_rate: Decimal = Field(ge=0, le=1)
    cooperative_share_rate: Decimal = Field(ge=0, le=1)
    bonus_min_new_recruits: int = Field(ge=1)
    bonus_amount: int = Field(ge=0)
    bonus_amount_confirmed: bool
    clawback_after_months: int = Field(ge=1, le=24)
    sources: dict[str, str] = Field(min_length=1)


class FraudPolicy(BaseModel):
    """One effective-dated version of the fraud-signal thresholds."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    effective_from: date
    shared_phone_min_recruits: int = Field(ge=2)
    paid_once_lapsed_min_recruits: int = Field(ge=1)
    outside_province_min_share: Decimal = Field(ge=0, lt=1)
    outside_province_min_recruits: int = Field(ge=1)
    burst_min_enrollments: int = Field(ge=2)
    burst_window_minutes: int = Field(ge=1, le=1440)
    source: str = Field(min_length=1)


P = TypeVar("P", CommissionPolicy, FraudPolicy)


def _in_force(versions: Sequence[P], month: DuesMonth, what: str) -> P:
    version = policy_data.in_force(versions, date(month.year, month.month, 1))
    if version is None:
        raise ValueError(f"no agent {what} policy is in force in {month}")
    return version


class CommissionBook(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")
    commission: tuple[CommissionPolicy, ...] = Field(min_length=1)
    fraud_signals: tuple[FraudPolicy, ...] = Field(min_length=1)

    def commission_in(self, month: DuesMonth) -> CommissionPolicy:
        """The commission policy in force in ``month`` (in force on its first day)."""
        return _in_force(self.commission, month, "commission")

    def fraud_in(self, month: DuesMonth) -> FraudPolicy:
        return _in_force(self.fraud_signals, month, "fraud-signal")

    @staticmethod
    @cache
    def packaged() -> CommissionBook:
        return CommissionBook.from_document(policy_data.packaged("agent_commission.json"))

    @staticmethod
    def load(path: str | Path) -> CommissionBook:
        return CommissionBook.from_document(json.loads(Path(path).read_text(encoding="utf-8")))

    @staticmethod
    def from_document(document: dict[str, Any]) -> CommissionBook:
        book = CommissionBook.model_validate(document)
        policy_data.one_version_per_day(book.commission, "agent commission policy")
        policy_data.one_version_per_day(book.fraud_signals, "agent fraud-signal policy")
        return book


# -- figures from the agent's counters ------------------------------------------------------------


def rate_of(amount: int, rate: Decimal) -> int:
    """``rate`` of ``amount`` rupiah, rounded down to the rupiah (floor: a negative amount, a
    month whose reversals exceed its payments, gives a negative figure rounded away from 0)."""
    return int((Decimal(amount) * rate).to_integral_value(rounding=ROUND_FLOOR))


def active_share(figures: rules.Figures) -> float | None:
    """Recruits active at the end of the month / (recruits enrolled by then - recruits whose
    participation a claim ended by then); None when that denominator is 0."""
    return rules.ratio(figures.standing["active"], figures.ever_enrolled - figures.standing["ended"])


@dataclass(frozen=True)
class CohortRetention:
    cohort: str
    enrolled: int
    active_after: dict[int, float | None]  # k -> share of the cohort active at the end of C+k


def cohort_table(values: Mapping[str, int], month: DuesMonth) -> list[CohortRetention]:
    """Every cohort up to ``month``, oldest first: its size and, for each horizon k, the share of
    it active at the end of C+k (None while C+k is after ``month``)."""
    table: list[CohortRetention] = []
    for cohort in rules.cohorts(values):
        start = DuesMonth.parse(cohort)
        if start > month:
            break
        enrolled = values.get(rules.counter_attribute(cohort, "new"), 0)
        after: dict[int, float | None] = {}
        for k in RETENTION_HORIZONS:
            end = start.plus(k)
            after[k] = (
                rules.ratio(rules.cumulative(values, f"active@{cohort}", end), enrolled) if end <= month else None
            )
        table.append(CohortRetention(cohort, enrolled, after))
    return table


@dataclass(frozen=True)
class Commission:
    accrued: int
    cooperative_share: int
    bonus: int
    clawback: int

    @property
    def payable(self) -> int:
        """What the agent is paid for the month (the cooperative is paid its share apart)."""
        return self.accrued - self.cooperative_share + self.bonus - self.clawback


def commission(
    values: Mapping[str, int], month: DuesMonth, policy: CommissionPolicy, has_cooperative: bool
) -> Commission:
    """The agent's commission for ``month`` from its counters, under the policy in force then."""
    figures = rules.figures(values, month)
    accrued = rate_of(figures.flows["dues"], policy.incentive_rate)
    share = rate_of(accrued, policy.cooperative_share_rate) if has_cooperative else 0
    bonus = policy.bonus_amount if figures.flows["new"] >= policy.bonus_min_new_recruits else 0
    cohort = month.plus(-policy.clawback_after_months)
    single = rules.cumulative(values, f"single@{cohort}", month)
    return Commission(accrued, share, bonus, rate_of(single, policy.incentive_rate))


def line_commissions(dues: Sequence[int], rate: Decimal) -> list[int]:
    """Each line's share of the commission on ``sum(dues)``: rounded on the running total
    (floor(rate x dues up to this line) - floor(rate x dues before it)), so the lines add up to
    exactly ``rate_of(sum(dues), rate)`` and each is within one rupiah of its exact share."""
    shares: list[int] = []
    running = before = 0
    for amount in dues:
        running += amount
        upto = rate_of(running, rate)
        shares.append(upto - before)
        before = upto
    return shares


@dataclass(frozen=True)
class AgentFigures:
    month: DuesMonth
    acquisitions_month: int
    acquisitions_to_date: int
    recruits: dict[str, int]  # active, arrears, lapsed, pending_payment at the end of the month
    active_share: float | None
    cohorts: list[CohortRetention]
    dues_collected: int
    commission: Commission


def agent_figures(
    values: Mapping[str, int], month: DuesMonth, policy: CommissionPolicy, has_cooperative: bool
) -> AgentFigures:
    figures = rules.figures(values, month)
    return AgentFigures(
        month=month,
        acquisitions_month=figures.flows["new"],
        acquisitions_to_date=figures.ever_enrolled,
        recruits={k: figures.standing[k] for k in ("active", "arrears", "lapsed", "pending_payment")},
        active_share=active_share(figures),
        cohorts=cohort_table(values, month),
        dues_collected=figures.flows["dues"],
        commission=commission(values, month, policy, has_cooperative),
    )


# -- fraud signals --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recruit:
    """What the signals read of one recruit's profile (the phone is compared, never shown)."""

    participant_id: str
    phone: str
    regency: str | None
    recruited_at: datetime  # aware
    status: str
    first_dues_month: str
    covered_through: str | None

    @property
    def month(self) -> DuesMonth:
        return DuesMonth.of(self.recruited_at)


@dataclass(frozen=True)
class Signal:
    signal: str
    detail: str  # never a phone number, a name or a NIK
    participant_ids: tuple[str, ...]


@dataclass(frozen=True)
class SignalInput:
    """The recruits enrolled up to the end of ``month`` (profiles as they are now)."""

    month: DuesMonth
    home_regency: str
    recruits: tuple[Recruit, ...]

    @property
    def of_month(self) -> list[Recruit]:
        return [r for r in self.recruits if r.month == self.month]


def shared_phone(data: SignalInput, policy: FraudPolicy) -> list[Signal]:
    """Recruits sharing one phone number: one signal per number shared by at least the policy's
    count of recruits (the number itself is never reported)."""
    by_phone: dict[str, list[str]] = defaultdict(list)
    for recruit in data.recruits:
        by_phone[recruit.phone].append(recruit.participant_id)
    groups = sorted(sorted(ids) for ids in by_phone.values() if len(ids) >= policy.shared_phone_min_recruits)
    return [Signal("shared_phone", f"{len(ids)} recruits share one phone number", tuple(ids)) for ids in groups]


def paid_once_then_lapsed(data: SignalInput, policy: FraudPolicy) -> list[Signal]:
    """Recruits who paid exactly one dues month and then lapsed (their profile: lapsed, paid
    through their first dues month and no further)."""
    ids = sorted(
        r.participant_id
        for r in data.recruits
        if r.status == "lapsed" and r.covered_through is not None and r.covered_through == r.first_dues_month
    )
    if len(ids) < policy.paid_once_lapsed_min_recruits:
        return []
    return [
        Signal("paid_once_then_lapsed", f"{len(ids)} recruits paid their first month only, then lapsed", tuple(ids))
    ]


def outside_home_province(data: SignalInput, policy: FraudPolicy) -> list[Signal]:
    """The month's recruits mostly (more than the policy share, and at least its count) from a
    province (the NIK's first 2 digits) other than the agent's home province."""
    known = [r for r in data.of_month if r.regency]
    home = data.home_regency[:2]
    outside = sorted(r.participant_id for r in known if r.regency and r.regency[:2] != home)
    if not known or len(outside) < policy.outside_province_min_recruits:
        return []
    if Decimal(len(outside)) / Decimal(len(known)) <= policy.outside_province_min_share:
        return []
    detail = f"{len(outside)} of the month's {len(known)} recruits are registered outside the agent's home province"
    return [Signal("outside_home_province", detail, tuple(outside))]


def enrollment_burst(data: SignalInput, policy: FraudPolicy) -> list[Signal]:
    """At least the policy's count of the month's recruits enrolled within its window of minutes:
    one signal per burst (overlapping qualifying windows merged)."""
    window = timedelta(minutes=policy.burst_window_minutes)
    recruits = sorted(data.of_month, key=lambda r: (r.recruited_at, r.participant_id))
    spans: list[list[int]] = []  # [first, last] indices of merged bursts
    start = 0
    for end, recruit in enumerate(recruits):
        while recruit.recruited_at - recruits[start].recruited_at > window:
            start += 1
        if end - start + 1 >= policy.burst_min_enrollments:
            if spans and start <= spans[-1][1]:
                spans[-1][1] = end
            else:
                spans.append([start, end])
    signals = []
    for first, last in spans:
        ids = tuple(sorted(r.participant_id for r in recruits[first : last + 1]))
        minutes = int((recruits[last].recruited_at - recruits[first].recruited_at).total_seconds() // 60)
        detail = (
            f"{len(ids)} enrollments within {minutes} minutes "
            f"(at least {policy.burst_min_enrollments} within {policy.burst_window_minutes} minutes)"
        )
        signals.append(Signal("enrollment_burst", detail, ids))
    return signals


# One small function per signal; the answer lists their findings in this order.
SIGNALS: tuple[Callable[[SignalInput, FraudPolicy], list[Signal]], ...] = (
    shared_phone,
    paid_once_then_lapsed,
    outside_home_province,
    enrollment_burst,
)


def fraud_signals(
    recruits: Sequence[Recruit], month: DuesMonth, home_regency: str, policy: FraudPolicy
) -> list[Signal]:
    """Every signal's findings among the recruits enrolled up to the end of ``month``."""
    data = SignalInput(month, home_regency, tuple(r for r in recruits if r.month <= month))
    return [found for signal in SIGNALS for found in signal(data, policy)]
