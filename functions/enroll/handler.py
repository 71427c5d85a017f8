"""Enrollment API: partner channels sign workers up, look them up, quote dues and record
whether a worker wants dues reminder SMS.

Also serves the unauthenticated /health and /v1/openapi.json.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from typing import Annotated, Any, cast

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, idempotency, snapstart
from perisai.agents.repository import AgentRepository
from perisai.api import PUBLIC, build_resolver, documented, json_body, scoped
from perisai.clock import clock
from perisai.domain.identity import validate_nik
from perisai.domain.months import DuesMonth
from perisai.domain.partners import Partner
from perisai.domain.programs import PayerType, Program, Sector
from perisai.domain.quote import DuesQuote
from perisai.domain.rates import RateBook, max_amount_rupiah
from perisai.enrollment.audit import DynamoNikAuditTrail
from perisai.enrollment.models import (
    EnrollmentRequest,
    EnrollmentResponse,
    ParticipantLookup,
    ParticipantView,
    SmsConsentRequest,
)
from perisai.enrollment.nik import KmsNikProtector
from perisai.enrollment.service import EnrollmentService
from perisai.errors import DomainValidationError
from perisai.models import Model
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.settings import EnrollEnv

app = build_resolver()


class Health(Model):
    status: str
    time: str


@cache
def nik_protector() -> KmsNikProtector:
    env = EnrollEnv.load()
    return KmsNikProtector(env.nik_key_arn, env.nik_hmac_secret_arn)


@cache
def service() -> EnrollmentService:
    env = EnrollEnv.load()
    return EnrollmentService(
        store=ParticipantRepository(env.participants_table),
        nik=nik_protector(),
        rate_book=RateBook.load(),
        audit=DynamoNikAuditTrail(env.participants_table),
        agents=AgentRepository(env.participants_table),
    )


@app.get("/health", responses=documented(200, Health), openapi_extensions=PUBLIC, tags=["Platform"])
def health() -> Health:
    return Health(status="ok", time=clock.now().isoformat())


@app.get(
    "/v1/openapi.json",
    responses={
        200: {
            "description": "This API's OpenAPI 3 document",
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
    openapi_extensions=PUBLIC,
    tags=["Platform"],
)
def openapi_document() -> dict[str, Any]:
    return _openapi()


@cache
def _openapi() -> dict[str, Any]:
    # Generated from the functions' resolvers at build time (make build) and shipped in the layer.
    from importlib import resources  # deferred: only this route reads a packaged file

    document: dict[str, Any] = json.loads(resources.files("perisai").joinpath("openapi.json").read_text())
    return document


def enrollment_request_id(request: dict[str, Any]) -> str:
    return hashlib.sha256(f"{request['partner_id']}:{request['idempotency_key']}".encode()).hexdigest()[:32]


def _with_links(responses: dict[int, Any]) -> dict[int, Any]:
    # OpenAPI links: what a client (and stateful fuzzing) can do next with the new participant.
    responses[201]["links"] = {
        "GetParticipant": {
            "operationId": "getParticipant",
            "parameters": {"participant_id": "$response.body#/participant_id"},
        }
    }
    return responses


def _enroll_once(request: dict[str, Any]) -> dict[str, Any]:
    partner = Partner(request["partner_id"], request["channel"], frozenset(request["scopes"]), request["key_id"])
    enrollment = EnrollmentRequest.model_validate(request["body"])
    result = service().enroll(enrollment, partner, clock.now(), request_id=enrollment_request_id(request))
    # Inside the idempotent call: a replayed response is not a second enrollment.
    metrics.add_metric(name="ParticipantEnrolled", unit="Count", value=1)
    logger.info(
        "participant enrolled", extra={"participant_id": result.participant_id, "reactivated": result.reactivated}
    )
    return {"status": 200 if result.reactivated else 201, "body": result.model_dump(mode="json")}


@app.post(
    "/v1/participants",
    **scoped("enroll"),
    responses={
        **_with_links(documented(201, EnrollmentResponse, 400, 401, 403, 409, 413, 415, 422)),
        # A lapsed participant enrolled again answers 200 (same id, "reactivated": true).
        200: {
            "description": "Reactivated: a lapsed participant enrolled again under the same id",
            "content": {"application/json": {"model": EnrollmentResponse}},
        },
    },
    summary="Enroll a worker (once per NIK)",
    tags=["Enrollment"],
)
def enroll(
    enrollment: EnrollmentRequest,  # noqa: ARG001  # validated here (422 before any AWS call); the raw body is fingerprinted
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)],
) -> Response[EnrollmentResponse]:
    partner: Partner = app.context["partner"]
    logger.append_keys(partner_id=partner.partner_id)
    result = idempotency.once(EnrollEnv.load().idempotency_table, "enroll", _enroll_once)(
        partner_id=partner.partner_id,
        idempotency_key=idempotency_key,
        body=app.current_event.json_body,
        channel=partner.channel,
        scopes=sorted(partner.scopes),
        key_id=partner.key_id,
    )
    return json_body(EnrollmentResponse.model_validate(result["body"]), status=result["status"])


@app.get(
    "/v1/participants/<participant_id>",
    **scoped("enroll", "pay", "claims"),
    responses=documented(200, ParticipantView, 401, 403, 404),
    operation_id="getParticipant",
    summary="A participant as its enrolling partner (or the back office) sees it",
    tags=["Enrollment"],
)
def get_participant(participant_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ParticipantView:
    metrics.add_metric(name="ParticipantViewed", unit="Count", value=1)
    return service().view(participant_id, app.context["partner"], clock.now())


# No field to send: the body may be absent or {}; anything but a JSON object is refused (400/422).
ConsentBody = Annotated[SmsConsentRequest | None, Body(description="Optional; no fields")]


def _record_sms_consent(participant_id: str, opt_out: bool) -> ParticipantView:
    if not isinstance(app.current_event.json_body, dict | None):
        # Powertools validates a JSON array's first item against a model body ([{}] would pass).
        raise DomainValidationError.single("body", "must be a JSON object, or absent")
    view = service().set_sms_opt_out(participant_id, opt_out, app.context["partner"], clock.now())
    metrics.add_metric(name="SmsOptOutRecorded" if opt_out else "SmsOptInRecorded", unit="Count", value=1)
    logger.info("sms consent recorded", extra={"participant_id": participant_id, "sms_opt_out": opt_out})
    return view


@app.post(
    "/v1/participants/<participant_id>/sms-opt-out",
    **scoped("enroll", "pay"),
    responses=documented(200, ParticipantView, 400, 401, 403, 404, 413, 415, 422),
    operation_id="smsOptOut",
    summary="The worker asks for no dues reminder SMS (asking again changes nothing)",
    tags=["Enrollment"],
)
def sms_opt_out(
    participant_id: Annotated[str, Path(min_length=1, max_length=64)],
    consent: ConsentBody = None,  # noqa: ARG001  # documents the (empty) body
) -> ParticipantView:
    return _record_sms_consent(participant_id, opt_out=True)


@app.post(
    "/v1/participants/<participant_id>/sms-opt-in",
    **scoped("enroll", "pay"),
    responses=documented(200, ParticipantView, 400, 401, 403, 404, 413, 415, 422),
    operation_id="smsOptIn",
    summary="The worker wants dues reminder SMS again (asking again changes nothing)",
    tags=["Enrollment"],
)
def sms_opt_in(
    participant_id: Annotated[str, Path(min_length=1, max_length=64)],
    consent: ConsentBody = None,  # noqa: ARG001  # documents the (empty) body
) -> ParticipantView:
    return _record_sms_consent(participant_id, opt_out=False)


@app.get(
    "/v1/participants",
    # Only the channels that collect dues: an answer tells whether a NIK is enrolled.
    **scoped("pay"),
    responses=documented(200, ParticipantLookup, 401, 403, 404, 422),
    summary="Find a participant by NIK (id and status only); every lookup is audited",
    tags=["Enrollment"],
)
def find_participant(nik: Annotated[str, Query(description="16-digit NIK")]) -> ParticipantLookup:
    clean = validate_nik(nik)  # 422 naming `nik` before any AWS call
    return service().lookup_by_nik(clean, app.context["partner"], clock.now())


@app.get(
    "/v1/dues/quote",
    **scoped("enroll", "pay"),
    responses=documented(200, DuesQuote, 401, 403, 422),
    summary="Monthly dues for a declared income, with the rules in force that month",
    tags=["Dues"],
)
def quote(
    monthly_income: Annotated[
        int, Query(ge=0, le=max_amount_rupiah(), description="Declared monthly income, integer rupiah")
    ],
    sector: Annotated[Sector, Query()],
    programs: Annotated[str, Query(description="Comma-separated, e.g. JKK,JKM,JHT")] = "JKK,JKM",
    month: Annotated[
        str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM; default this month")
    ] = None,
    payer_type: Annotated[PayerType, Query()] = "self",
) -> DuesQuote:
    try:
        dues_month = DuesMonth.parse(month) if month else DuesMonth.of(clock.today_jakarta())
    except ValueError as exc:  # the pattern lets year 0000 through: a 422 naming `month`, not a 500
        raise DomainValidationError.single("month", str(exc)) from None
    # Unknown names reach quote_dues, which names them in a 422 on `programs`.
    chosen = cast(list[Program], [p.strip().upper() for p in programs.split(",") if p.strip()])
    metrics.add_metric(name="DuesQuoted", unit="Count", value=1)
    return service().quote(monthly_income, sector, chosen, dues_month, payer_type)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    response: dict[str, Any] = app.resolve(event, context)
    return response


snapstart.register_after_restore(snapstart.renew_after_restore)


@snapstart.register_after_restore
def fetch_nik_index_key() -> None:
    """After a restore, fetch the NIK index key fresh (it is never in the snapshot), off the first request."""
    nik_protector().refresh_index_key()


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: import and build everything the routes use, and run the request
    path once against nothing (no AWS call), so the first request after a restore imports nothing."""
    env = EnrollEnv.load()
    service()
    for name in ("dynamodb", "secretsmanager"):
        aws.client(name)
    nik_protector().prepare()
    idempotency.once(env.idempotency_table, "enroll", _enroll_once)
    EnrollmentRequest.model_validate(PRIMING_ENROLLMENT)  # phonenumbers' and stdnum's data
    # What the request path loads on first use: Powertools' parameters (the secret), DynamoDB
    # condition expressions (idempotency), the OpenSSL backend (the Encryption SDK).
    import aws_lambda_powertools.utilities.parameters  # noqa: F401
    import boto3.dynamodb.conditions  # noqa: F401
    from cryptography.hazmat.backends.openssl import backend  # noqa: F401

    for method, path, query, body in PRIMING_REQUESTS:
        app.resolve(snapstart.api_event(method, path, query, body), snapstart.PRIMING_CONTEXT)
    metrics.clear_metrics()  # priming is no traffic
    snapstart.prime_handler(handler, [snapstart.api_event(*request) for request in PRIMING_REQUESTS[2:]])


# A valid enrollment (checked, never stored) and requests that stop before any AWS call.
# Its NIK and phones are none the tests enroll: Hypothesis draws string literals of local modules
# into generated data (fuzzed path parameters too), and the tests' personal-data guard knows theirs.
PRIMING_ENROLLMENT = {
    "nik": "3171010302859999",
    "full_name": "Priming",
    "birth_date": "1985-02-03",
    "gender": "M",
    "phone": "0812-9999-0000",
    "occupation": "priming",
    "sector": "transport",
    "monthly_income": 2_500_000,
    "programs": ["JKK", "JKM", "JHT"],
    "agent_code": "prime-01",
    "heir": {"name": "Priming", "relationship": "spouse", "phone": "0813-9000-0001"},
}
# The first two add a metric: they run through the resolver only; the rest also through the handler.
PRIMING_REQUESTS: tuple[tuple[str, str, dict[str, str], str | None], ...] = (
    ("GET", "/health", {}, None),
    ("GET", "/v1/dues/quote", {"monthly_income": "2500000", "sector": "transport", "programs": "JKK,JKM,JHT"}, None),
    ("GET", "/v1/participants", {"nik": "not-a-nik"}, None),
    ("GET", "/v1/no-such-route", {}, None),
    ("POST", "/v1/participants", {}, '{"nik": "1", "monthly_income": -1}'),
    ("POST", "/v1/participants", {}, "{not json"),
)
