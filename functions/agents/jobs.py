"""The daily agent-inactivity job (EventBridge Scheduler, 01:00 Asia/Jakarta): flags the active
agents without an acquisition or a collection for the policy's whole months. It reads only the
inactivity index partitions of the months that qualify (a bounded window), never a scan."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.agents.models import InactivityRun
from perisai.agents.repository import AgentRepository
from perisai.agents.service import AgentInactivity
from perisai.clock import clock
from perisai.domain.agents import AgentPolicy
from perisai.observability import logger, metrics
from perisai.settings import AgentsEnv


@cache
def job() -> AgentInactivity:
    env = AgentsEnv.load()
    store = AgentRepository(env.participants_table)
    return AgentInactivity(store=store, index=store, policy=AgentPolicy.packaged())


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
def inactivity(event: dict[str, Any], _context: LambdaContext) -> dict[str, Any]:
    run = InactivityRun.model_validate(event)
    # The instant the run was scheduled for: a retried run decides as the first would have.
    at = run.scheduled_at or clock.now()
    logger.set_correlation_id(f"{run.job}@{at.isoformat()}")
    summary = job().run(at)
    metrics.add_metric(name="AgentsFlaggedInactive", unit="Count", value=int(summary["flagged"]))
    logger.info("agent inactivity run", extra={"job": run.job, **summary})
    return {"job": run.job, **summary}


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: load the policy, build the client, read a request (no AWS call)."""
    job()
    aws.client("dynamodb")
    InactivityRun.model_validate({"job": "agent-inactivity", "scheduled_at": "2026-12-01T01:00:00+07:00"})
    "perisai.example".encode("idna")  # botocore's first connection would import the codec


snapstart.register_after_restore(snapstart.renew_after_restore)
