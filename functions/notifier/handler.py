"""Welcome SMS: ParticipantEnrolled events from the notifications queue -> one SMS per worker.

Paced by the queue's event source mapping (low maximum concurrency) and sent at most once per
event (a claim item per notification); a failed record goes back to the queue on its own.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.enrollment.models import ParticipantEnrolled
from perisai.notifications import messages
from perisai.notifications.sender import Delivery
from perisai.notifications.service import NotificationService
from perisai.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def notifications() -> NotificationService:
    return NotificationService.from_environment()


def _notify_one(record: SQSRecord) -> None:
    delivery = Delivery(record.message_id, int(record.attributes.approximate_receive_count or 1))
    event = record.json_body
    # The domain event's id, as the outbox relay logged it: one change followed across functions.
    logger.set_correlation_id(str((event.get("detail") or {}).get("event_id") or record.message_id))
    outcome = notifications().handle_event(event, delivery)
    logger.info("notification handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_notify_one, processor=processor, context=context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Build the service and its clients, read an event and write a message before the snapshot
    (no AWS call): creating the SNS client alone loads botocore's SNS model."""
    notifications()
    for name in ("dynamodb", "sns"):
        aws.client(name)
    ParticipantEnrolled.model_validate(PRIMING_EVENT)
    messages.welcome("PST-PRIMING00000", "2026-11", 16_800, date(2026, 11, 15), date(2026, 11, 3))
    "perisai.example".encode("idna")  # botocore's first connection would import the codec


snapstart.register_after_restore(snapstart.renew_after_restore)

PRIMING_EVENT = {
    "event_id": "priming",
    "participant_id": "PST-PRIMING00000",
    "partner_id": "priming",
    "channel": "agent_network",
    "agent_code": None,
    "sector": "transport",
    "programs": ["JKK", "JKM"],
    "payer_type": "self",
    "first_dues_month": "2026-11",
    "first_dues_total": 16_800,
    "enrolled_at": "2026-11-03T02:00:00+00:00",
}
