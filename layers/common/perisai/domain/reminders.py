"""Dues reminders and the daily status job: which participants a day's run reads, what their SMS
says, when an SMS may go out, and how many days a month's reminders need at a given rate.

Pure: the book is the packaged ``data/reminders.json``; callers pass dates, times and counts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator, model_validator

from . import policy_data
from .months import DuesMonth

__all__ = [
    "GSM7_SINGLE",
    "JobRead",
    "ReminderBook",
    "ReminderRule",
    "SmsPlan",
    "SmsWindow",
    "day_budget",
    "gsm7",
    "reminder_reads",
    "segments",
    "sms_plan",
    "status_reads",
]

GSM7_SINGLE = 160
GSM7_SEGMENT = 153
# GSM 03.38 basic character set (one septet each); the extension table (e.g. [ ] { } ~ ^ | \ and
# the euro sign) costs two septets and is refused in templates: plain Bahasa Indonesia needs none.
_GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
Audience = Literal["unpaid_current", "arrears"]
# Statuses of the by_due_month index's sort key (status#participant_id) a job reads.
UNPAID = ("pending_payment", "active")


class _Data(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SmsWindow(_Data):
    send_from: time
    quiet_from: time
    source: StrictStr
    price_per_segment_idr: Annotated[StrictInt, Field(ge=0)]
    price_effective_from: date
    price_source: StrictStr

    @model_validator(mode="after")
    def _ordered(self) -> SmsWindow:
        if self.send_from >= self.quiet_from:
            raise ValueError("send_from must be before quiet_from (the window lies within one day)")
        return self

    @property
    def seconds(self) -> int:
        return _seconds(self.quiet_from) - _seconds(self.send_from)

    def allows(self, at: datetime) -> bool:
        """Whether an SMS may go out at ``at`` (read in the zone it carries: Asia/Jakarta)."""
        return self.send_from <= at.timetz().replace(tzinfo=None) < self.quiet_from

    def next_send_time(self, at: datetime) -> datetime:
        """``at`` when it lies in the window, else the window's next opening (the same zone)."""
        if self.allows(at):
            return at
        day = at.date() if at.timetz().replace(tzinfo=None) < self.send_from else at.date() + timedelta(days=1)
        return datetime.combine(day, self.send_from, tzinfo=at.tzinfo)


class PlanSettings(_Data):
    days_before_due: Annotated[StrictInt, Field(ge=1, le=28)]
    catch_up_months: Annotated[StrictInt, Field(ge=0, le=24)]
    source: StrictStr


class ReminderRule(_Data):
    kind: Annotated[StrictStr, Field(pattern=r"^[a-z_]{3,20}$")]
    audience: Audience
    day_of_month: Annotated[StrictInt, Field(ge=1, le=28)]
    send_from: time
    template: StrictStr

    def render(
        self,
        *,
        month: DuesMonth,
        amount: int,
        code: str,
        due: date,
        months_owed: int,
        last_day: date | None,
        months_billed: int = 1,
    ) -> str:
        text = self.template.format_map(
            {
                "month": f"{_MONTHS[month.month - 1]} {month.year}",
                "amount": "Rp" + f"{amount:,}".replace(",", "."),
                "code": code,
                "due": f"{due.day:02d}/{due.month:02d}",
                "months_owed": str(months_owed),
                "months_billed": str(months_billed),
                "last_day": last_day.strftime("%d/%m/%Y") if last_day else "-",
            }
        )
        return gsm7(text)


class ReminderBook(_Data):
    schema_version: Literal[1]
    comment: StrictStr = Field(alias="_comment")
    sms: SmsWindow
    plan: PlanSettings
    reminders: tuple[ReminderRule, ...] = Field(min_length=1)

    @field_validator("reminders")
    @classmethod
    def _fit_one_sms(cls, rules: tuple[ReminderRule, ...]) -> tuple[ReminderRule, ...]:
        kinds = [r.kind for r in rules]
        if len(set(kinds)) != len(kinds):
            raise ValueError("each reminder kind appears once")
        for rule in rules:
            # The longest values a message can carry: the widest month, Rp999.999.999, a
            # 16-digit code; a template that cannot fit them is refused when the book loads.
            rule.render(
                month=DuesMonth(2026, 9),
                amount=999_999_999,
                code="9" * 16,
                due=date(2026, 12, 28),
                months_owed=12,
                months_billed=12,
                last_day=date(2026, 12, 28),
            )
        return rules

    def rules_on(self, day: date) -> list[ReminderRule]:
        return [r for r in self.reminders if r.day_of_month == day.day]

    def rule(self, kind: str) -> ReminderRule:
        for r in self.reminders:
            if r.kind == kind:
                return r
        raise KeyError(kind)

    @staticmethod
    @lru_cache(maxsize=1)
    def packaged() -> ReminderBook:
        return ReminderBook.model_validate(policy_data.packaged("reminders.json"))

    @staticmethod
    def from_file(path: Path) -> ReminderBook:
        return ReminderBook.model_validate(json.loads(path.read_text(encoding="utf-8")))


def gsm7(text: str) -> str:
    """``text`` if it is one GSM-7 SMS (basic set, at most 160 characters); ValueError otherwise."""
    outside = sorted({c for c in text if c not in _GSM7_BASIC})
    if outside:
        raise ValueError(f"SMS text has characters outside GSM-7's basic set: {outside!r}")
    if len(text) > GSM7_SINGLE:
        raise ValueError(f"SMS text is {len(text)} characters; one SMS holds {GSM7_SINGLE}")
    return text


def segments(text: str) -> int:
    """Message parts a text is billed as: 1 up to 160 GSM-7 characters, then 153 per part."""
    if all(c in _GSM7_BASIC for c in text):
        return 1 if len(text) <= GSM7_SINGLE else math.ceil(len(text) / GSM7_SEGMENT)
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)  # UCS-2


# -- which index ranges a day's run reads ----------------------------------------------------


@dataclass(frozen=True)
class JobRead:
    """One range of the by_due_month index: participants owing ``month`` whose status is ``status``."""

    month: DuesMonth
    status: str


def reminder_reads(rule: ReminderRule, today: date, window_months: int) -> list[JobRead]:
    """Who ``rule`` reminds on ``today``.

    ``unpaid_current``: whose first unpaid month is the current one (pending or active).
    ``arrears``: owing overdue months inside the window: in arrears, or never paid with their
    first month overdue (they stay pending_payment, see ``status_reads``), at most
    ``window_months`` months back.
    """
    current = DuesMonth.of(today)
    if rule.audience == "unpaid_current":
        return [JobRead(current, status) for status in UNPAID]
    return [
        JobRead(current.plus(-back), status)
        for back in range(window_months, 0, -1)
        for status in ("arrears", "pending_payment")
    ]


def status_reads(
    today: date, *, due_day: int, window_months: int, catch_up_months: int, since: date | None = None
) -> list[JobRead]:
    """The ranges whose participants the daily status job moves on ``today``, the job having last
    run on ``since`` (None: never, so it catches up as far as it reaches).

    Participants move only on the day after a due date: month M's active participants go to
    arrears (or straight to lapsed when runs were missed) the day after M's due date; those in
    arrears, and those who never paid, whose first unpaid month is M lapse the day after the due
    date of M + window. So a run reads the ranges of the transition days since the last run, and
    on other days reads nothing. Missed runs are caught up, at most ``catch_up_months`` beyond the
    window back. A worker who never paid had no protection to end, so they stay pending_payment
    until they lapse (as GET /v1/participants/{id} shows them). Every participant read is one the
    job changes: the ranges hold nobody else.
    """
    oldest = today - timedelta(days=31 * (window_months + 1 + catch_up_months))
    if since is not None and since > today:  # locally, a clock moved back: today only
        since = today - timedelta(days=1)
    # Never ran: every transition day it could have missed, as far back as the catch-up reaches.
    day = max(since or oldest, oldest) + timedelta(days=1)
    reads: list[JobRead] = []
    while day <= today:
        due = day - timedelta(days=1)
        if due.day == due_day:
            month = DuesMonth.of(due)
            reads.append(JobRead(month, "active"))
            reads.extend(JobRead(month.plus(-window_months), status) for status in ("pending_payment", "arrears"))
        day += timedelta(days=1)
    return list(dict.fromkeys(reads))


# -- the SMS budget ------------------------------------------------------------------------------


def day_budget(at: datetime, window: SmsWindow, rate_per_second: int) -> tuple[date, int]:
    """The day whose window a run at ``at`` fills, and how many SMS fit in what is left of it.

    In the window: today, from ``at`` to the quiet hour. In quiet hours: the next window, whole.
    """
    start = window.next_send_time(at)
    end = datetime.combine(start.date(), window.quiet_from, tzinfo=start.tzinfo)
    return start.date(), int((end - start).total_seconds()) * rate_per_second


@dataclass(frozen=True)
class SmsPlan:
    reminders: int
    rate_per_second: int
    per_day: int
    days_needed: int
    days_available: int
    daily: tuple[int, ...]

    @property
    def fits(self) -> bool:
        return self.days_needed <= self.days_available

    def rate_to_fit(self, days: int) -> int:
        """The smallest whole rate (SMS per second) that sends every reminder within ``days``."""
        return math.ceil(self.reminders / (days * (self.per_day // self.rate_per_second)))


def sms_plan(
    *, participants: int, unpaid_share: float, rate_per_second: int, window: SmsWindow, days_available: int
) -> SmsPlan:
    """How one month's first reminders spread over days at ``rate_per_second``: each day carries
    what its window holds and the rest carries over to the next day, none dropped."""
    if participants < 0 or not 0 <= unpaid_share <= 1 or rate_per_second < 1:
        raise ValueError("participants >= 0, 0 <= unpaid_share <= 1 and rate_per_second >= 1")
    reminders = round(participants * unpaid_share)
    per_day = window.seconds * rate_per_second
    daily: list[int] = []
    left = reminders
    while left > 0:
        daily.append(min(per_day, left))
        left -= daily[-1]
    return SmsPlan(reminders, rate_per_second, per_day, len(daily), days_available, tuple(daily))


def _seconds(t: time) -> int:
    return t.hour * 3600 + t.minute * 60 + t.second
