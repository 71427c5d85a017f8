"""Agent report answers: performance, the evaluation list and the monthly statement. No
personal data: participant ids, counts, shares and rupiah only (never a phone, name or NIK)."""

from __future__ import annotations

from pydantic import Field

from perisai.models import Model

SHARE = "share in 0..1 (6 decimals); null when its denominator is 0"


class Acquisitions(Model):
    month: int = Field(description="Recruits first enrolled in the month (a reactivation is not new)")
    to_date: int = Field(description="Recruits first enrolled up to the end of the month")


class RecruitStandings(Model):
    """The agent's recruits by standing at the end of the month."""

    active: int = Field(description="Dues paid through the month")
    arrears: int
    lapsed: int
    pending_payment: int = Field(description="Enrolled, first dues month never paid")


class CohortRow(Model):
    cohort: str = Field(description="YYYY-MM: the recruits first enrolled in that month")
    enrolled: int
    active_after_3: float | None = Field(
        description="Share of the cohort active at the end of cohort + 3 months; null until then"
    )
    active_after_6: float | None = Field(description="... at the end of cohort + 6 months; null until then")
    active_after_12: float | None = Field(description="... at the end of cohort + 12 months; null until then")


class CommissionView(Model):
    accrued: int = Field(description="Incentive rate (7.5%) of the month's dues collected, rounded down (rupiah)")
    cooperative_share: int = Field(description="10% of accrued, rounded down; 0 when the agent has no cooperative")
    bonus: int = Field(
        description="The policy bonus when the month's acquisitions reach the minimum (50); amount unconfirmed"
    )
    clawback: int = Field(
        description="Incentive rate of the rupiah paid by cohort month-3 recruits who paid exactly one dues month, rounded down"
    )


class FraudSignal(Model):
    signal: str = Field(description="shared_phone, paid_once_then_lapsed, outside_home_province or enrollment_burst")
    detail: str
    participant_ids: list[str]


class AgentPerformance(Model):
    agent_code: str
    month: str
    acquisitions: Acquisitions
    recruits: RecruitStandings
    active_share: float | None = Field(
        description="Recruits active at the end of the month / (recruits enrolled by then - recruits whose "
        "participation a claim ended by then); " + SHARE
    )
    cohorts: list[CohortRow] = Field(description="Every cohort up to the month, oldest first")
    dues_collected: int = Field(description="Rupiah credited in the month from the agent's recruits, less reversals")
    commission: CommissionView
    fraud_signals: list[FraudSignal]


class AgentListItem(Model):
    agent_code: str
    partner_id: str
    home_regency: str
    active_share: float | None = Field(description="As in the agent's performance for the month")
    acquisitions_to_date: int


class AgentList(Model):
    items: list[AgentListItem]
    next_token: str | None = Field(description="Pass as next_token for the next page; null: no more agents")


class StatementLine(Model):
    participant_id: str
    months: int = Field(description="Dues months paid in the month (net of reversals)")
    dues: int = Field(description="Rupiah paid in the month (net of reversals)")
    commission: int = Field(
        description="This line's share of accrued (rounded on the running total: lines add up to accrued)"
    )


class StatementTotals(Model):
    months: int
    dues: int
    accrued: int
    cooperative_share: int
    bonus: int
    clawback: int
    payable: int = Field(description="accrued - cooperative_share + bonus - clawback: what the agent is paid")


class AgentStatement(Model):
    agent_code: str
    partner_id: str
    month: str
    cooperative: str | None = Field(description="The umbrella cooperative paid cooperative_share; null: none")
    lines: list[StatementLine] = Field(description="One line per recruit who paid in the month, by participant id")
    totals: StatementTotals
    cohorts: list[CohortRow]
