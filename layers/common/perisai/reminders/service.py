"""The daily jobs and the reminder sender.

``ReminderJobs.start`` runs on a schedule and only fans out: one page task per index range and
shard onto the jobs queue. ``ReminderJobs.run_page`` handles one task within seconds and queues
the next page, so no invocation runs long whatever the table size, and a failed page is retried
from where it stopped (the task, or the round's cursor, says where).

- lapse-detection moves the participants of each range to ``arrears`` or ``lapsed``, each with its
  event through the outbox, atomically and on the version it read. Moved participants leave the
  range, so a second run at the same instant finds nobody.
- dues-reminders opens the day's rounds (``<kind>#<month>``) and queues one reminder per
  participant, within the day's SMS budget (what the send window still holds at the pace); what
  does not fit waits on the round's cursor for the next day's run (carried over, never dropped).

``ReminderSender.remind`` sends one reminder: in the send window only, to a worker who has not
opted out and still owes the month, with the code of an open payment order, once per
participant, month and kind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Protocol

from perisai.clock import JAKARTA
from perisai.domain.billing import ORDER_MONTH_COUNTS
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.rates import RateBook
from perisai.domain.reminders import JobRead, ReminderBook, day_budget, reminder_reads, status_reads
from perisai.models import Model
from perisai.notifications.sender import Delivery, SendOutcome
from perisai.participants.models import Participant
from perisai.participants.repository import DUE_MONTH_SHARDS, DomainEvent
from perisai.participants.service import ParticipantWriter, modify, shown_status, standing_of
from perisai.payments.models import PaymentOrderView
from perisai.reminders.models import (
    DueEntry,
    JobRequest,
    PageTask,
    ParticipantInArrears,
    ParticipantLapsed,
    ReminderMessage,
    ReminderRound,
    RoundCursor,
)

# A cursor left "running" this long has lost its page task (dead-lettered): the next run resumes it.
STUCK_SECONDS = 3600


class SendLater(Exception):
    """Quiet hours: the message waits until ``until``."""

    def __init__(self, until: datetime, now: datetime) -> None:
        super().__init__(f"quiet hours: waits until {until.isoformat()}")
        self.seconds = max(1, int((until - now).total_seconds()))


class DueIndex(Protocol):
    def due_page(
        self, month: str, status: str, shard: int, after: str | None, limit: int
    ) -> tuple[list[DueEntry], bool]: ...


class Rounds(Protocol):
    def open_round(self, round_: ReminderRound, cursors: Sequence[RoundCursor]) -> bool: ...
    def open_rounds(self) -> list[ReminderRound]: ...
    def close_round(self, round_id: str) -> None: ...
    def cursors(self, round_id: str) -> list[RoundCursor]: ...
    def cursor(self, round_id: str, month: str, status: str, shard: int) -> RoundCursor | None: ...
    def move_cursor(self, cursor: RoundCursor, read_after: str | None) -> bool: ...
    def take_budget(self, day: date, wanted: int, capacity: int) -> int: ...
    def last_run(self, job: str) -> date | None: ...
    def record_run(self, job: str, day: date) -> None: ...


class Queue(Protocol):
    def send(self, messages: Sequence[Model]) -> None: ...


@dataclass
class ReminderJobs:
    index: DueIndex
    rounds: Rounds
    tasks: Queue
    sms: Queue
    participants: ParticipantWriter
    book: ReminderBook
    rate_book: RateBook
    rate_per_second: int
    page_size: int = 200

    # -- the scheduled run: fan out -----------------------------------------------------------

    def start(self, request: JobRequest, now: datetime) -> dict[str, int]:
        at = (request.scheduled_at or now).astimezone(JAKARTA)
        today = at.date()
        if request.job == "lapse-detection":
            policies = self.rate_book.policies
            reads = status_reads(
                today,
                due_day=policies.due_day_of_month,
                window_months=policies.arrears_window_months,
                catch_up_months=self.book.plan.catch_up_months,
                since=self.rounds.last_run(request.job),
            )
            tasks = [self._task(request, at, read, shard) for read in reads for shard in range(DUE_MONTH_SHARDS)]
            self.tasks.send(tasks)
            # Recorded once the pages are queued (a failure before re-runs the whole day; each
            # page moves only who is still in its range, so nothing moves twice).
            self.rounds.record_run(request.job, today)
            return {"page_tasks": len(tasks)}
        opened = self._open_rounds(today, at)
        budget_day, _ = day_budget(at, self.book.sms, self.rate_per_second)
        tasks = []
        # Newest first: the due day's reminders go before what is left of the 10th's.
        for round_ in sorted(self.rounds.open_rounds(), key=lambda r: r.started_on, reverse=True):
            if self._expired(round_, today):
                # What such a round has not sent yet no longer fits its text (the due date has
                # passed, or a newer month's arrears round took over): the next round reaches them.
                self.rounds.close_round(round_.round_id)
                continue
            cursors = self.rounds.cursors(round_.round_id)
            if cursors and all(c.state == "done" for c in cursors):
                self.rounds.close_round(round_.round_id)
                continue
            tasks.extend(
                PageTask(
                    job="dues-reminders",
                    day=today,
                    at=at,
                    month=c.month,
                    status=c.status,
                    shard=c.shard,
                    after=c.after,
                    round_id=c.round_id,
                    kind=c.kind,
                )
                for c in cursors
                if _resumable(c, budget_day, now)
            )
        self.tasks.send(tasks)
        for task in tasks:
            # Marked after the tasks are queued: a crash in between re-queues them next run, and
            # a duplicate task is refused by the cursor (it has moved on).
            cursor = self.rounds.cursor(task.round_id or "", task.month, task.status, task.shard)
            if cursor is not None and cursor.after == task.after and cursor.state != "done":
                self.rounds.move_cursor(cursor.model_copy(update={"state": "running", "updated_at": now}), task.after)
        return {"rounds_opened": opened, "page_tasks": len(tasks)}

    def _expired(self, round_: ReminderRound, today: date) -> bool:
        month = DuesMonth.parse(round_.month)
        try:
            audience = self.book.rule(round_.kind).audience
        except KeyError:
            return True  # a kind the book no longer has
        if audience == "unpaid_current":
            return today > month.due_date(self.rate_book)
        return DuesMonth.of(today) > month

    def _open_rounds(self, today: date, at: datetime) -> int:
        opened = 0
        window = self.rate_book.policies.arrears_window_months
        # A rule opens on its day once its time has come (the schedule runs hourly).
        for rule in (r for r in self.book.rules_on(today) if r.send_from <= at.time().replace(tzinfo=None)):
            month = str(DuesMonth.of(today))
            round_ = ReminderRound(round_id=f"{rule.kind}#{month}", kind=rule.kind, month=month, started_on=today)
            cursors = [
                RoundCursor(
                    round_id=round_.round_id,
                    kind=rule.kind,
                    month=str(read.month),
                    status=read.status,  # type: ignore[arg-type]  # JobRead statuses are participant statuses
                    shard=shard,
                    state="paused",  # the resume step below queues it, like any paused range
                    updated_at=at,
                )
                for read in reminder_reads(rule, today, window)
                for shard in range(DUE_MONTH_SHARDS)
            ]
            opened += self.rounds.open_round(round_, cursors)
        return opened

    def _task(self, request: JobRequest, at: datetime, read: JobRead, shard: int) -> PageTask:
        return PageTask(
            job=request.job,
            day=at.date(),
            at=at,
            month=str(read.month),
            status=read.status,  # type: ignore[arg-type]  # JobRead statuses are participant statuses
            shard=shard,
        )

    # -- one page -----------------------------------------------------------------------------

    def run_page(self, task: PageTask, now: datetime) -> str:
        if task.job == "lapse-detection":
            return self._move_page(task)
        return self._remind_page(task, now)

    def _move_page(self, task: PageTask) -> str:
        entries, more = self.index.due_page(task.month, task.status, task.shard, task.after, self.page_size)
        moved, kept_after = 0, task.after
        for entry in entries:
            if self._move(entry.participant_id, task.day, task.at):
                moved += 1
            else:
                # Still in the range (the index lags a write, or a payment arrived): read past it.
                kept_after = entry.gsi2sk
        if more:
            self.tasks.send([task.model_copy(update={"after": kept_after})])
        return f"moved {moved} of {len(entries)}"

    def _move(self, participant_id: str, today: date, at: datetime) -> bool:
        policies = self.rate_book.policies
        changed = False

        def change(current: Participant) -> tuple[Participant, list[DomainEvent]] | None:
            nonlocal changed
            now_standing = standing_of(current, today, policies)
            # Forward only, to arrears or lapsed; never an ended participation, nor arrears for a
            # worker who never paid (no protection to end: pending_payment until lapsed).
            moved_to = shown_status(current, now_standing)
            if moved_to not in ("arrears", "lapsed") or moved_to == current.status:
                changed = False
                return None
            changed = True
            updated = current.model_copy(
                update={"status": moved_to, "next_dues_month": str(now_standing.next_dues_month)}
            )
            first_unpaid = (
                DuesMonth.parse(current.covered_through).next()
                if current.covered_through
                else DuesMonth.parse(current.first_dues_month)
            )
            detail: Model
            if moved_to == "arrears":
                detail = ParticipantInArrears(
                    event_id=str(uuid.uuid4()),
                    participant_id=current.participant_id,
                    partner_id=current.partner_id,
                    covered_through=current.covered_through,
                    first_unpaid_month=str(first_unpaid),
                    months_owed=now_standing.months_owed,
                    # billing.standing always gives arrears a last day
                    last_day_to_pay=now_standing.last_day_to_pay or today,
                    at=at,
                )
                return updated, [DomainEvent("ParticipantInArrears", detail)]
            detail = ParticipantLapsed(
                event_id=str(uuid.uuid4()),
                participant_id=current.participant_id,
                partner_id=current.partner_id,
                covered_through=current.covered_through,
                first_unpaid_month=str(first_unpaid),
                lapsed_on=today,
                at=at,
            )
            return updated, [DomainEvent("ParticipantLapsed", detail)]

        modify(self.participants, participant_id, change)
        return changed

    def _remind_page(self, task: PageTask, now: datetime) -> str:
        round_id = task.round_id or ""
        cursor = self.rounds.cursor(round_id, task.month, task.status, task.shard)
        if cursor is None or cursor.state == "done" or cursor.after != task.after:
            return "stale page task (the round's cursor has moved on)"
        entries, more = self.index.due_page(task.month, task.status, task.shard, task.after, self.page_size)
        wanted = [e for e in entries if not e.sms_opt_out]
        at = now.astimezone(JAKARTA)
        budget_day, capacity = day_budget(at, self.book.sms, self.rate_per_second)
        granted = self.rounds.take_budget(budget_day, len(wanted), capacity) if wanted else 0
        sending = wanted[:granted]
        if granted < len(wanted):
            # The day is full: stop after the last one planned; the next day's run goes on from there.
            after = sending[-1].gsi2sk if sending else task.after
            state = "paused"
        else:
            after = entries[-1].gsi2sk if entries else task.after
            state = "running" if more else "done"
        # The month the round is about (an arrears range may be an older month).
        month = round_id.split("#", 1)[1]
        self.sms.send(
            [
                ReminderMessage(
                    participant_id=e.participant_id,
                    kind=cursor.kind,
                    month=month,
                    round_id=round_id,
                    planned_for=budget_day,
                )
                for e in sending
            ]
        )
        moved = cursor.model_copy(
            update={
                "after": after,
                "state": state,
                "budget_day": budget_day,
                "planned": cursor.planned + len(sending),
                "updated_at": now,
            }
        )
        if state == "running":
            # Queued before the cursor moves: a failure in between retries this page (its SMS are
            # sent once by their claims); never a moved cursor with no task to go on.
            self.tasks.send([task.model_copy(update={"after": after})])
        if not self.rounds.move_cursor(moved, task.after):
            return "stale page task (a duplicate got there first)"
        return f"planned {len(sending)} reminders for {budget_day}, {state}"


def _resumable(cursor: RoundCursor, budget_day: date, now: datetime) -> bool:
    if cursor.state == "paused":
        return cursor.budget_day is None or cursor.budget_day < budget_day
    if cursor.state == "running":
        return (now - cursor.updated_at).total_seconds() > STUCK_SECONDS
    return False


# -- the sender -----------------------------------------------------------------------------


class ParticipantReader(Protocol):
    def get(self, participant_id: str) -> Participant | None: ...


class OrderOpener(Protocol):
    def open_order(
        self, participant_id: str, months: int, partner: Partner, now: datetime, payable_until: datetime | None = None
    ) -> tuple[PaymentOrderView, bool]: ...


class Sms(Protocol):
    def was_sent(self, notification_id: str) -> bool: ...
    def send_once(self, notification_id: str, phone: str, message: str, delivery: Delivery) -> SendOutcome: ...


class Pace(Protocol):
    def acquire(self) -> int: ...


@dataclass
class ReminderSender:
    participants: ParticipantReader
    payments: OrderOpener
    sms: Sms
    pace: Pace
    book: ReminderBook
    rate_book: RateBook
    clock: Callable[[], datetime]

    def remind(self, message: ReminderMessage, delivery: Delivery, now: datetime) -> str:
        at = now.astimezone(JAKARTA)
        if not self.book.sms.allows(at):
            raise SendLater(self.book.sms.next_send_time(at), at)
        participant = self.participants.get(message.participant_id)
        if participant is None:
            return "participant not found"
        if participant.sms_opt_out:
            return "opted out"
        if participant.status == "ended":
            return "participation ended"
        payer = participant.payer_for(participant.next_dues_month)
        if payer is not None and payer.type != "self":
            # A sponsor or local government pays the next unpaid month (its bulk orders): nothing to ask of the worker.
            return f"paid by {payer.type} {payer.id}"
        if self.sms.was_sent(message.notification_id):
            return str(SendOutcome.ALREADY_HANDLED)
        rule = self.book.rule(message.kind)
        policies = self.rate_book.policies
        now_standing = standing_of(participant, at.date(), policies)
        if rule.audience == "unpaid_current":
            if now_standing.status not in ("pending_payment", "active") or str(now_standing.next_dues_month) != (
                message.month
            ):
                return f"no longer due ({now_standing.status}, next month {now_standing.next_dues_month})"
            months = 1
        else:
            if now_standing.status != "arrears":
                return f"not in arrears ({now_standing.status})"
            # Orders bill 1, 3, 6 or 12 months: the fewest that clear what is owed.
            months = next(n for n in ORDER_MONTH_COUNTS if n >= now_standing.months_owed)
        month = DuesMonth.parse(message.month)
        deadline = month.due_date(self.rate_book) if rule.audience == "unpaid_current" else now_standing.last_day_to_pay
        order, _ = self.payments.open_order(
            participant.participant_id,
            months,
            # Opened on the participant's own channel, so their partner sees and collects it.
            Partner(participant.partner_id, participant.channel, frozenset({"pay"})),
            now,
            # The code stays payable to the end of the deadline the SMS states.
            payable_until=datetime.combine(deadline or at.date(), time(23, 59, 59), tzinfo=JAKARTA),
        )
        text = rule.render(
            month=month,
            amount=order.amount,
            code=order.payment_code,
            due=month.due_date(self.rate_book),
            months_owed=now_standing.months_owed,
            months_billed=len(order.months),
            last_day=now_standing.last_day_to_pay,
        )
        self.pace.acquire()
        sending_at = self.clock().astimezone(JAKARTA)
        if not self.book.sms.allows(sending_at):
            # The wait for a send slot ran into quiet hours.
            raise SendLater(self.book.sms.next_send_time(sending_at), sending_at)
        return str(self.sms.send_once(message.notification_id, participant.phone, text, delivery))
