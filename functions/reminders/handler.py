"""Scheduled jobs (EventBridge Scheduler, Asia/Jakarta): dues reminders and lapse detection.

Neither job is built yet; their schedules are deployed disabled, and invoking one raises so a
manual run fails visibly instead of pretending to have reminded anybody. (The welcome SMS is
not a reminder: functions/notifier.)
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import snapstart
from perisai.errors import NotBuilt
from perisai.models import Model
from perisai.observability import logger, metrics


class JobRequest(Model):
    job: Literal["dues-reminders", "lapse-detection"]
    scheduled_at: str | None = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def run_job(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    request = JobRequest.model_validate(event)
    logger.info("scheduled job invoked", extra={"job": request.job, "scheduled_at": request.scheduled_at})
    raise NotBuilt(f"job {request.job} is planned but not built yet")


@snapstart.register_before_snapshot
def prime() -> None:
    """Validate a job request before the snapshot (the jobs make no AWS call yet)."""
    JobRequest.model_validate({"job": "dues-reminders", "scheduled_at": "2026-12-10T09:00:00+07:00"})


snapstart.register_after_restore(snapstart.renew_after_restore)
