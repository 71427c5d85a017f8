"""The scheme's policy data: JSON files packaged in ``perisai/domain/data``, and the one rule
all its effective-dated books share (the version in force is the latest taking effect on or
before the day asked about; two versions never take effect on the same day)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date
from importlib import resources
from typing import Any, Protocol, TypeVar


class Dated(Protocol):
    @property
    def effective_from(self) -> date: ...


V = TypeVar("V", bound=Dated)


def packaged(name: str) -> Any:
    """The parsed JSON of ``data/<name>`` (callers validate it and keep the result)."""
    return json.loads(resources.files("perisai.domain").joinpath("data", name).read_text(encoding="utf-8"))


def in_force(versions: Iterable[V], day: date) -> V | None:
    """The version in force on ``day``, or None before the first one takes effect."""
    started = [v for v in versions if v.effective_from <= day]
    return max(started, key=lambda v: v.effective_from) if started else None


def one_version_per_day(versions: Iterable[Dated], what: str) -> None:
    """Refuses a book in which two versions of ``what`` take effect on the same day."""
    days = [v.effective_from for v in versions]
    if len(set(days)) != len(days):
        raise ValueError(f"two {what} versions take effect on the same day")
