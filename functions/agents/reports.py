"""Agent reports: the evaluation list, an agent's performance and monthly statement, and the
coverage report (JSON, or CSV with ``Accept: text/csv``). A Powertools Router that handler.py
includes: ``build_router()`` makes one per handler module, so each execution environment's
resolver has its own router (a router reads its resolver's request)."""

from __future__ import annotations

import csv
import io
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Path, Query

from perisai.agent_reports.models import AgentList, AgentPerformance, AgentStatement
from perisai.agent_reports.repository import AgentReportsRepository
from perisai.agent_reports.service import AgentReports
from perisai.agents.repository import AgentRepository
from perisai.api import documented, json_body, scoped
from perisai.coverage.models import CoverageReport, CoverageRow, ReportDimension
from perisai.coverage.repository import CoverageRepository
from perisai.coverage.service import CoverageReports
from perisai.domain import agent_performance as perf
from perisai.domain import coverage as rules
from perisai.domain.agents import AGENT_CODE_PATTERN
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import MONTH_PATTERN, DuesMonth
from perisai.domain.partners import PARTNER_ID_PATTERN
from perisai.participants.repository import ParticipantRepository
from perisai.settings import AgentsEnv

CSV_TYPE = "text/csv"
STATEMENT_COLUMNS = (
    "kind",
    "key",
    "months",
    "dues",
    "commission",
    "enrolled",
    "active_after_3",
    "active_after_6",
    "active_after_12",
)
COVERAGE_COLUMNS = (
    "key",
    "ever_enrolled",
    "active",
    "arrears",
    "lapsed",
    "new",
    "reactivated",
    "dues_collected",
    "claims_paid_count",
    "claims_paid_amount",
    "informal_workers",
    "coverage_ratio",
)

AGENT_CODE = Annotated[str, Path(pattern=AGENT_CODE_PATTERN, description="The agent's code, in any case")]
MONTH = Annotated[str, Query(pattern=MONTH_PATTERN, description="YYYY-MM (Asia/Jakarta)")]
PARTNER_ID = Annotated[
    str | None,
    Query(
        pattern=PARTNER_ID_PATTERN,
        description="Back office: the agent's partner (default: the one partner with an agent of this code)",
    ),
]


@cache
def reports() -> AgentReports:
    env = AgentsEnv.load()
    return AgentReports(
        agents=AgentRepository(env.participants_table),
        store=AgentReportsRepository(env.participants_table),
        counters=CoverageRepository(env.participants_table),
        profiles=ParticipantRepository(env.participants_table),
        book=perf.CommissionBook.packaged(),
    )


@cache
def coverage_reports() -> CoverageReports:
    return CoverageReports(CoverageRepository(AgentsEnv.load().participants_table), rules.Denominators.load())


def _month(text: str) -> DuesMonth:
    """The month asked (the pattern is checked already; a year such as 0000 is still refused)."""
    try:
        return DuesMonth.parse(text)
    except ValueError:
        raise DomainValidationError.single("month", "not a month (YYYY-MM)") from None


def _csv_ok(description: str, model: type[Any]) -> dict[int, Any]:
    return {
        200: {
            "description": description,
            "content": {"application/json": {"model": model}, CSV_TYPE: {"schema": {"type": "string"}}},
        }
    }


def build_router() -> Router:
    router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    def wants_csv() -> bool:
        headers = router.current_event.headers
        return CSV_TYPE in (headers.get("accept") or headers.get("Accept") or "").lower()

    @router.get(
        "/v1/agents",
        **scoped("enroll"),
        responses=documented(200, AgentList, 401, 403, 404, 422),
        summary="The evaluation list: registered agents with their active share and acquisitions to date "
        "(a partner's own; every partner's for the back office), filtered and paged",
        tags=["Agents"],
    )
    def list_agents(
        month: MONTH,
        below_active_share: Annotated[
            float | None,
            Query(ge=0, le=1, description="Only agents whose active share is below this (null shares left out)"),
        ] = None,
        regency: Annotated[
            str | None, Query(pattern=r"^[0-9]{4}$", description="Only agents of this home regency")
        ] = None,
        partner_id: Annotated[
            str | None, Query(pattern=PARTNER_ID_PATTERN, description="Back office: one partner's agents only")
        ] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        next_token: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
    ) -> AgentList:
        return reports().evaluation(
            _month(month),
            router.context["partner"],
            partner_id,
            below_active_share,
            regency,
            limit,
            next_token,
        )

    @router.get(
        "/v1/agents/<agent_code>/performance",
        **scoped("enroll"),
        responses=documented(200, AgentPerformance, 401, 403, 404, 422),
        summary="An agent's performance in a month: acquisitions, recruits' standings, active share, cohort "
        "retention, dues, commission and fraud signals",
        tags=["Agents"],
    )
    def agent_performance(agent_code: AGENT_CODE, month: MONTH, partner_id: PARTNER_ID = None) -> AgentPerformance:
        return reports().performance(agent_code, _month(month), router.context["partner"], partner_id)

    @router.get(
        "/v1/agents/<agent_code>/statement",
        **scoped("enroll"),
        responses={
            **documented(200, AgentStatement, 401, 403, 404, 422),
            **_csv_ok(
                "The agent's statement for the month; `Accept: text/csv` gets it as CSV (columns in the README)",
                AgentStatement,
            ),
        },
        summary="An agent's monthly commission statement: a line per recruit who paid, the totals and the cohort retention",
        tags=["Agents"],
    )
    def agent_statement(agent_code: AGENT_CODE, month: MONTH, partner_id: PARTNER_ID = None) -> Response[Any]:
        statement = reports().statement(agent_code, _month(month), router.context["partner"], partner_id)
        if wants_csv():
            name = f"statement-{statement.partner_id}-{statement.agent_code.upper()}-{statement.month}.csv"
            return _csv(statement_csv(statement), name)
        return json_body(statement)

    @router.get(
        "/v1/reports/coverage",
        **scoped("enroll", "pay"),
        responses={
            **documented(200, CoverageReport, 401, 403, 422),
            **_csv_ok("The month's coverage; `Accept: text/csv` gets it as CSV with a TOTAL line", CoverageReport),
        },
        summary="Coverage by province, regency, channel, agent or sector (the scheme for the back office; "
        "a partner's own participants otherwise)",
        tags=["Reports"],
    )
    def coverage(
        month: MONTH,
        by: Annotated[ReportDimension, Query(description="province, regency, channel, agent or sector")],
    ) -> Response[Any]:
        partner = router.context["partner"]
        report = coverage_reports().report(by, _month(month), None if partner.is_backoffice else partner.partner_id)
        if wants_csv():
            return _csv(coverage_csv(report), f"coverage-{report.by}-{report.month}.csv")
        return json_body(report)

    return router


def _csv(body: str, filename: str) -> Response[Any]:
    return Response(
        status_code=200,
        content_type=f"{CSV_TYPE}; charset=utf-8",
        body=body,
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _share(value: float | None) -> str | float:
    return "" if value is None else value


def statement_csv(statement: AgentStatement) -> str:
    """One table: ``recruit`` lines (key = participant id), the ``total`` line (commission =
    accrued), ``cooperative_share``, ``bonus``, ``clawback`` and ``payable`` (amount in
    ``commission``; the cooperative's name in ``key``), then a ``cohort`` line per cohort."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(STATEMENT_COLUMNS)
    blank = ("", "", "", "")
    for line in statement.lines:
        writer.writerow(["recruit", line.participant_id, line.months, line.dues, line.commission, *blank])
    t = statement.totals
    writer.writerow(["total", "TOTAL", t.months, t.dues, t.accrued, *blank])
    writer.writerow(["cooperative_share", _cell(statement.cooperative or ""), "", "", t.cooperative_share, *blank])
    writer.writerow(["bonus", "", "", "", t.bonus, *blank])
    writer.writerow(["clawback", "", "", "", t.clawback, *blank])
    writer.writerow(["payable", "", "", "", t.payable, *blank])
    for c in statement.cohorts:
        writer.writerow(
            [
                "cohort",
                c.cohort,
                "",
                "",
                "",
                c.enrolled,
                _share(c.active_after_3),
                _share(c.active_after_6),
                _share(c.active_after_12),
            ]
        )
    return out.getvalue()


def _coverage_line(key: str, row: CoverageRow) -> list[Any]:
    return [
        _cell(key),
        row.ever_enrolled,
        row.active,
        row.arrears,
        row.lapsed,
        row.new,
        row.reactivated,
        row.dues_collected,
        row.claims_paid.count,
        row.claims_paid.amount,
        "" if row.informal_workers is None else row.informal_workers,
        _share(row.coverage_ratio),
    ]


def coverage_csv(report: CoverageReport) -> str:
    """A line per row of the report, then a ``TOTAL`` line; empty cells where a figure is null."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COVERAGE_COLUMNS)
    for row in report.rows:
        writer.writerow(_coverage_line(row.key, row))
    writer.writerow(_coverage_line("TOTAL", report.totals))
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell a spreadsheet would run as a formula (CSV injection) is kept as text (as payers.py).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
