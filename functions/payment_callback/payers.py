"""Payer routes (SERTAKAN sponsors and local governments): take a worker over from a month, stop
from a month, list the workers a payer pays for, and the payer's monthly statement (JSON or CSV).
A Powertools Router that handler.py includes: ``build_router()`` makes one per handler module, so
each execution environment's resolver has its own router (a router reads its resolver's request)."""

from __future__ import annotations

import csv
import io
from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Body, Path, Query

from perisai.api import documented, json_body, scoped
from perisai.clock import clock
from perisai.domain.errors import DomainValidationError
from perisai.domain.months import MONTH_PATTERN
from perisai.domain.partners import PARTNER_ID_PATTERN
from perisai.domain.rates import RateBook
from perisai.participants.repository import ParticipantRepository
from perisai.payers.models import (
    ParticipantPayerView,
    PayerChangeRequest,
    PayerStatement,
    PayerStopRequest,
    PayerWorkerPage,
)
from perisai.payers.repository import PayerRepository
from perisai.payers.service import PayerService
from perisai.settings import PaymentsEnv

PARTICIPANT_ID = Annotated[str, Path(min_length=1, max_length=64)]
PAYER_ID = Annotated[str, Path(pattern=PARTNER_ID_PATTERN)]
PAGE_AFTER_PATTERN = r"^PST-[0-9A-Z]{1,32}$"  # a page token: the last row's participant id
CSV_TYPE = "text/csv"
CSV_COLUMNS = (
    "participant_id",
    "masked_name",
    "regency",
    "month",
    "months",
    "amount",
    "order_id",
    "payment_reference",
    "provider",
    "paid_at",
)


@cache
def payer_service() -> PayerService:
    env = PaymentsEnv.load()
    return PayerService(
        ParticipantRepository(env.participants_table),
        PayerRepository(env.participants_table, env.partners_table),
        RateBook.load().policies,
    )


def build_router() -> Router:
    router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves Router.__init__ unannotated

    @router.put(
        "/v1/participants/<participant_id>/payer",
        **scoped("pay", "enroll"),
        responses=documented(200, ParticipantPayerView, 400, 401, 403, 404, 413, 415, 422),
        summary="A sponsor or local government pays the worker's dues from a month on (itself, or any payer for the back office)",
        tags=["Payers"],
    )
    def put_payer(participant_id: PARTICIPANT_ID, change: PayerChangeRequest) -> ParticipantPayerView:
        return payer_service().set_payer(
            participant_id, change.payer_id, change.from_month, router.context["partner"], clock.now()
        )

    @router.delete(
        "/v1/participants/<participant_id>/payer",
        **scoped("pay", "enroll"),
        responses=documented(200, ParticipantPayerView, 400, 401, 403, 404, 422),
        summary="From a month on the worker pays for themselves again (the payer of those months, or the back office)",
        tags=["Payers"],
    )
    def delete_payer(
        participant_id: PARTICIPANT_ID,
        from_month: Annotated[
            str | None, Query(pattern=MONTH_PATTERN, description="First month the worker pays again")
        ] = None,
        stop: Annotated[PayerStopRequest | None, Body()] = None,
    ) -> ParticipantPayerView:
        # In the query string (DELETE bodies are dropped by some clients and proxies) or in the
        # PUT's body; both at once must agree.
        month = stop_month(from_month, stop.from_month if stop else None)
        payer_id = stop.payer_id if stop else None
        return payer_service().stop_payer(participant_id, month, router.context["partner"], clock.now(), payer_id)

    @router.get(
        "/v1/payers/<payer_id>/participants",
        **scoped("pay", "enroll"),
        responses=documented(200, PayerWorkerPage, 401, 403, 404, 422),
        summary="The workers a payer pays for this month or from a later month, by participant id",
        tags=["Payers"],
    )
    def list_payer_participants(
        payer_id: PAYER_ID,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        next_token: Annotated[str | None, Query(pattern=PAGE_AFTER_PATTERN)] = None,
    ) -> PayerWorkerPage:
        return payer_service().workers(payer_id, router.context["partner"], clock.now(), limit, next_token)

    @router.get(
        "/v1/payers/<payer_id>/statement",
        **scoped("pay", "enroll"),
        responses={
            **documented(200, PayerStatement, 401, 403, 404, 422),
            200: {
                "description": "A page of the payer's statement for the month, with the whole month's count "
                "and total; `Accept: text/csv` gets the whole month as CSV in one response (limit and "
                "next_token do not apply)",
                "content": {
                    "application/json": {"model": PayerStatement},
                    CSV_TYPE: {"schema": {"type": "string"}},
                },
            },
        },
        summary="What a payer paid for a dues month: one row per worker, as JSON pages or one CSV",
        tags=["Payers"],
    )
    def payer_statement(
        payer_id: PAYER_ID,
        month: Annotated[str, Query(pattern=MONTH_PATTERN, description="Dues month YYYY-MM")],
        limit: Annotated[int, Query(ge=1, le=5000, description="Rows per page (JSON only)")] = 1000,
        next_token: Annotated[
            str | None, Query(pattern=PAGE_AFTER_PATTERN, description="The previous page's next_token (JSON only)")
        ] = None,
    ) -> Response[Any]:
        partner = router.context["partner"]
        accept = router.current_event.headers.get("accept") or router.current_event.headers.get("Accept") or ""
        if CSV_TYPE in accept.lower():
            # The whole month in one response: ~150 bytes a row, 20,000 rows ~3 MB (Lambda: 6 MB).
            statement = payer_service().statement(payer_id, month, partner)
            return Response(
                status_code=200,
                content_type=f"{CSV_TYPE}; charset=utf-8",
                body=statement_csv(statement),
                headers={"Content-Disposition": f'attachment; filename="statement-{payer_id}-{month}.csv"'},
            )
        return json_body(payer_service().statement_page(payer_id, month, partner, limit, next_token))

    return router


def stop_month(in_query: str | None, in_body: str | None) -> str:
    if in_query is None and in_body is None:
        raise DomainValidationError.single("from_month", "Field required (in the query string or the body)")
    if in_query is not None and in_body is not None and in_query != in_body:
        raise DomainValidationError.single("from_month", "the query string and the body give different months")
    return str(in_query or in_body)


def statement_csv(statement: PayerStatement) -> str:
    """The statement's rows as CSV: a header line, ``months`` joined with spaces, and a final
    ``TOTAL`` line carrying the count (in ``months``) and the total (in ``amount``)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for row in statement.rows:
        writer.writerow(
            [
                row.participant_id,
                _cell(row.masked_name or ""),
                row.regency or "",
                row.month,
                " ".join(row.months),
                row.amount,
                row.order_id,
                _cell(row.payment_reference),
                row.provider,
                row.paid_at.isoformat(),
            ]
        )
    writer.writerow(["TOTAL", "", "", statement.month, statement.count, statement.total, "", "", "", ""])
    return out.getvalue()


def _cell(text: str) -> str:
    # A cell a spreadsheet would run as a formula (CSV injection) is kept as text.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
