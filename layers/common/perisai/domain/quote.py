"""BPU dues (iuran) for one month: the quote and its computation from the rate book."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .errors import DomainValidationError, FieldError
from .months import MONTH_PATTERN, DuesMonth
from .programs import (
    MANDATORY_PROGRAMS,
    PAYER_TYPES,
    PROGRAMS,
    SECTORS,
    PayerType,
    Program,
    Sector,
    missing_mandatory_programs,
)
from .rates import RateBook

__all__ = ["DuesQuote", "quote_dues"]


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

    Arguments are checked at run time too (callers pass request data): every bad
    one is reported at once, each on its own field.
    """
    errors: list[FieldError] = []

    income: object = monthly_income
    if not isinstance(income, int) or isinstance(income, bool):
        errors.append(FieldError("monthly_income", "monthly income must be a whole number of rupiah"))
    elif monthly_income < 0:
        errors.append(FieldError("monthly_income", "monthly income must not be negative"))

    if sector not in SECTORS:
        errors.append(FieldError("sector", f"sector must be one of {', '.join(SECTORS)}"))
    if payer_type not in PAYER_TYPES:
        errors.append(FieldError("payer_type", f"payer type must be one of {', '.join(PAYER_TYPES)}"))

    chosen: set[Program] = set()
    if isinstance(programs, str | bytes) or not isinstance(programs, Iterable):
        errors.append(FieldError("programs", "programs must be a list such as ['JKK', 'JKM']"))
    else:
        items: list[object] = list(programs)
        unknown = [p for p in items if p not in PROGRAMS]
        chosen = {p for p in PROGRAMS if p in items}
        problems = []
        if unknown:
            problems.append(f"unknown program(s) {sorted(map(str, unknown))}; allowed: {', '.join(PROGRAMS)}")
        missing = missing_mandatory_programs(chosen)
        if missing:
            problems.append(
                f"BPU participants must take {' and '.join(MANDATORY_PROGRAMS)}; missing {', '.join(missing)}"
            )
        if problems:
            errors.append(FieldError("programs", "; ".join(problems)))  # one entry per field

    dues_month: DuesMonth | None = None
    try:
        dues_month = DuesMonth.coerce(month)
    except (ValueError, TypeError) as exc:
        errors.append(FieldError("month", str(exc)))

    if errors or dues_month is None:
        raise DomainValidationError(errors)

    book = rate_book or RateBook.load()
    rules = book.rules_for(dues_month)  # RulesNotInForce if no version covers it
    bracket = rules.bracket_for(monthly_income)
    amounts: dict[Program, int] = {
        "JKK": rules.jkk_for(bracket),
        "JKM": rules.jkm.flat,
        "JHT": rules.jht_for(bracket) if "JHT" in chosen else 0,
    }
    program = book.discount_for(dues_month, sector, payer_type)
    discount = program.discount_on(amounts) if program is not None else 0

    return DuesQuote(
        month=str(dues_month),
        income_bracket=bracket,
        jkk=amounts["JKK"],
        jkm=amounts["JKM"],
        jht=amounts["JHT"],
        discount=discount,
        total=sum(amounts.values()) - discount,
    )
