"""Claims: who may claim (from the contribution ledger), what each claim pays, and fraud signals.

Pure domain code: the only I/O is reading the packaged benefit table (data/benefits.json);
callers pass every date (the business date in Asia/Jakarta), the ledger and the policies.
Benefit values live in that file, not here. Money is integer rupiah; rates are basis points and
every percentage is rounded down.

The rules (BPU_RULES.md "Benefits" and "Due date, arrears and lapse"; issue 12):

- ``eligibility`` lists the reasons a claim is not eligible, never raises for a business rule:
  the program must be one the participant pays for; a JKK or JKM claim must be filed within
  ``policies.filing_window_days`` of the incident, and its incident month must have been paid
  before the incident day (``policies.incident_month_paid_before_incident``); a JHT claim needs a
  reason it is payable for and a positive balance.
- ``jkm_benefit``, ``jkk_benefit``, ``jht_balance`` and ``refund`` itemise what is paid.
- ``fraud_signals`` records suspicions for the back office (never a rejection): one small function
  per signal, registered in ``FRAUD_SIGNALS``.
"""

from __future__ import annotations

import calendar
import copy
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr, model_validator

from . import policy_data
from .errors import DomainValidationError, FieldError, RulesNotInForce
from .months import DuesMonth
from .programs import MANDATORY_PROGRAMS

__all__ = [
    "FRAUD_SIGNALS",
    "JHT_REASONS",
    "SCHOOL_LEVELS",
    "Benefit",
    "BenefitBook",
    "BenefitItem",
    "BenefitVersion",
    "ClaimFacts",
    "ClaimPolicies",
    "ClaimType",
    "JhtReason",
    "JkkKind",
    "PaidMonth",
    "SchoolLevel",
    "TransportMode",
    "agent_claims_above_mean",
    "death_before_enrollment",
    "eligibility",
    "fraud_signals",
    "heir_phone_shared",
    "incident_soon_after_first_payment",
    "is_death_claim",
    "jht_balance",
    "jkk_benefit",
    "jkm_benefit",
    "months_after",
    "refund",
]

_BP = 10_000

ClaimType = Literal["JKK", "JKM", "JHT"]
JkkKind = Literal["medical", "temporary_incapacity", "permanent_disability", "death"]
TransportMode = Literal["land", "sea", "air"]
SchoolLevel = Literal["tk_sd", "smp", "sma", "university"]
JhtReason = Literal["age_56", "stopped_working", "permanent_disability", "death"]

SCHOOL_LEVELS: tuple[SchoolLevel, ...] = ("tk_sd", "smp", "sma", "university")
JHT_REASONS: tuple[JhtReason, ...] = ("age_56", "stopped_working", "permanent_disability", "death")

Rupiah = Annotated[StrictInt, Field(ge=0)]
BasisPoints = Annotated[StrictInt, Field(ge=0, le=_BP)]
Source = Annotated[StrictStr, Field(min_length=1)]


# --- The benefit table -------------------------------------------------------------------------


class _Data(BaseModel):
    # Unknown keys are refused: a misspelt key must not silently default.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(_Data):
    amount: Rupiah
    source: Source
    note: StrictStr = ""


class Rate(_Data):
    bp: BasisPoints
    source: Source
    note: StrictStr = ""


class Count(_Data):
    value: Annotated[StrictInt, Field(ge=0)]
    source: Source
    note: StrictStr = ""


class Jkm(_Data):
    lump_sum: Money
    periodic: Money
    funeral: Money


class SchoolYear(_Data):
    """The scholarship per child for one school year, by level."""

    tk_sd: Money
    smp: Money
    sma: Money
    university: Money

    def for_level(self, level: SchoolLevel) -> int:
        amount: Money = getattr(self, level)
        return amount.amount


class Scholarship(_Data):
    min_paid_months: Count
    max_children: Count
    per_child_per_year: SchoolYear


class Medical(_Data):
    cap: Rupiah | None
    source: Source


class TransportCaps(_Data):
    land: Money
    sea: Money
    air: Money

    def cap(self, mode: TransportMode) -> int:
        amount: Money = getattr(self, mode)
        return amount.amount


class Stmb(_Data):
    """Temporary incapacity (STMB): ``full_bp`` of the income for ``full_months``, then ``reduced_bp``."""

    full_months: Count
    full_bp: Rate
    reduced_bp: Rate
    days_per_month: Count

    @model_validator(mode="after")
    def _positive_month(self) -> Stmb:
        if self.days_per_month.value < 1:
            raise ValueError("days_per_month must be at least 1")
        return self

    def amount(self, income: int, days: int) -> int:
        full_days = self.full_months.value * self.days_per_month.value
        per = self.days_per_month.value * _BP
        first = income * min(days, full_days) * self.full_bp.bp // per
        rest = income * max(days - full_days, 0) * self.reduced_bp.bp // per
        return first + rest


class Jkk(_Data):
    medical: Medical
    transport_caps: TransportCaps
    stmb: Stmb
    death_multiple: Count
    disability_multiple: Count


class Jht(_Data):
    development_return_bp: Rate
    waiting_months: Count
    payable_age: Count


class BenefitVersion(_Data):
    """One effective-dated benefit table: applies to incidents from ``effective_from`` on."""

    id: StrictStr = Field(min_length=1)
    effective_from: date
    source: Source
    jkm: Jkm
    scholarship: Scholarship
    jkk: Jkk
    jht: Jht


class ClaimPolicies(_Data):
    """Configurable claim policies; ``unconfirmed`` names those no source confirms (BPU_RULES)."""

    filing_window_days: Annotated[StrictInt, Field(ge=0, le=36_500)]
    incident_month_paid_before_incident: StrictBool = True
    early_incident_days: Annotated[StrictInt, Field(ge=0)]
    heir_phone_shared_by: Annotated[StrictInt, Field(ge=2)]
    agent_claims_above_mean_ratio: Annotated[StrictFloat, Field(gt=0)]
    agent_claims_min: Annotated[StrictInt, Field(ge=1)]
    unconfirmed: frozenset[StrictStr] = frozenset()
    notes: dict[StrictStr, StrictStr] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_are_policies(self) -> ClaimPolicies:
        known = set(type(self).model_fields) - {"unconfirmed", "notes"}
        unknown = sorted((self.unconfirmed | set(self.notes)) - known)
        if unknown:
            raise ValueError(f"unconfirmed/notes name unknown policies {unknown}; known: {sorted(known)}")
        return self


class BenefitBook(_Data):
    """Effective-dated benefit tables and claim policies, validated on load."""

    schema_version: Literal[1]
    currency: Literal["IDR"]
    comment: StrictStr = Field(default="", alias="_comment")
    versions: tuple[BenefitVersion, ...] = Field(min_length=1)
    policies: ClaimPolicies

    @model_validator(mode="after")
    def _versions_ordered_and_unique(self) -> BenefitBook:
        policy_data.one_version_per_day(self.versions, "benefit")
        days = [v.effective_from for v in self.versions]
        if days != sorted(days):
            raise ValueError("benefit versions must be listed oldest first")
        ids = [v.id for v in self.versions]
        if len(set(ids)) != len(ids):
            raise ValueError(f"benefit version ids must be unique: {ids}")
        return self

    def in_force(self, day: date) -> BenefitVersion:
        """The version in force on ``day`` (the latest starting on or before it)."""
        version = policy_data.in_force(self.versions, day)
        if version is not None:
            return version
        error = RulesNotInForce(day.isoformat())
        error.args = (f"no benefit table is in force on {day.isoformat()}",)
        raise error

    @staticmethod
    @lru_cache(maxsize=1)
    def packaged() -> BenefitBook:
        """The packaged benefit book (data/benefits.json), validated once."""
        return BenefitBook.model_validate(_default_data())

    @staticmethod
    def default_data() -> dict[str, Any]:
        """A fresh copy of the packaged JSON (tests and tools may modify it)."""
        return copy.deepcopy(_default_data())

    @classmethod
    def load(cls, path: str | Path | None = None) -> BenefitBook:
        """The packaged book (cached), or the one at ``path``."""
        if path is None:
            return cls.packaged()
        return cls.model_validate_json(Path(path).read_bytes())


@lru_cache(maxsize=1)
def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = policy_data.packaged("benefits.json")
    return data


# --- Values in and out -------------------------------------------------------------------------


@dataclass(frozen=True)
class BenefitItem:
    item: str
    amount: int


@dataclass(frozen=True)
class Benefit:
    """An itemised payment; ``total`` is the sum of the items."""

    items: tuple[BenefitItem, ...]

    @property
    def total(self) -> int:
        return sum(i.amount for i in self.items)

    def plus(self, other: Benefit) -> Benefit:
        """This benefit's items followed by ``other``'s (e.g. a JKM benefit plus its refund)."""
        return Benefit(self.items + other.items)

    def as_dict(self) -> dict[str, Any]:
        """The API shape: ``{"items": [{"item", "amount"}], "total"}``."""
        return {"items": [{"item": i.item, "amount": i.amount} for i in self.items], "total": self.total}


@dataclass(frozen=True)
class PaidMonth:
    """One ledger entry: ``month`` was paid, credited on ``credited_on`` (Jakarta date).

    ``jht``: the JHT part paid for that month (0 without JHT); ``total``: all it paid.
    """

    month: DuesMonth
    credited_on: date
    jht: int
    total: int


# --- Eligibility -------------------------------------------------------------------------------


def months_after(day: date, months: int) -> date:
    """The same day ``months`` later, clamped to the end of a shorter month (31 Jan + 1 -> 28/29 Feb)."""
    target = DuesMonth.of(day).plus(months)
    last = calendar.monthrange(target.year, target.month)[1]
    return date(target.year, target.month, min(day.day, last))


def _age_on(birth_date: date, day: date) -> int:
    # Whole years completed; someone born on 29 Feb turns a year older on 1 Mar in other years.
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def eligibility(
    *,
    claim_type: ClaimType,
    incident_date: date,
    filed_on: date,
    programs: Collection[str],
    paid: Sequence[PaidMonth],
    policies: ClaimPolicies,
    birth_date: date | None = None,
    jht_reason: str | None = None,
    stopped_working_on: date | None = None,
    version: BenefitVersion | None = None,
) -> list[str]:
    """The reasons the claim is NOT eligible, as short sentences; empty when it is eligible.

    - Program: JKK and JKM are mandatory for every BPU participant; JHT only if in ``programs``.
    - Dates: an incident after ``filed_on`` is a reason. A JKK or JKM claim must be filed at most
      ``policies.filing_window_days`` days after the incident (that day included). JHT is the
      participant's own savings: no filing window.
    - JKK and JKM: the incident's dues month must be in ``paid``; with
      ``policies.incident_month_paid_before_incident`` (the default), credited strictly before the
      incident day: a month paid on or after that day does not count.
    - JHT: ``jht_reason`` age_56 needs ``birth_date`` and the payable age on ``filed_on``;
      stopped_working needs ``stopped_working_on`` and ``filed_on`` on or after the same day
      ``waiting_months`` later (clamped to month end); death and permanent_disability are always
      payable. The JHT contributions in ``paid`` must be positive.

    ``version`` (the JHT age and waiting period) defaults to the packaged book's version in force
    on ``filed_on``.
    """
    reasons: list[str] = []
    if claim_type not in ("JKK", "JKM", "JHT"):
        return [f"unknown claim type {claim_type!r}; expected JKK, JKM or JHT"]
    if claim_type not in programs and claim_type not in MANDATORY_PROGRAMS:
        reasons.append(f"the participant does not pay for {claim_type}")
    if incident_date > filed_on:
        reasons.append(f"the incident date {incident_date.isoformat()} is after the filing date {filed_on.isoformat()}")
    if claim_type == "JHT":
        reasons += _jht_reasons(
            filed_on=filed_on,
            paid=paid,
            birth_date=birth_date,
            jht_reason=jht_reason,
            stopped_working_on=stopped_working_on,
            version=version if version is not None else BenefitBook.packaged().in_force(filed_on),
        )
        return reasons
    days = (filed_on - incident_date).days
    if days > policies.filing_window_days:
        reasons.append(
            f"filed {days} days after the incident; claims must be filed within {policies.filing_window_days} days"
        )
    reasons += _incident_month_reasons(incident_date, paid, policies)
    return reasons


def _incident_month_reasons(incident_date: date, paid: Sequence[PaidMonth], policies: ClaimPolicies) -> list[str]:
    month = DuesMonth.of(incident_date)
    entries = [p for p in paid if p.month == month]
    if not entries:
        return [f"the dues for {month}, the month of the incident, were not paid"]
    if not policies.incident_month_paid_before_incident:
        return []
    if any(p.credited_on < incident_date for p in entries):
        return []
    first = min(p.credited_on for p in entries)
    return [
        f"the dues for {month} were paid on {first.isoformat()}, not before the incident on {incident_date.isoformat()}"
    ]


def _jht_reasons(
    *,
    filed_on: date,
    paid: Sequence[PaidMonth],
    birth_date: date | None,
    jht_reason: str | None,
    stopped_working_on: date | None,
    version: BenefitVersion,
) -> list[str]:
    reasons: list[str] = []
    if jht_reason == "age_56":
        age = version.jht.payable_age.value
        if birth_date is None:
            reasons.append("a JHT claim at age 56 needs the participant's birth date")
        elif _age_on(birth_date, filed_on) < age:
            reasons.append(
                f"the participant is {_age_on(birth_date, filed_on)} on the filing date; JHT is payable at {age}"
            )
    elif jht_reason == "stopped_working":
        wait = version.jht.waiting_months.value
        if stopped_working_on is None:
            reasons.append("a JHT claim on stopping work needs the date work stopped")
        else:
            earliest = months_after(stopped_working_on, wait)
            if filed_on < earliest:
                reasons.append(
                    f"JHT on stopping work is payable from {earliest.isoformat()}, "
                    f"{wait} month(s) after stopping on {stopped_working_on.isoformat()}"
                )
    elif jht_reason not in ("death", "permanent_disability"):
        reasons.append(f"a JHT claim needs a reason: one of {', '.join(JHT_REASONS)}")
    if sum(p.jht for p in paid) <= 0:
        reasons.append("the participant's JHT balance is zero")
    return reasons


# --- Benefits ----------------------------------------------------------------------------------


def _scholarships(
    version: BenefitVersion, children: Sequence[tuple[str, str]], field: str = "children"
) -> list[BenefitItem]:
    # The first ``max_children`` children given; each gets the first year of their level now.
    table = version.scholarship.per_child_per_year
    chosen = list(children)[: version.scholarship.max_children.value]
    errors = [
        FieldError(f"{field}.{i}.school_level", f"must be one of {', '.join(SCHOOL_LEVELS)}")
        for i, (_, level) in enumerate(chosen)
        if level not in SCHOOL_LEVELS
    ]
    if errors:
        raise DomainValidationError(errors)
    return [BenefitItem(f"scholarship:{name}", table.for_level(cast(SchoolLevel, level))) for name, level in chosen]


def jkm_benefit(version: BenefitVersion, *, paid_months: int, children: Sequence[tuple[str, str]]) -> Benefit:
    """JKM (death not from work): lump sum, periodic benefit (paid at once) and funeral costs, plus
    ``scholarship:<name>`` (the first year of the child's school level) for the first
    ``max_children`` children given, only after ``min_paid_months`` paid months.

    ``children``: (name, school_level) pairs; an unknown level raises DomainValidationError
    naming ``children.<i>.school_level``.
    """
    jkm = version.jkm
    items = [
        BenefitItem("lump_sum", jkm.lump_sum.amount),
        BenefitItem("periodic", jkm.periodic.amount),
        BenefitItem("funeral", jkm.funeral.amount),
    ]
    if paid_months >= version.scholarship.min_paid_months.value:
        items += _scholarships(version, children)
    return Benefit(tuple(items))


def jkk_benefit(
    version: BenefitVersion,
    *,
    kind: JkkKind,
    declared_income: int,
    medical_costs: int,
    transport_costs: int,
    transport_mode: TransportMode,
    days_off_work: int,
    children: Sequence[tuple[str, str]] = (),
) -> Benefit:
    """JKK (work accident): ``medical`` as claimed (the book's cap, if any), ``transport`` up to
    the cap of ``transport_mode`` (each item only when claimed > 0), and by ``kind``:

    - temporary_incapacity: ``stmb``, days counted in months of 30 days: the first 12 months
      (360 days) at 100% of ``declared_income`` per month, the rest at 50%, each part rounded down;
    - death: ``death_benefit`` 48 x ``declared_income``;
    - permanent_disability: ``disability_benefit`` 56 x ``declared_income``;
    - medical: nothing more.

    With death or total permanent disability, ``children`` (name, school_level) get the
    scholarship's first year (at most ``max_children``; no minimum of paid months).
    Negative amounts raise DomainValidationError naming each field.
    """
    errors = [
        FieldError(name, "must be a non-negative integer")
        for name, value in (
            ("declared_income", declared_income),
            ("medical_costs", medical_costs),
            ("transport_costs", transport_costs),
            ("days_off_work", days_off_work),
        )
        if type(value) is not int or value < 0
    ]
    if kind not in ("medical", "temporary_incapacity", "permanent_disability", "death"):
        errors.append(FieldError("kind", "must be medical, temporary_incapacity, permanent_disability or death"))
    if transport_mode not in ("land", "sea", "air"):
        errors.append(FieldError("transport_mode", "must be land, sea or air"))
    if errors:
        raise DomainValidationError(errors)
    jkk = version.jkk
    items: list[BenefitItem] = []
    if medical_costs > 0:
        cap = jkk.medical.cap
        items.append(BenefitItem("medical", medical_costs if cap is None else min(medical_costs, cap)))
    if transport_costs > 0:
        items.append(BenefitItem("transport", min(transport_costs, jkk.transport_caps.cap(transport_mode))))
    if kind == "temporary_incapacity":
        items.append(BenefitItem("stmb", jkk.stmb.amount(declared_income, days_off_work)))
    elif kind == "death":
        items.append(BenefitItem("death_benefit", declared_income * jkk.death_multiple.value))
    elif kind == "permanent_disability":
        items.append(BenefitItem("disability_benefit", declared_income * jkk.disability_multiple.value))
    if kind in ("death", "permanent_disability"):
        items += _scholarships(version, children)
    return Benefit(tuple(items))


def jht_balance(
    version: BenefitVersion, paid: Sequence[PaidMonth], on: date, *, through: DuesMonth | None = None
) -> Benefit:
    """The JHT balance on ``on``: ``contributions`` (the JHT parts paid) and ``development``.

    Development is simple, not compounded: each month's JHT part earns
    ``jht * development_return_bp * m // (12 * 10_000)`` (rounded down per month), with ``m`` the
    whole months from its dues month to ``on``'s month (0 for the current or a later month).

    Only dues months up to ``through`` count (default: ``on``'s month). A claim that ends
    participation refunds the months after its end month whole (``refund``), JHT part included:
    pass that end month as ``through`` so no month is paid twice.
    """
    last = through if through is not None else DuesMonth.of(on)
    current = DuesMonth.of(on)
    bp = version.jht.development_return_bp.bp
    counted = [p for p in paid if p.month <= last]
    contributions = sum(p.jht for p in counted)
    development = sum(p.jht * bp * max(current.months_since(p.month), 0) // (12 * _BP) for p in counted)
    return Benefit((BenefitItem("contributions", contributions), BenefitItem("development", development)))


def refund(paid: Sequence[PaidMonth], ends_with: DuesMonth) -> Benefit:
    """``refund:YYYY-MM`` (all that month paid) for each paid month after ``ends_with`` (the month
    of death or of the end of participation), oldest first; entries for one month are added up."""
    totals: dict[DuesMonth, int] = {}
    for p in paid:
        if p.month > ends_with:
            totals[p.month] = totals.get(p.month, 0) + p.total
    return Benefit(tuple(BenefitItem(f"refund:{month}", totals[month]) for month in sorted(totals)))


# --- Fraud signals -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ClaimFacts:
    """What the fraud signals look at; the caller gathers it from the claim and its storage.

    ``kind``: the JKK accident kind (None for other types); ``jht_reason``: the JHT reason (None
    for other types). ``heir_phone_participants``: how many distinct participants' claims name
    this claim's heir phone, this one included (0 without an heir). ``agent_claims``: claims by
    the enrolling agent's recruits, this one included; ``mean_agent_claims``: the mean of that
    count over agents (both None when no agent enrolled the participant).
    """

    claim_type: ClaimType
    kind: JkkKind | None
    incident_date: date
    enrolled_on: date
    first_payment_on: date | None
    heir_phone_participants: int
    agent_claims: int | None
    mean_agent_claims: float | None
    jht_reason: JhtReason | None = None


def is_death_claim(facts: ClaimFacts) -> bool:
    """JKM, JKK with kind death, or JHT with reason death."""
    return (
        facts.claim_type == "JKM"
        or (facts.claim_type == "JKK" and facts.kind == "death")
        or (facts.claim_type == "JHT" and facts.jht_reason == "death")
    )


def incident_soon_after_first_payment(facts: ClaimFacts, policies: ClaimPolicies) -> str | None:
    """The incident came at most ``early_incident_days`` after the first payment, or before it."""
    if facts.first_payment_on is None:
        return None
    days = policies.early_incident_days
    if (facts.incident_date - facts.first_payment_on).days <= days:
        return f"incident_within_{days}_days_of_first_payment"
    return None


def death_before_enrollment(facts: ClaimFacts, policies: ClaimPolicies) -> str | None:  # noqa: ARG001
    """A death claim whose death date is before the participant enrolled."""
    if is_death_claim(facts) and facts.incident_date < facts.enrolled_on:
        return "death_before_enrollment"
    return None


def heir_phone_shared(facts: ClaimFacts, policies: ClaimPolicies) -> str | None:
    """The heir's phone is named on the claims of at least ``heir_phone_shared_by`` participants."""
    if facts.heir_phone_participants >= policies.heir_phone_shared_by:
        return "heir_phone_shared"
    return None


def agent_claims_above_mean(facts: ClaimFacts, policies: ClaimPolicies) -> str | None:
    """The enrolling agent's recruits claim more than ``ratio`` x the mean, and at least ``min`` times."""
    if facts.agent_claims is None or facts.mean_agent_claims is None:
        return None
    if (
        facts.agent_claims >= policies.agent_claims_min
        and facts.agent_claims > policies.agent_claims_above_mean_ratio * facts.mean_agent_claims
    ):
        return "agent_claims_above_mean"
    return None


FraudSignal = Callable[[ClaimFacts, ClaimPolicies], "str | None"]

# Every signal, in the order its code appears on a claim. A new signal = one function added here.
FRAUD_SIGNALS: list[FraudSignal] = [
    incident_soon_after_first_payment,
    death_before_enrollment,
    heir_phone_shared,
    agent_claims_above_mean,
]


def fraud_signals(facts: ClaimFacts, policies: ClaimPolicies) -> list[str]:
    """The codes of the signals that fire for ``facts``, in ``FRAUD_SIGNALS`` order."""
    return [code for signal in FRAUD_SIGNALS if (code := signal(facts, policies)) is not None]
