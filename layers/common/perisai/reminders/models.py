"""What the reminder and status jobs pass around: index entries, page tasks, reminder messages,
and the events a status change publishes (no NIK, name or phone in any of them)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from perisai.models import Model, StoredModel
from perisai.participants.models import ParticipantStatus

JobName = Literal["dues-reminders", "lapse-detection"]


class JobRequest(Model):
    """What a schedule sends: the job and the instant it was scheduled for."""

    job: JobName
    scheduled_at: datetime | None = None


class DueEntry(StoredModel):
    """One participant as the by_due_month index carries it (what a run decides on)."""

    participant_id: str
    partner_id: str
    status: ParticipantStatus
    sms_opt_out: bool = False
    first_dues_month: str
    covered_through: str | None = None
    next_dues_month: str
    gsi2sk: str


class PageTask(Model):
    """One page of one index range, for the page worker (the jobs queue carries these).

    ``job`` lapse-detection: the range's participants move to arrears or lapsed; they leave the
    range as they move, so the next page starts from the top again unless one could not be moved
    (then ``after`` skips past it). dues-reminders: ``round_id`` names the round whose cursor
    records how far the range was read; ``after`` is where this page starts.
    """

    job: JobName
    day: date
    at: datetime
    month: str
    status: ParticipantStatus
    shard: Annotated[int, Field(ge=0, lt=64)]
    after: str | None = None
    round_id: str | None = None
    kind: str | None = None


class ReminderMessage(Model):
    """One reminder to send (the SMS queue carries these): the sender re-reads the participant,
    so a worker who paid or opted out since the run gets nothing."""

    participant_id: str
    kind: str
    # The month the reminder is about: the unpaid current month, or the month an arrears
    # reminder goes out in. With the participant and the kind, what makes an SMS unique.
    month: str
    round_id: str
    planned_for: date

    @property
    def notification_id(self) -> str:
        return f"reminder:{self.kind}:{self.month}:{self.participant_id}"


class ParticipantInArrears(Model):
    """Detail of ParticipantInArrears: the dues month passed its due date unpaid; protection
    ended with ``covered_through``."""

    event_id: str
    participant_id: str
    partner_id: str
    covered_through: str | None
    first_unpaid_month: str
    months_owed: int
    last_day_to_pay: date
    at: datetime


class ParticipantLapsed(Model):
    """Detail of ParticipantLapsed: more than the arrears window of consecutive unpaid months;
    the participation ended (paying resumes it from the current month)."""

    event_id: str
    participant_id: str
    partner_id: str
    covered_through: str | None
    first_unpaid_month: str
    lapsed_on: date
    at: datetime


class RoundCursor(StoredModel):
    """How far a reminder round has read one index range: ``REMINDERS#<round id>`` /
    ``RANGE#<month>#<status>#<shard>``. ``state``: running (a page task is in flight), paused
    (the day's SMS budget ran out on ``budget_day``; the next day's run resumes it) or done."""

    round_id: str
    kind: str
    month: str
    status: ParticipantStatus
    shard: int
    after: str | None = None
    state: Literal["running", "paused", "done"]
    budget_day: date | None = None
    planned: int = 0
    updated_at: datetime


class ReminderRound(StoredModel):
    """A round that has not finished: ``REMINDERS#OPEN`` / ``<round id>``."""

    round_id: str
    kind: str
    month: str
    started_on: date
