"""Agent reports: the evaluation list, an agent's performance and statement, and the coverage
report. A Powertools Router that handler.py includes: ``build_router()`` makes one per handler
module, so each execution environment's resolver has its own router (a router reads its
resolver's request).

Not built yet: each route answers an honest 501 until the reports arrive (issue 14), so the
deployed routes and the served document already agree."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from perisai.api import documented, scoped
from perisai.not_built import not_built


def build_router() -> Router:
    router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @router.get(
        "/v1/agents",
        **scoped("enroll"),
        responses=documented(None, None, 401, 403, 501),
        summary="The evaluation list of agents (not built yet)",
        tags=["Agents"],
    )
    def list_agents() -> None:
        raise not_built("the agent evaluation list")

    @router.get(
        "/v1/agents/<agent_code>/performance",
        **scoped("enroll"),
        responses=documented(None, None, 401, 403, 501),
        summary="An agent's performance in a month (not built yet)",
        tags=["Agents"],
    )
    def agent_performance(agent_code: str) -> None:  # noqa: ARG001  # the path parameter, used once built
        raise not_built("agent performance")

    @router.get(
        "/v1/agents/<agent_code>/statement",
        **scoped("enroll"),
        responses=documented(None, None, 401, 403, 501),
        summary="An agent's monthly commission statement (not built yet)",
        tags=["Agents"],
    )
    def agent_statement(agent_code: str) -> None:  # noqa: ARG001  # the path parameter, used once built
        raise not_built("agent statements")

    @router.get(
        "/v1/reports/coverage",
        **scoped("enroll", "pay"),
        responses=documented(None, None, 401, 403, 501),
        summary="Coverage by province, regency, channel, agent or sector (not built yet)",
        tags=["Reports"],
    )
    def coverage() -> None:
        raise not_built("the coverage report")

    return router
