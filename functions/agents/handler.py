"""Agen Perisai registry: a partner (scope enroll) or the back office registers an agent, reads
it, deactivates and reactivates it. The agent reports (evaluation list, performance, statements,
coverage) come from reports.py, a Router included here."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

# The agent reports: a Router in this function's folder.
import reports  # type: ignore[import-not-found]  # this folder: on Lambda's path, not on mypy's (checked as its own file)
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, snapstart
from perisai.agents.models import AgentRequest, AgentView, StatusChangeRequest
from perisai.agents.repository import AgentRepository
from perisai.agents.service import AgentService
from perisai.api import build_resolver, documented, json_body, partner_of, scoped
from perisai.clock import clock
from perisai.domain.agents import AGENT_CODE_PATTERN
from perisai.domain.errors import DomainValidationError
from perisai.domain.partners import PARTNER_ID_PATTERN
from perisai.observability import logger, metrics
from perisai.settings import AgentsEnv

app = build_resolver()
app.include_router(reports.build_router())

AGENT_CODE = Annotated[str, Path(pattern=AGENT_CODE_PATTERN, description="The agent's code, in any case")]
PARTNER_ID = Annotated[
    str | None,
    Query(
        pattern=PARTNER_ID_PATTERN,
        description="Back office: the agent's partner (default: the one partner with an agent of this code)",
    ),
]
# No field is needed: the body may be absent or {} (anything but a JSON object is refused).
StatusBody = Annotated[StatusChangeRequest | None, Body(description='Optional: {"reason"}')]


@cache
def service() -> AgentService:
    env = AgentsEnv.load()
    return AgentService(AgentRepository(env.participants_table, env.partners_table))


@app.post(
    "/v1/agents",
    **scoped("enroll"),
    responses={
        **documented(201, AgentView, 400, 401, 403, 409, 413, 415, 422),
        200: {
            "description": "The same registration again: the agent as registered",
            "content": {"application/json": {"model": AgentView}},
        },
    },
    summary="Register an Agen Perisai (the caller's own, or any partner's for the back office)",
    tags=["Agents"],
)
def register_agent(agent: AgentRequest) -> Response[AgentView]:
    view, created = service().register(agent, partner_of(app), clock.now())
    if created:
        metrics.add_metric(name="AgentRegistered", unit="Count", value=1)
        logger.info("agent registered", extra={"agent_partner": view.partner_id, "home_regency": view.home_regency})
    return json_body(view, status=201 if created else 200)


@app.get(
    "/v1/agents/<agent_code>",
    **scoped("enroll"),
    responses=documented(200, AgentView, 401, 403, 404, 422),
    summary="An agent, as its partner (or the back office) sees it",
    tags=["Agents"],
)
def get_agent(agent_code: AGENT_CODE, partner_id: PARTNER_ID = None) -> AgentView:
    return service().view(agent_code, partner_of(app), partner_id)


def _note(body: StatusChangeRequest | None) -> str | None:
    if not isinstance(app.current_event.json_body, dict | None):
        # Powertools validates a JSON array's first item against a model body ([{}] would pass).
        raise DomainValidationError.single("body", "must be a JSON object, or absent")
    return body.reason if body else None


@app.post(
    "/v1/agents/<agent_code>/deactivate",
    **scoped("enroll"),
    responses=documented(200, AgentView, 400, 401, 403, 404, 413, 415, 422),
    summary="Deactivate an agent: enrollments may no longer name it (asking again changes nothing)",
    tags=["Agents"],
)
def deactivate_agent(agent_code: AGENT_CODE, partner_id: PARTNER_ID = None, change: StatusBody = None) -> AgentView:
    view = service().deactivate(agent_code, partner_of(app), partner_id, _note(change), clock.now())
    logger.info("agent deactivated", extra={"agent_partner": view.partner_id, "status": view.status})
    return view


@app.post(
    "/v1/agents/<agent_code>/reactivate",
    **scoped("enroll"),
    responses=documented(200, AgentView, 400, 401, 403, 404, 413, 415, 422),
    summary="Reactivate an agent: its inactivity clock starts again this month (asking again changes nothing)",
    tags=["Agents"],
)
def reactivate_agent(agent_code: AGENT_CODE, partner_id: PARTNER_ID = None, change: StatusBody = None) -> AgentView:
    view = service().reactivate(agent_code, partner_of(app), partner_id, _note(change), clock.now())
    logger.info("agent reactivated", extra={"agent_partner": view.partner_id, "status": view.status})
    return view


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    response: dict[str, Any] = app.resolve(event, context)
    return response


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: build the service and its client, validate a registration (phone and
    regency data), and run requests that are refused before any AWS call."""
    service()
    aws.client("dynamodb")
    AgentRequest.model_validate(PRIMING_AGENT)
    snapstart.prime_handler(
        handler,
        [
            snapstart.api_event("GET", "/v1/no-such-route", {}, None),
            snapstart.api_event("POST", "/v1/agents", {}, '{"agent_code": "?"}'),  # 422
        ],
    )


snapstart.register_after_restore(snapstart.renew_after_restore)

# A valid registration (checked, never stored); its phone is none the tests use.
PRIMING_AGENT = {
    "agent_code": "prime-01",
    "name": "Priming",
    "phone": "0812-9999-0002",
    "home_regency": "3273",
}
