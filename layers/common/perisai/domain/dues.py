"""BPU dues (iuran) computation.

Pure domain code: the only I/O is reading the packaged rate table
(data/bpu_rates.json). Regulation values live in that file, not here, so a
new regulation is a data change plus a test.

Money is integer rupiah; rates are basis points (100 bp = 1%). Every
percentage is computed as ``amount * bp // 10_000`` (rounded down).
"""

from __future__ import annotations

import copy
import json
import re
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import DomainValidationError, FieldError, RulesNotInForce

__all__ = [
    "BP_DENOMINATOR",
    "JAKARTA_TZ",
    "DiscountProgram",
    "DuesMonth",
    "DuesQuote",
    "PayerType",
    "Policies",
    "Program",
    "PROGRAMS",
    "PAYER_TYPES",
    "RateBook",
    "RateVersion",
    "Sector",
    "SECTORS",
    "jakarta_today",
    "quote_dues",
]

Program = Literal["JKK", "JKM", "JHT"]
Sector = Literal["transport", "other"]
PayerType = Literal["self", "sponsor", "government"]

PROGRAMS: tuple[str, ...] = get_args(Program)
SECTORS: tuple[str, ...] = get_args(Sector)
PAYER_TYPES: tuple[str, ...] = get_args(PayerType)
MANDATORY_PROGRAMS: tuple[str, ...] = ("JKK", "JKM")

BP_DENOMINATOR = 10_000

# WIB is UTC+7 with no DST since 1964: a fixed offset avoids needing tzdata
# in the Lambda image.
JAKARTA_TZ = timezone(timedelta(hours=7), "WIB")


def jakarta_today(now: datetime | None = None) -> date:
    """Business date in Asia/Jakarta (``now`` injectable for tests)."""
    now = now or datetime.now(UTC)
    if now.tzinfo is None:
        raise ValueError("naive datetime is ambiguous; pass an aware datetime")
    return now.astimezone(JAKARTA_TZ).date()


_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")
MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"


@dataclass(frozen=True, order=True)
class DuesMonth:
    """A dues month (the month a contribution pays for), e.g. 2026-11."""

    year: int
    month: int

    def __post_init__(self) -> None:
        for name in ("year", "month"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"DuesMonth.{name} must be an int, got {value!r}")
        if not 1 <= self.month <= 12:
            raise ValueError(f"month must be 1..12, got {self.month}")
        if not 1 <= self.year <= 9999:
            raise ValueError(f"year must be 1..9999, got {self.year}")

    @classmethod
    def parse(cls, text: str) -> DuesMonth:
        if not isinstance(text, str):
            raise ValueError(f"dues month must be a 'YYYY-MM' string, got {type(text).__name__}")
        m = _MONTH_RE.match(text)
        if not m:
            raise ValueError(f"dues month must look like 'YYYY-MM' (e.g. 2026-11), got {text!r}")
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"dues month {text!r} has month {month:02d}; expected 01..12")
        return cls(year, month)

    @classmethod
    def of(cls, day: date | datetime) -> DuesMonth:
        """Month containing a date; an aware datetime is first moved to Jakarta time."""
        if isinstance(day, datetime):
            if day.tzinfo is None:
                raise ValueError("naive datetime is ambiguous; pass a date or an aware datetime")
            day = day.astimezone(JAKARTA_TZ).date()
        return cls(day.year, day.month)

    @classmethod
    def coerce(cls, value: DuesMonth | str) -> DuesMonth:
        return value if isinstance(value, DuesMonth) else cls.parse(value)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def ordinal(self) -> int:
        """Months since year 0: makes month arithmetic plain integer arithmetic."""
        return self.year * 12 + (self.month - 1)

    @classmethod
    def from_ordinal(cls, n: int) -> DuesMonth:
        return cls(n // 12, n % 12 + 1)

    def plus(self, n: int) -> DuesMonth:
        return DuesMonth.from_ordinal(self.ordinal + n)

    def next(self) -> DuesMonth:
        return self.plus(1)

    def previous(self) -> DuesMonth:
        return self.plus(-1)

    def months_since(self, other: DuesMonth) -> int:
        """``self - other`` in months (negative if ``other`` is later)."""
        return self.ordinal - other.ordinal

    def first_day(self) -> date:
        return date(self.year, self.month, 1)

    def due_date(self, rate_book: RateBook | None = None) -> date:
        # Due by a day of the same month, set in the rate data (policies.due_day_of_month). The
        # "next working day if that day is a public holiday" rule needs a holiday calendar: out
        # of scope here, callers that enforce deadlines must apply it.
        return date(self.year, self.month, (rate_book or RateBook.load()).policies.due_day_of_month)

    # Lets pydantic models hold a DuesMonth, read from and written as "YYYY-MM".
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: Any) -> Any:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            cls.coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: Any) -> dict:
        return {"type": "string", "pattern": MONTH_PATTERN, "examples": ["2026-11"]}


class DuesQuote(BaseModel):
    """Dues for one month. Programs not taken are 0; total = jkk + jkm + jht - discount."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    month: str = Field(pattern=MONTH_PATTERN)
    income_bracket: int = Field(ge=0)
    jkk: int = Field(ge=0)
    jkm: int = Field(ge=0)
    jht: int = Field(ge=0)
    discount: int = Field(ge=0)
    total: int = Field(ge=0)

    @model_validator(mode="after")
    def _total_adds_up(self) -> DuesQuote:
        expected = self.jkk + self.jkm + self.jht - self.discount
        if self.total != expected:
            raise ValueError(f"total {self.total} != jkk + jkm + jht - discount = {expected}")
        return self


# ---------------------------------------------------------------------------
# Rate table (data/bpu_rates.json)


def _pct(amount: int, bp: int) -> int:
    # Floor division: the base amounts are integer rupiah, so the result is too.
    return amount * bp // BP_DENOMINATOR


def _req_int(d: Mapping[str, Any], key: str, where: str, *, lo: int = 0, hi: int | None = None) -> int:
    value = d.get(key) if isinstance(d, Mapping) else None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{where}.{key} must be an integer, got {value!r}")
    if value < lo or (hi is not None and value > hi):
        raise ValueError(f"{where}.{key}={value} out of range [{lo}, {hi if hi is not None else 'inf'}]")
    return value


def _req_map(d: Any, key: str, where: str) -> Mapping[str, Any]:
    value = d.get(key) if isinstance(d, Mapping) else None
    if not isinstance(value, Mapping):
        raise ValueError(f"{where}.{key} must be an object")
    return value


def _month(value: Any, where: str) -> DuesMonth:
    try:
        return DuesMonth.parse(value)
    except ValueError as exc:
        raise ValueError(f"{where}: {exc}") from None


@dataclass(frozen=True)
class RateVersion:
    """One effective-dated set of BPU rates; bounds are inclusive dues months."""

    id: str
    effective_from: DuesMonth
    effective_until: DuesMonth | None
    source: str
    bracket_incomes: tuple[int, ...]
    bracket_source: str
    brackets_confirmed: bool
    jkk_rate_bp: int
    jkk_floor: int
    jkk_ceiling: int
    jkm_flat: int
    jht_rate_bp: int

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> RateVersion:
        if not isinstance(d, Mapping):
            raise ValueError(f"{where} must be an object")
        vid = d.get("id")
        if not isinstance(vid, str) or not vid:
            raise ValueError(f"{where}.id must be a non-empty string")
        where = f"{where}({vid})"
        start = _month(d.get("effective_from"), f"{where}.effective_from")
        until_raw = d.get("effective_until")
        until = None if until_raw is None else _month(until_raw, f"{where}.effective_until")
        if until is not None and until < start:
            raise ValueError(f"{where}: effective_until {until} is before effective_from {start}")
        brackets = _req_map(d, "brackets", where)
        incomes = brackets.get("incomes")
        if not isinstance(incomes, list) or not incomes:
            raise ValueError(f"{where}.brackets.incomes must be a non-empty list")
        for i, v in enumerate(incomes):
            if not isinstance(v, int) or isinstance(v, bool) or v <= 0:
                raise ValueError(f"{where}.brackets.incomes[{i}] must be a positive integer, got {v!r}")
            if i and v <= incomes[i - 1]:
                raise ValueError(f"{where}.brackets.incomes must be strictly ascending (index {i})")
        jkk = _req_map(d, "jkk", where)
        floor = _req_int(jkk, "floor", f"{where}.jkk")
        ceiling = _req_int(jkk, "ceiling", f"{where}.jkk")
        if floor > ceiling:
            raise ValueError(f"{where}.jkk: floor {floor} > ceiling {ceiling}")
        return cls(
            id=vid,
            effective_from=start,
            effective_until=until,
            source=str(d.get("source", "")),
            bracket_incomes=tuple(incomes),
            bracket_source=str(brackets.get("source", "")),
            brackets_confirmed=bool(brackets.get("confirmed", False)),
            jkk_rate_bp=_req_int(jkk, "rate_bp", f"{where}.jkk", hi=BP_DENOMINATOR),
            jkk_floor=floor,
            jkk_ceiling=ceiling,
            jkm_flat=_req_int(_req_map(d, "jkm", where), "flat", f"{where}.jkm"),
            jht_rate_bp=_req_int(_req_map(d, "jht", where), "rate_bp", f"{where}.jht", hi=BP_DENOMINATOR),
        )

    def covers(self, month: DuesMonth) -> bool:
        return self.effective_from <= month and (self.effective_until is None or month <= self.effective_until)

    def bracket_for(self, income: int) -> int:
        # Round DOWN to the table; below the lowest -> lowest, above the highest -> highest.
        i = bisect_right(self.bracket_incomes, income) - 1
        return self.bracket_incomes[max(i, 0)]

    def jkk_for(self, bracket_income: int) -> int:
        return min(max(_pct(bracket_income, self.jkk_rate_bp), self.jkk_floor), self.jkk_ceiling)

    def jht_for(self, bracket_income: int) -> int:
        return _pct(bracket_income, self.jht_rate_bp)


@dataclass(frozen=True)
class DiscountProgram:
    """A dues discount (e.g. PP 50/2025) with per-sector inclusive month windows."""

    id: str
    source: str
    rate_bp: int
    programs: frozenset[str]
    excluded_payer_types: frozenset[str]
    windows: Mapping[str, tuple[DuesMonth, DuesMonth]]

    @classmethod
    def from_dict(cls, d: Mapping[str, Any], where: str) -> DiscountProgram:
        if not isinstance(d, Mapping):
            raise ValueError(f"{where} must be an object")
        did = d.get("id")
        if not isinstance(did, str) or not did:
            raise ValueError(f"{where}.id must be a non-empty string")
        where = f"{where}({did})"
        programs = d.get("programs")
        if not isinstance(programs, list) or not programs or not set(programs) <= set(PROGRAMS):
            raise ValueError(f"{where}.programs must be a non-empty subset of {list(PROGRAMS)}")
        excluded = d.get("excluded_payer_types", [])
        if not isinstance(excluded, list) or not set(excluded) <= set(PAYER_TYPES):
            raise ValueError(f"{where}.excluded_payer_types must be a subset of {list(PAYER_TYPES)}")
        windows: dict[str, tuple[DuesMonth, DuesMonth]] = {}
        for sector, w in _req_map(d, "windows", where).items():
            if sector not in SECTORS:
                raise ValueError(f"{where}.windows: unknown sector {sector!r}; known: {list(SECTORS)}")
            start = _month(w.get("from") if isinstance(w, Mapping) else None, f"{where}.windows.{sector}.from")
            until = _month(w.get("until"), f"{where}.windows.{sector}.until")
            if until < start:
                raise ValueError(f"{where}.windows.{sector}: until {until} is before from {start}")
            windows[sector] = (start, until)
        return cls(
            id=did,
            source=str(d.get("source", "")),
            rate_bp=_req_int(d, "rate_bp", where, hi=BP_DENOMINATOR),
            programs=frozenset(programs),
            excluded_payer_types=frozenset(excluded),
            windows=windows,
        )

    def applies(self, month: DuesMonth, sector: str, payer_type: str) -> bool:
        if payer_type in self.excluded_payer_types:
            return False
        window = self.windows.get(sector)
        return window is not None and window[0] <= month <= window[1]


@dataclass(frozen=True)
class Policies:
    min_enrollment_age_years: int
    unconfirmed: frozenset[str]
    due_day_of_month: int = 15

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Policies:
        unconfirmed = d.get("unconfirmed", [])
        if not isinstance(unconfirmed, list):
            raise ValueError("policies.unconfirmed must be a list")
        return cls(
            min_enrollment_age_years=_req_int(d, "min_enrollment_age_years", "policies", hi=150),
            due_day_of_month=_req_int(d, "due_day_of_month", "policies", lo=1, hi=28)
            if "due_day_of_month" in d
            else 15,
            unconfirmed=frozenset(unconfirmed),
        )


def _overlaps(a: tuple[DuesMonth, DuesMonth | None], b: tuple[DuesMonth, DuesMonth | None]) -> bool:
    a_end_before_b = a[1] is not None and a[1] < b[0]
    b_end_before_a = b[1] is not None and b[1] < a[0]
    return not (a_end_before_b or b_end_before_a)


_DEFAULT_RESOURCE = ("data", "bpu_rates.json")


class RateBook:
    """Effective-dated BPU rates, discounts and policies, validated on load."""

    def __init__(
        self,
        versions: Iterable[RateVersion],
        discounts: Iterable[DiscountProgram],
        policies: Policies,
    ) -> None:
        self.versions: tuple[RateVersion, ...] = tuple(sorted(versions, key=lambda v: v.effective_from))
        self.discounts: tuple[DiscountProgram, ...] = tuple(discounts)
        self.policies = policies
        if not self.versions:
            raise ValueError("rate book needs at least one version")
        # Overlaps would make the price depend on file order: reject them at load.
        for a, b in zip(self.versions, self.versions[1:], strict=False):
            if _overlaps((a.effective_from, a.effective_until), (b.effective_from, b.effective_until)):
                raise ValueError(f"rate versions {a.id} and {b.id} overlap")
        ids = [v.id for v in self.versions] + [d.id for d in self.discounts]
        if len(ids) != len(set(ids)):
            raise ValueError("rate version / discount ids must be unique")
        # Stacking rules for concurrent discounts are unknown: forbid them until a regulation says.
        for i, a in enumerate(self.discounts):
            for b in self.discounts[i + 1 :]:
                for sector in set(a.windows) & set(b.windows):
                    if _overlaps(a.windows[sector], b.windows[sector]):
                        raise ValueError(f"discounts {a.id} and {b.id} overlap for sector {sector}")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> RateBook:
        if not isinstance(d, Mapping):
            raise ValueError("rate book must be a JSON object")
        versions = d.get("versions")
        if not isinstance(versions, list):
            raise ValueError("versions must be a list")
        discounts = d.get("discounts", [])
        if not isinstance(discounts, list):
            raise ValueError("discounts must be a list")
        return cls(
            versions=[RateVersion.from_dict(v, f"versions[{i}]") for i, v in enumerate(versions)],
            discounts=[DiscountProgram.from_dict(x, f"discounts[{i}]") for i, x in enumerate(discounts)],
            policies=Policies.from_dict(_req_map(d, "policies", "rate book")),
        )

    @staticmethod
    def default_data() -> dict[str, Any]:
        """A fresh copy of the packaged JSON (tests and tools may modify it)."""
        return copy.deepcopy(_default_data())

    @classmethod
    def load(cls, path: str | Path | None = None) -> RateBook:
        """The packaged rate book (cached), or the one at ``path``."""
        if path is None:
            return _default_book()
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))

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

    def restricted_to(self, month: DuesMonth | str) -> RateBook:
        """Same book holding only the version in force for ``month`` (for audits and tests)."""
        return RateBook([self.rules_for(month)], self.discounts, self.policies)


@lru_cache(maxsize=1)
def _default_data() -> dict[str, Any]:
    ref = resources.files(__package__)
    for part in _DEFAULT_RESOURCE:
        ref = ref.joinpath(part)
    return json.loads(ref.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _default_book() -> RateBook:
    return RateBook.from_dict(_default_data())


# ---------------------------------------------------------------------------
# Quote


def quote_dues(
    *,
    monthly_income: int,
    sector: Sector,
    programs: Iterable[Program],
    month: DuesMonth | str,
    payer_type: PayerType = "self",
    rate_book: RateBook | None = None,
) -> DuesQuote:
    """Monthly BPU dues for a declared income.

    JKK = 1% of the bracket income clamped to floor/ceiling; JKM flat; JHT = 2%
    of the bracket income when chosen. A discount program in force for the
    month/sector (and not excluded for the payer type) takes ``rate_bp`` of the
    programs it covers (JKK+JKM for PP 50/2025), rounded down: the discount
    never exceeds the regulation's share and the dues are never under-collected.
    """
    errors: list[FieldError] = []

    if not isinstance(monthly_income, int) or isinstance(monthly_income, bool):
        errors.append(FieldError("monthly_income", "monthly income must be a whole number of rupiah"))
    elif monthly_income < 0:
        errors.append(FieldError("monthly_income", "monthly income must not be negative"))

    if sector not in SECTORS:
        errors.append(FieldError("sector", f"sector must be one of {', '.join(SECTORS)}"))
    if payer_type not in PAYER_TYPES:
        errors.append(FieldError("payer_type", f"payer type must be one of {', '.join(PAYER_TYPES)}"))

    chosen: set[str] = set()
    if isinstance(programs, (str, bytes)) or not isinstance(programs, Iterable):
        errors.append(FieldError("programs", "programs must be a list such as ['JKK', 'JKM']"))
    else:
        items = list(programs)
        unknown = [p for p in items if p not in PROGRAMS]
        chosen = {p for p in items if p in PROGRAMS}
        problems = []
        if unknown:
            problems.append(f"unknown program(s) {sorted(map(str, unknown))}; allowed: {', '.join(PROGRAMS)}")
        missing = [p for p in MANDATORY_PROGRAMS if p not in chosen]
        if missing:
            problems.append(f"BPU participants must take JKK and JKM; missing {', '.join(missing)}")
        if problems:
            errors.append(FieldError("programs", "; ".join(problems)))  # one entry per field

    dues_month: DuesMonth | None = None
    try:
        dues_month = DuesMonth.coerce(month)
    except (ValueError, TypeError) as exc:
        errors.append(FieldError("month", str(exc)))

    if errors:
        raise DomainValidationError(errors)
    assert dues_month is not None

    book = rate_book or RateBook.load()
    rules = book.rules_for(dues_month)  # RulesNotInForce if no version covers it
    bracket = rules.bracket_for(monthly_income)
    amounts = {
        "JKK": rules.jkk_for(bracket),
        "JKM": rules.jkm_flat,
        "JHT": rules.jht_for(bracket) if "JHT" in chosen else 0,
    }
    discount = 0
    program = book.discount_for(dues_month, sector, payer_type)
    if program is not None:
        discount = _pct(sum(amounts[p] for p in program.programs), program.rate_bp)

    return DuesQuote(
        month=str(dues_month),
        income_bracket=bracket,
        jkk=amounts["JKK"],
        jkm=amounts["JKM"],
        jht=amounts["JHT"],
        discount=discount,
        total=amounts["JKK"] + amounts["JKM"] + amounts["JHT"] - discount,
    )
