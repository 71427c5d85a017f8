"""Worker notifications and the scheduled jobs.

- ``notify``: domain events from the notifications queue -> SMS (paced by the queue's event
  source mapping, sent at most once per event).
- ``run_job``: EventBridge Scheduler (Asia/Jakarta) jobs: dues reminders and lapse detection.
  Neither job is built yet; their schedules are deployed disabled, and invoking one raises so a
  manual run fails visibly instead of pretending to have reminded anybody.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Literal

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from perisai.errors import NotBuilt
from perisai.notifications.sender import Delivery
from perisai.notifications.service import NotificationService
from perisai.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


class JobRequest(BaseModel):
    job: Literal["dues-reminders", "lapse-detection"]
    scheduled_at: str | None = None


@cache
def notifications() -> NotificationService:
    return NotificationService.from_environment()


def _notify_one(record: SQSRecord) -> None:
    delivery = Delivery(record.message_id, int(record.attributes.approximate_receive_count or 1))
    outcome = notifications().handle_event(record.json_body, delivery)
    logger.info("notification handled", extra={"outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def notify(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return process_partial_response(event=event, record_handler=_notify_one, processor=processor, context=context)


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler
@metrics.log_metrics
def run_job(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = JobRequest.model_validate(event)
    logger.info("scheduled job invoked", extra={"job": request.job, "scheduled_at": request.scheduled_at})
    raise NotBuilt(f"job {request.job} is planned but not built yet")
