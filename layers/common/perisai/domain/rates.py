"""The BPU rate book: effective-dated rates, brackets, discounts and policies (data/bpu_rates.json).

Pure domain code: the only I/O is reading the packaged file. Regulation values live in that
file, not here, so a new regulation is a data change plus a test. The models below mirror the
file and validate it on load; a bad file fails with pydantic's error, whose location names the
offending entry (e.g. ``versions.0.jkk``).

Money is integer rupiah; rates are basis points (100 bp = 1%). Every percentage is
``amount * bp // 10_000`` (rounded down).
"""

from __future__ import annotations

import copy
from bisect import bisect_right
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StrictStr, field_validator, model_validator

from . import policy_data
from .errors import RulesNotInForce
from .months import DuesMonth
from .programs import PayerType, Program, Sector

__all__ = [
    "DiscountProgram",
    "Policies",
    "RateBook",
    "RateVersion",
    "max_amount_rupiah",
]

_BP_DENOMINATOR = 10_000

Rupiah = Annotated[StrictInt, Field(ge=0)]
BasisPoints = Annotated[StrictInt, Field(ge=0, le=_BP_DENOMINATOR)]


def _pct(amount: int, bp: int) -> int:
    # Floor division: the base amounts are integer rupiah, so the result is too.
    return amount * bp // _BP_DENOMINATOR


class _Data(BaseModel):
    # Unknown keys are refused: a misspelt key (e.g. "efective_until") must not silently default.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Brackets(_Data):
    """Bracket incomes of the official table: a declared income is rounded down to one of them."""

    source: StrictStr
    confirmed: StrictBool = False
    incomes: tuple[Annotated[StrictInt, Field(gt=0)], ...] = Field(min_length=1)

    @field_validator("incomes")
    @classmethod
    def _ascending(cls, incomes: tuple[int, ...]) -> tuple[int, ...]:
        for i in range(1, len(incomes)):
            if incomes[i] <= incomes[i - 1]:
                raise ValueError(f"bracket incomes must be strictly ascending (index {i})")
        return incomes


class JkkRate(_Data):
    rate_bp: BasisPoints
    floor: Rupiah
    ceiling: Rupiah

    @model_validator(mode="after")
    def _floor_not_above_ceiling(self) -> JkkRate:
        if self.floor > self.ceiling:
            raise ValueError(f"floor {self.floor} > ceiling {self.ceiling}")
        return self


class JkmRate(_Data):
    flat: Rupiah


class JhtRate(_Data):
    rate_bp: BasisPoints


def _covers(start: DuesMonth, until: DuesMonth | None, month: DuesMonth) -> bool:
    return start <= month and (until is None or month <= until)


def _overlap(a: tuple[DuesMonth, DuesMonth | None], b: tuple[DuesMonth, DuesMonth | None]) -> bool:
    return _covers(*a, b[0]) or _covers(*b, a[0])


class RateVersion(_Data):
    """One effective-dated set of BPU rates; bounds are inclusive dues months."""

    id: StrictStr = Field(min_length=1)
    effective_from: DuesMonth
    effective_until: DuesMonth | None
    source: StrictStr
    brackets: Brackets
    jkk: JkkRate
    jkm: JkmRate
    jht: JhtRate

    @model_validator(mode="after")
    def _until_not_before_from(self) -> RateVersion:
        if self.effective_until is not None and self.effective_until < self.effective_from:
            raise ValueError(f"effective_until {self.effective_until} is before effective_from {self.effective_from}")
        return self

    def covers(self, month: DuesMonth) -> bool:
        return _covers(self.effective_from, self.effective_until, month)

    def bracket_for(self, income: int) -> int:
        # Round DOWN to the table; below the lowest -> lowest, above the highest -> highest.
        incomes = self.brackets.incomes
        return incomes[max(bisect_right(incomes, income) - 1, 0)]

    def jkk_for(self, bracket_income: int) -> int:
        return min(max(_pct(bracket_income, self.jkk.rate_bp), self.jkk.floor), self.jkk.ceiling)

    def jht_for(self, bracket_income: int) -> int:
        return _pct(bracket_income, self.jht.rate_bp)


class Window(_Data):
    """Inclusive dues-month window."""

    from_: DuesMonth = Field(alias="from")
    until: DuesMonth

    @model_validator(mode="after")
    def _until_not_before_from(self) -> Window:
        if self.until < self.from_:
            raise ValueError(f"until {self.until} is before from {self.from_}")
        return self

    def covers(self, month: DuesMonth) -> bool:
        return _covers(self.from_, self.until, month)


class DiscountProgram(_Data):
    """A dues discount (e.g. PP 50/2025) with per-sector inclusive month windows."""

    id: StrictStr = Field(min_length=1)
    source: StrictStr
    rate_bp: BasisPoints
    programs: frozenset[Program] = Field(min_length=1)
    excluded_payer_types: frozenset[PayerType] = frozenset()
    windows: dict[Sector, Window]

    def applies(self, month: DuesMonth, sector: str, payer_type: str) -> bool:
        if payer_type in self.excluded_payer_types:
            return False
        # Compared as text: callers may ask about any sector; one the program does not name gets nothing.
        return any(name == sector and window.covers(month) for name, window in self.windows.items())

    def discount_on(self, amounts: dict[Program, int]) -> int:
        """The discount on dues ``amounts`` (per program), rounded down."""
        return _pct(sum(amount for program, amount in amounts.items() if program in self.programs), self.rate_bp)


class Policies(_Data):
    """Configurable policies; ``unconfirmed`` names those whose value no source confirms (BPU_RULES)."""

    min_enrollment_age_years: Annotated[StrictInt, Field(ge=0, le=150)]
    due_day_of_month: Annotated[StrictInt, Field(ge=1, le=28)] = 15
    # At most 2**53 - 1: a bounded amount then survives any JSON client that reads numbers as doubles
    # (and stays far inside DynamoDB's 38 significant digits).
    max_amount_rupiah: Annotated[StrictInt, Field(ge=1, le=2**53 - 1)]
    # Arrears older than this many months before the current month are not billed; one more unpaid
    # month past its due date ends the participation (domain/billing.py).
    arrears_window_months: Annotated[StrictInt, Field(ge=0, le=24)]
    payment_order_ttl_hours: Annotated[StrictInt, Field(ge=1, le=24 * 31)]
    # 12 to 16 digits is what counters accept (domain/payment_codes.py); the last one is the check digit.
    payment_code_length: Annotated[StrictInt, Field(ge=12, le=16)]
    unconfirmed: frozenset[StrictStr] = frozenset()
    notes: dict[StrictStr, StrictStr] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _names_are_policies(self) -> Policies:
        known = set(type(self).model_fields) - {"unconfirmed", "notes"}
        unknown = sorted((self.unconfirmed | set(self.notes)) - known)
        if unknown:
            raise ValueError(f"unconfirmed/notes name unknown policies {unknown}; known: {sorted(known)}")
        return self


class RateBook(_Data):
    """Effective-dated BPU rates, discounts and policies, validated on load."""

    schema_version: Literal[1]
    currency: Literal["IDR"]
    comment: StrictStr = Field(default="", alias="_comment")
    versions: tuple[RateVersion, ...] = Field(min_length=1)
    discounts: tuple[DiscountProgram, ...] = ()
    policies: Policies

    @field_validator("versions")
    @classmethod
    def _versions_do_not_overlap(cls, versions: tuple[RateVersion, ...]) -> tuple[RateVersion, ...]:
        # Overlaps would make the price depend on file order: reject them at load.
        ordered = tuple(sorted(versions, key=lambda v: v.effective_from))
        for a, b in zip(ordered, ordered[1:], strict=False):
            if _overlap((a.effective_from, a.effective_until), (b.effective_from, b.effective_until)):
                raise ValueError(f"rate versions {a.id} and {b.id} overlap")
        return ordered

    @field_validator("discounts")
    @classmethod
    def _discounts_do_not_overlap(cls, discounts: tuple[DiscountProgram, ...]) -> tuple[DiscountProgram, ...]:
        # Stacking rules for concurrent discounts are unknown: forbid them until a regulation says.
        for i, a in enumerate(discounts):
            for b in discounts[i + 1 :]:
                for sector in sorted(a.windows.keys() & b.windows.keys()):
                    wa, wb = a.windows[sector], b.windows[sector]
                    if _overlap((wa.from_, wa.until), (wb.from_, wb.until)):
                        raise ValueError(f"discounts {a.id} and {b.id} overlap for sector {sector}")
        return discounts

    @model_validator(mode="after")
    def _ids_unique(self) -> RateBook:
        ids = [v.id for v in self.versions] + [d.id for d in self.discounts]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ValueError(f"rate version / discount ids must be unique; repeated: {duplicates}")
        return self

    @staticmethod
    def default_data() -> dict[str, Any]:
        """A fresh copy of the packaged JSON (tests and tools may modify it)."""
        return copy.deepcopy(_default_data())

    @classmethod
    def load(cls, path: str | Path | None = None) -> RateBook:
        """The packaged rate book (cached), or the one at ``path``."""
        if path is None:
            return _default_book()
        return cls.model_validate_json(Path(path).read_bytes())

    def rules_for(self, month: DuesMonth | str) -> RateVersion:
        month = DuesMonth.coerce(month)
        for version in self.versions:
            if version.covers(month):
                return version
        raise RulesNotInForce(str(month))

    def bracket_for(self, income: int, month: DuesMonth | str) -> int:
        return self.rules_for(month).bracket_for(income)

    def discount_for(self, month: DuesMonth | str, sector: str, payer_type: str = "self") -> DiscountProgram | None:
        month = DuesMonth.coerce(month)
        for program in self.discounts:
            if program.applies(month, sector, payer_type):
                return program
        return None


def max_amount_rupiah() -> int:
    """The upper bound on every integer field of the API (policies.max_amount_rupiah, packaged book)."""
    return RateBook.load().policies.max_amount_rupiah


@lru_cache(maxsize=1)
def _default_data() -> dict[str, Any]:
    data: dict[str, Any] = policy_data.packaged("bpu_rates.json")
    return data


@lru_cache(maxsize=1)
def _default_book() -> RateBook:
    return RateBook.model_validate(_default_data())
