"""Reminder SMS: messages from the reminder queue -> one SMS each, paced and in the send window.

Powertools batch processing with partial-failure reporting: a record that fails goes back to
the queue and, after its retries, to the dead-letter queue. In quiet hours a record is kept
invisible until the window opens (08:00 WIB) and reported failed, so it waits, not drops.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.clock import clock
from perisai.domain.rates import RateBook
from perisai.domain.reminders import ReminderBook
from perisai.notifications.sender import Delivery, SendOutcome, SmsSender
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.payments.repository import DynamoPaymentStore
from perisai.payments.service import PaymentService
from perisai.queues import JobQueue
from perisai.reminders.models import ReminderMessage
from perisai.reminders.repository import SendRate
from perisai.reminders.service import ReminderSender, SendLater
from perisai.settings import RemindersEnv

# A batch held whole for quiet hours is not a function error (no error alarm every night).
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@cache
def sender() -> ReminderSender:
    env = RemindersEnv.load()
    participants = ParticipantRepository(env.participants_table)
    rate_book = RateBook.load()
    return ReminderSender(
        participants=participants,
        payments=PaymentService(participants, DynamoPaymentStore(env.participants_table, participants), rate_book),
        sms=SmsSender(env.participants_table, env.sms_sender_id),
        pace=SendRate(env.participants_table, env.sms_rate_per_second),
        book=ReminderBook.packaged(),
        rate_book=rate_book,
        clock=clock.now,
    )


@cache
def queue() -> JobQueue:
    return JobQueue(RemindersEnv.load().reminder_sms_queue_url)


def _send_one(record: SQSRecord) -> None:
    message = ReminderMessage.model_validate_json(record.body)
    logger.set_correlation_id(f"{message.round_id}:{message.participant_id[-4:]}")
    delivery = Delivery(record.message_id, int(record.attributes.approximate_receive_count or 1))
    try:
        outcome = sender().remind(message, delivery, clock.now())
    except SendLater as later:
        queue().defer(record.receipt_handle, later.seconds)
        logger.info("reminder waits for the send window", extra={"seconds": later.seconds})
        raise
    if outcome == str(SendOutcome.SENT):
        metrics.add_metric(name="ReminderSmsSent", unit="Count", value=1)
    logger.info("reminder handled", extra={"kind": message.kind, "outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def send(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_send_one, processor=processor, context=context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: build the service and its clients, read a message, render a text."""
    sender()
    for name in ("dynamodb", "sqs", "sns"):
        aws.client(name)
    ReminderMessage.model_validate_json(PRIMING_MESSAGE)
    from datetime import date

    from perisai.domain.months import DuesMonth

    book = ReminderBook.packaged()
    for rule in book.reminders:
        rule.render(
            month=DuesMonth(2026, 12),
            amount=16_800,
            code="12345678901234",
            due=date(2026, 12, 15),
            months_owed=1,
            last_day=date(2027, 3, 15),
        )
    "perisai.example".encode("idna")


snapstart.register_after_restore(snapstart.renew_after_restore)

PRIMING_MESSAGE = (
    '{"participant_id": "PST-PRIMING00000", "kind": "before_due", "month": "2026-12", '
    '"round_id": "before_due#2026-12", "planned_for": "2026-12-10"}'
)
