"""BPU programs, sectors and payer types, and the programs every participant must take."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal, get_args

from .errors import DomainValidationError

__all__ = [
    "MANDATORY_PROGRAMS",
    "PAYER_TYPES",
    "PROGRAMS",
    "SECTORS",
    "PayerType",
    "Program",
    "Sector",
    "missing_mandatory_programs",
    "require_mandatory_programs",
]

Program = Literal["JKK", "JKM", "JHT"]
Sector = Literal["transport", "other"]
PayerType = Literal["self", "sponsor", "government"]

# Canonical order (the order of the Literal): responses and stored items list programs this way.
PROGRAMS: tuple[Program, ...] = get_args(Program)
SECTORS: tuple[Sector, ...] = get_args(Sector)
PAYER_TYPES: tuple[PayerType, ...] = get_args(PayerType)

# BPU_RULES: JKK (work accident) + JKM (death) are the minimum; JHT is optional.
MANDATORY_PROGRAMS: tuple[Program, ...] = ("JKK", "JKM")


def missing_mandatory_programs(programs: Iterable[str]) -> tuple[Program, ...]:
    """The mandatory programs not in ``programs``, in canonical order."""
    chosen = set(programs)
    return tuple(p for p in MANDATORY_PROGRAMS if p not in chosen)


def require_mandatory_programs(programs: Iterable[Program]) -> list[Program]:
    """``programs`` without duplicates, in canonical order; raises on field ``programs`` if JKK or JKM is missing."""
    chosen = set(programs)
    missing = missing_mandatory_programs(chosen)
    if missing:
        raise DomainValidationError.single(
            "programs", f"programs must include {' and '.join(MANDATORY_PROGRAMS)}; missing {', '.join(missing)}"
        )
    return [p for p in PROGRAMS if p in chosen]
