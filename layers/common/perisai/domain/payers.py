"""Who pays which dues month: the payer timeline of a participant, and what a statement shows.

A participant is enrolled with a payer (the worker, a SERTAKAN sponsor or a local government);
a payer can take the worker over from a month on, or stop paying from a month on. Each dues
month's payer is the one in force for that month. Pure functions over plain values.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["PAYER_CHANNELS", "mask_name", "payer_in_force", "replace_from"]

# Partner channels that pay for workers (BPU_RULES: SERTAKAN sponsors, APBD local governments).
PAYER_CHANNELS = {"sponsor": "sponsor", "local_government": "government"}

P = TypeVar("P")
C = TypeVar("C")


def payer_in_force(initial: P, changes: Sequence[tuple[str, P]], month: str) -> P:
    """The payer of dues month ``month``: the latest change from a month at or before it, else
    the enrollment's payer. ``changes`` are (from_month, payer); months compare as YYYY-MM."""
    current = initial
    for from_month, payer in sorted(changes, key=lambda change: change[0]):
        if from_month <= month:
            current = payer
    return current


def replace_from(changes: Sequence[C], from_month: str, change: C, month_of: Sequence[str]) -> list[C]:
    """The timeline with ``change`` in force from ``from_month``: it replaces every change from
    that month on (a later decision overrides what was planned after it). ``month_of[i]`` is the
    from-month of ``changes[i]``."""
    kept = [c for c, m in zip(changes, month_of, strict=True) if m < from_month]
    return [*kept, change]


def mask_name(full_name: str) -> str:
    """A name as a statement shows it: each word's first letter, the rest starred
    ("Siti Aminah" -> "S*** A*****"); enough for a finance office to match, not to identify."""
    return " ".join(word[0] + "*" * (len(word) - 1) for word in full_name.split())
