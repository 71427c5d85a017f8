"""Domain exceptions: pure Python, no AWS; the API layer maps them to HTTP."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class DomainError(Exception):
    """Base for every business-rule failure."""


class DomainValidationError(DomainError):
    """Input breaks a rule; names every offending field so clients can show them all at once."""

    def __init__(self, fields: Iterable[FieldError]) -> None:
        self.fields: list[FieldError] = list(fields)
        if not self.fields:
            raise ValueError("DomainValidationError needs at least one field error")
        super().__init__("; ".join(f"{f.field}: {f.message}" for f in self.fields))

    @classmethod
    def single(cls, field: str, message: str) -> DomainValidationError:
        return cls([FieldError(field, message)])

    @property
    def field_names(self) -> list[str]:
        return [f.field for f in self.fields]


class RulesNotInForce(DomainError):
    """No rate version covers the dues month: refuse rather than guess a price."""

    def __init__(self, month: str) -> None:
        self.month = month
        super().__init__(f"no BPU rate version is in force for dues month {month}")
