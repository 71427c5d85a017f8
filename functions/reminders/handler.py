"""Scheduled jobs (EventBridge Scheduler, Asia/Jakarta): dues reminders and the daily status job.

``run_job`` is what a schedule invokes: it only fans out page tasks onto the jobs queue.
``process_pages`` handles those tasks (one index page each) from the queue, with partial-batch
failure reporting: a failed page returns to the queue and, after its retries, to the DLQ.
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
from perisai.clock import clock
from perisai.domain.rates import RateBook
from perisai.domain.reminders import ReminderBook
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.queues import JobQueue
from perisai.reminders.models import JobRequest, PageTask
from perisai.reminders.repository import ReminderRepository
from perisai.reminders.service import ReminderJobs
from perisai.settings import RemindersEnv

processor = BatchProcessor(event_type=EventType.SQS)


@cache
def jobs() -> ReminderJobs:
    env = RemindersEnv.load()
    store = ReminderRepository(env.participants_table)
    return ReminderJobs(
        index=store,
        rounds=store,
        tasks=JobQueue(env.reminder_pages_queue_url),
        sms=JobQueue(env.reminder_sms_queue_url),
        participants=ParticipantRepository(env.participants_table),
        book=ReminderBook.packaged(),
        rate_book=RateBook.load(),
        rate_per_second=env.sms_rate_per_second,
    )


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def run_job(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    request = JobRequest.model_validate(event)
    logger.set_correlation_id(f"{request.job}@{request.scheduled_at.isoformat() if request.scheduled_at else 'now'}")
    summary = jobs().start(request, clock.now())
    logger.info("scheduled job fanned out", extra={"job": request.job, **summary})
    return {"job": request.job, **summary}


def _page(record: SQSRecord) -> None:
    task = PageTask.model_validate_json(record.body)
    logger.set_correlation_id(f"{task.job}@{task.at.isoformat()}")
    outcome = jobs().run_page(task, clock.now())
    logger.info("page handled", extra={"job": task.job, "month": task.month, "shard": task.shard, "outcome": outcome})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def process_pages(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=_page, processor=processor, context=context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: load the books, build the clients, read a request and a task (no AWS call)."""
    jobs()
    for name in ("dynamodb", "sqs"):
        aws.client(name)
    JobRequest.model_validate({"job": "dues-reminders", "scheduled_at": "2026-12-10T09:00:00+07:00"})
    PageTask.model_validate_json(PRIMING_TASK)
    ReminderBook.packaged().rules_on(date(2026, 12, 10))
    "perisai.example".encode("idna")  # botocore's first connection would import the codec


snapstart.register_after_restore(snapstart.renew_after_restore)

PRIMING_TASK = (
    '{"job": "lapse-detection", "day": "2026-12-16", "at": "2026-12-16T00:30:00+07:00", '
    '"month": "2026-12", "status": "active", "shard": 0}'
)
