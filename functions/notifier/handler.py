"""Welcome SMS: ParticipantEnrolled events from the notifications queue -> one SMS per worker.

Paced by the queue's event source mapping (low maximum concurrency) and sent at most once per
event (a claim item per notification); a failed record goes back to the queue on its own.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai.notifications.sender import Delivery
from perisai.notifications.service import NotificationService
from perisai.observability import logger, metrics

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def notifications() -> NotificationService:
    return NotificationService.from_environment()


def _notify_one(record: SQSRecord) -> None:
    delivery = Delivery(record.message_id, int(record.attributes.approximate_receive_count or 1))
    outcome = notifications().handle_event(record.json_body, delivery)
    logger.info("notification handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_notify_one, processor=processor, context=context)
