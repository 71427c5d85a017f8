"""Coverage and agent figures, kept incrementally from domain events (pure rules, no AWS).

Each participant has a *record*: the dimensions it is counted under (fixed at its first
enrollment) and the facts its events told (enrolled, paid, reversed, status moved, claim paid).
What a participant adds to the counters is a pure function of its record (``contribution``), so
an event is applied as the difference between the contribution before and after it. Whatever the
order in which events arrive, and however often one is delivered, the counters equal the sum of
every participant's contribution; replaying the archive rebuilds the same counters.

Counters hold, per dimension key and month, *flows* (new, reactivated, dues, claims paid) and
*changes* of each participant's standing at the end of the month. A figure for month M is the
flow of M, or the sum of the changes of every month up to M.

Definitions (README, "Coverage and agent figures"):
- active at the end of month M: dues paid through M (covered_through >= M), participation not ended;
- otherwise, at the end of M: ended (a claim ended the participation), lapsed, pending_payment
  (enrolled, first month never paid), or arrears (any other unpaid participant);
- new in M: first enrollments in M (a reactivation is not new);
- reactivated in M: participants whose participation resumed in M after a lapse;
- dues collected in M: contributions credited in M, less those reversed in M.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Literal

from perisai.domain.months import DuesMonth

FactKind = Literal["enrolled", "paid", "reversed", "status", "claim_paid"]
Standing = Literal["active", "arrears", "lapsed", "pending_payment", "ended"]
STANDINGS: tuple[Standing, ...] = ("active", "arrears", "lapsed", "pending_payment", "ended")
FLOWS = ("new", "reactivated", "dues", "claims_paid_count", "claims_paid_amount")
DIMENSIONS = ("province", "regency", "channel", "agent", "sector")
# Counter items are split by year (one item per key and year), so an item and the cost of each
# update stay bounded however long the scheme runs; a month before this year is kept in its item.
FIRST_COUNTER_YEAR = 2026
NO_AGENT = "none"
UNKNOWN_REGION = "unknown"


@dataclass(frozen=True)
class Dimensions:
    """Where a participant is counted; fixed at the first enrollment."""

    partner_id: str
    channel: str
    sector: str
    regency: str | None
    agent_code: str | None

    def keys(self) -> dict[str, str]:
        """The row key of this participant in each report dimension."""
        regency = self.regency or UNKNOWN_REGION
        return {
            "province": regency[:2] if self.regency else UNKNOWN_REGION,
            "regency": regency,
            "channel": self.channel,
            "agent": agent_key(self.partner_id, self.agent_code) if self.agent_code else NO_AGENT,
            "sector": self.sector,
        }


def agent_key(partner_id: str, agent_code: str) -> str:
    """An agent's key in counters: codes are unique per partner, case-insensitively."""
    return f"{partner_id}/{agent_code.upper()}"


@dataclass(frozen=True)
class Fact:
    """What one event said about one participant."""

    event_id: str
    kind: FactKind
    at: datetime
    status: str | None = None  # the participant's status after the event, when it says
    covered_through: str | None = None  # ... and the last month paid, when it says
    amount: int = 0  # rupiah paid (paid), taken back (reversed) or paid out (claim_paid)
    months: int = 0  # dues months paid (paid) or taken back (reversed)
    first_enrollment: bool = False  # enrolled: the first one (not a reactivation)
    covered_known: bool = False  # covered_through is stated (it may be stated as None)

    @property
    def month(self) -> DuesMonth:
        return DuesMonth.of(self.at)


@dataclass(frozen=True)
class Record:
    participant_id: str
    dimensions: Dimensions | None = None
    facts: tuple[Fact, ...] = ()

    def knows(self, event_id: str) -> bool:
        return any(f.event_id == event_id for f in self.facts)

    def with_fact(self, fact: Fact, dimensions: Dimensions | None = None) -> Record:
        dims = self.dimensions
        if dimensions is not None and (dims is None or fact.first_enrollment):
            dims = dimensions  # the first enrollment's dimensions win over a reactivation's
        return Record(self.participant_id, dims, (*self.facts, fact))


# A contribution: (month, field) -> amount. Fields are the FLOWS, the STANDINGS (changes),
# and, for agents only, "active@<cohort>" and "single@<cohort>" (see ``contribution``).
Counts = dict[tuple[str, str], int]


@dataclass(frozen=True)
class Contribution:
    common: Counts = field(default_factory=dict)  # every dimension
    agent: Counts = field(default_factory=dict)  # the agent dimension only (cohorts)
    dues_by_month: dict[str, tuple[int, int]] = field(default_factory=dict)  # month -> (rupiah, months)


def standing_at(status: str | None, covered_through: str | None, month: DuesMonth) -> Standing | None:
    """A participant's standing at the end of ``month``, given its last status and paid month."""
    if status is None:
        return None
    if status == "ended":
        return "ended"
    if covered_through is not None and DuesMonth.parse(covered_through) >= month:
        return "active"
    if status in ("pending_payment", "arrears", "lapsed"):
        return status  # type: ignore[return-value]  # narrowed by the membership test above
    return "arrears"  # marked active but not paid through the month: past due at its end


def _ordered(facts: Iterable[Fact]) -> list[Fact]:
    return sorted(facts, key=lambda f: (f.at, f.event_id))


def contribution(record: Record) -> Contribution:
    """What this participant adds to the counters (nothing until its enrollment is known)."""
    if record.dimensions is None or not record.facts:
        return Contribution()
    facts = _ordered(record.facts)
    common: Counts = defaultdict(int)
    agent: Counts = defaultdict(int)
    dues: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    first = next((f for f in facts if f.kind == "enrolled" and f.first_enrollment), None)
    cohort = str(first.month) if first else None
    if first:
        common[(str(first.month), "new")] += 1

    status: str | None = None
    covered: str | None = None
    paid_months = paid_amount = 0
    lapsed = False  # lapsed since last active: the next move to active is a reactivation
    by_month: dict[DuesMonth, tuple[str | None, str | None, int, int]] = {}
    for fact in facts:
        month = str(fact.month)
        if fact.kind == "enrolled":
            status = "pending_payment" if status in (None, "lapsed") else status
        elif fact.kind in ("paid", "reversed"):
            sign = 1 if fact.kind == "paid" else -1
            common[(month, "dues")] += sign * fact.amount
            line = dues[month]
            line[0] += sign * fact.amount
            line[1] += sign * fact.months
            paid_months += sign * fact.months
            paid_amount += sign * fact.amount
        elif fact.kind == "claim_paid":
            common[(month, "claims_paid_count")] += 1
            common[(month, "claims_paid_amount")] += fact.amount
        if fact.status is not None:
            if fact.status == "active" and lapsed:
                common[(month, "reactivated")] += 1
            lapsed = fact.status == "lapsed" or (lapsed and fact.status != "active")
            status = fact.status
        if fact.covered_known:
            covered = fact.covered_through
        by_month[fact.month] = (status, covered, paid_months, paid_amount)

    # Standing at the end of each month from the first fact's until it can no longer change
    # without a new fact: one month past the last paid month, or the last fact's month.
    months = sorted(by_month)
    last = months[-1]
    if covered is not None and status not in ("ended", "lapsed"):
        last = max(last, DuesMonth.parse(covered).next())
    previous: Standing | None = None
    previous_single = 0
    state: tuple[str | None, str | None, int, int] = (None, None, 0, 0)
    cursor = months[0]
    while cursor <= last:
        state = by_month.get(cursor, state)
        now = standing_at(state[0], state[1], cursor)
        single = state[3] if state[2] == 1 else 0  # dues of a recruit who paid one month only
        key = str(cursor)
        if now != previous:
            if previous is not None:
                common[(key, previous)] -= 1
            if now is not None:
                common[(key, now)] += 1
            if cohort and "active" in (now, previous):
                agent[(key, f"active@{cohort}")] += 1 if now == "active" else -1
        if cohort and single != previous_single:
            agent[(key, f"single@{cohort}")] += single - previous_single
        previous, previous_single = now, single
        cursor = cursor.next()
    return Contribution(
        {k: v for k, v in common.items() if v},
        {k: v for k, v in agent.items() if v},
        {m: (a, n) for m, (a, n) in dues.items() if a or n},
    )


def difference(before: Counts, after: Counts) -> Counts:
    keys = set(before) | set(after)
    return {k: after.get(k, 0) - before.get(k, 0) for k in keys if after.get(k, 0) != before.get(k, 0)}


# -- reading counters ---------------------------------------------------------------------------


def counter_attribute(month: str, name: str) -> str:
    return f"{month}|{name}"


def counter_year(month: str) -> int:
    """The year of the counter item that keeps ``month``'s attributes."""
    return max(int(month[:4]), FIRST_COUNTER_YEAR)


# Counters hold nothing later than this many years after today: months are paid at most 12 ahead.
COUNTER_YEARS_AHEAD = 2


def counter_years(upto: DuesMonth, today: DuesMonth) -> range:
    """The years of the counter items a figure of month ``upto`` sums (the months up to it), never
    past the years that can hold anything: a far-future month costs no more reads than next year."""
    last = min(upto.year, today.year + COUNTER_YEARS_AHEAD)
    return range(FIRST_COUNTER_YEAR, max(FIRST_COUNTER_YEAR, last) + 1)


def split_attribute(attribute: str) -> tuple[str, str] | None:
    month, sep, name = attribute.partition("|")
    return (month, name) if sep and len(month) == 7 else None


@dataclass(frozen=True)
class Figures:
    """One row of a report: the figures of month ``month`` for one key."""

    ever_enrolled: int
    standing: dict[str, int]
    flows: dict[str, int]

    @classmethod
    def zero(cls) -> Figures:
        standing: dict[str, int] = dict.fromkeys(STANDINGS, 0)
        return cls(0, standing, dict.fromkeys(FLOWS, 0))

    @property
    def empty(self) -> bool:
        return not self.ever_enrolled and not any(self.standing.values()) and not any(self.flows.values())

    def plus(self, other: Figures) -> Figures:
        return Figures(
            self.ever_enrolled + other.ever_enrolled,
            {k: v + other.standing[k] for k, v in self.standing.items()},
            {k: v + other.flows[k] for k, v in self.flows.items()},
        )


def ratio(part: int, whole: int | None) -> float | None:
    # Not rounded: a few thousand active workers over 84 million is a ratio of 1e-5 or less.
    return part / whole if whole else None


def figures(values: Mapping[str, int], month: DuesMonth) -> Figures:
    """The figures of ``month`` from one counter item's attributes ("YYYY-MM|field" -> n)."""
    upto = str(month)
    standing: dict[str, int] = dict.fromkeys(STANDINGS, 0)
    flows = dict.fromkeys(FLOWS, 0)
    ever = 0
    for attribute, value in values.items():
        parsed = split_attribute(attribute)
        if parsed is None:
            continue
        at, name = parsed
        if at > upto:
            continue
        if name in standing:
            standing[name] += value
        elif name == "new":
            ever += value
        if at == upto and name in flows:
            flows[name] += value
    return Figures(ever, standing, flows)


def cumulative(values: Mapping[str, int], name: str, upto: DuesMonth) -> int:
    """The sum of field ``name`` over every month up to ``upto``."""
    total = 0
    for attribute, value in values.items():
        parsed = split_attribute(attribute)
        if parsed and parsed[1] == name and parsed[0] <= str(upto):
            total += value
    return total


def cohorts(values: Mapping[str, int]) -> Iterator[str]:
    """The cohort months present in an agent's counters, oldest first."""
    seen = sorted({p[0] for a in values if (p := split_attribute(a)) and p[1] == "new" and values[a]})
    yield from seen


# -- the denominator: informal workers -----------------------------------------------------------

DENOMINATORS_FILE = Path(__file__).parent / "data" / "informal_workers.json"


@dataclass(frozen=True)
class Denominators:
    """Informal workers, from a dated public source: the national figure, and a province's only
    where a public source gives it (else None: its coverage ratio is null, never guessed)."""

    source: str
    national: int
    provinces: Mapping[str, int | None]

    @classmethod
    def load(cls, path: Path = DENOMINATORS_FILE) -> Denominators:
        data = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            source=f"{data['source']} ({data['as_of']})",
            national=int(data["national"]),
            provinces={str(k): (int(v) if v is not None else None) for k, v in data.get("provinces", {}).items()},
        )

    def for_key(self, dimension: str, key: str) -> int | None:
        return self.provinces.get(key) if dimension == "province" else None
