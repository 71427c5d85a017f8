"""Scheduled jobs (EventBridge Scheduler, Asia/Jakarta): dues reminders and lapse detection.

Neither job is built yet; their schedules are deployed disabled, and invoking one raises so a
manual run fails visibly instead of pretending to have reminded anybody. (The welcome SMS is
not a reminder: functions/notifier.)
"""

from __future__ import annotations

from typing import Any, Literal

from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import BaseModel

from perisai.errors import NotBuilt
from perisai.observability import logger, metrics


class JobRequest(BaseModel):
    job: Literal["dues-reminders", "lapse-detection"]
    scheduled_at: str | None = None


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def run_job(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    request = JobRequest.model_validate(event)
    logger.info("scheduled job invoked", extra={"job": request.job, "scheduled_at": request.scheduled_at})
    raise NotBuilt(f"job {request.job} is planned but not built yet")
