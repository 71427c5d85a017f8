"""Dues months: the calendar month (Asia/Jakarta) a contribution pays for."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from pydantic import GetCoreSchemaHandler, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import core_schema

from perisai.clock import JAKARTA

if TYPE_CHECKING:
    from .rates import RateBook

__all__ = ["MONTH_PATTERN", "DuesMonth"]

MONTH_PATTERN = r"^\d{4}-(0[1-9]|1[0-2])$"
_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})$")


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
            day = day.astimezone(JAKARTA).date()
        return cls(day.year, day.month)

    @classmethod
    def coerce(cls, value: DuesMonth | str) -> DuesMonth:
        return value if isinstance(value, DuesMonth) else cls.parse(value)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    # Month arithmetic as integer arithmetic on the ordinal, so year boundaries need no special case.
    @property
    def ordinal(self) -> int:
        """Months since January of year 0 (2026-01 -> 24312): consecutive months differ by 1."""
        return self.year * 12 + (self.month - 1)

    @classmethod
    def from_ordinal(cls, n: int) -> DuesMonth:
        return cls(n // 12, n % 12 + 1)

    def plus(self, n: int) -> DuesMonth:
        """The month ``n`` months later (earlier if ``n`` is negative)."""
        return DuesMonth.from_ordinal(self.ordinal + n)

    def next(self) -> DuesMonth:
        return self.plus(1)

    def previous(self) -> DuesMonth:
        return self.plus(-1)

    def months_since(self, other: DuesMonth) -> int:
        """``self - other`` in months: 2026-02 since 2025-11 is 3 (negative if ``other`` is later)."""
        return self.ordinal - other.ordinal

    def due_date(self, rate_book: RateBook | None = None) -> date:
        # Due by a day of the same month, set in the rate data (policies.due_day_of_month). The
        # "next working day if that day is a public holiday" rule needs a holiday calendar: out
        # of scope here, callers that enforce deadlines must apply it.
        from .rates import RateBook  # deferred: rates imports this module

        return date(self.year, self.month, (rate_book or RateBook.load()).policies.due_day_of_month)

    # Lets pydantic models hold a DuesMonth, read from and written as "YYYY-MM".
    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(
            cls.coerce,
            serialization=core_schema.plain_serializer_function_ser_schema(str),
        )

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "pattern": MONTH_PATTERN, "examples": ["2026-11"]}
