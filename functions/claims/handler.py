"""JKK, JKM and JHT claims: filing (with eligibility, benefits and fraud signals), reading, the
back office's decision and payout, and presigned uploads of supporting documents."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, idempotency, snapstart
from perisai.api import build_resolver, documented, json_body, partner_of, scoped
from perisai.claims.models import (
    ClaimPage,
    ClaimRequest,
    ClaimView,
    DecisionRequest,
    DocumentRequest,
    PayoutRequest,
    UploadView,
)
from perisai.claims.repository import ClaimRepository, DocumentStore
from perisai.claims.service import ClaimService
from perisai.clock import clock
from perisai.domain.claims import BenefitBook
from perisai.domain.partners import Partner
from perisai.domain.rates import RateBook
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.payments.repository import DynamoPaymentStore
from perisai.settings import ClaimsEnv

app = build_resolver()


@cache
def service() -> ClaimService:
    env = ClaimsEnv.load()
    participants = ParticipantRepository(env.participants_table)
    return ClaimService(
        participants=participants,
        ledger=DynamoPaymentStore(env.participants_table, participants),
        store=ClaimRepository(env.participants_table, participants),
        documents=DocumentStore(env.claim_documents_bucket),
        book=BenefitBook.packaged(),
        rates=RateBook.load(),
    )


def _submit_once(request: dict[str, Any]) -> dict[str, Any]:
    partner = Partner(request["partner_id"], request["channel"], frozenset(request["scopes"]), request["key_id"])
    claim = service().submit(ClaimRequest.model_validate(request["body"]), partner, clock.now())
    metrics.add_metric(name="ClaimSubmitted", unit="Count", value=1)
    logger.info("claim submitted", extra={"claim_id": claim.claim_id, "type": claim.type, "eligible": claim.eligible})
    return {"status": 201, "body": claim.model_dump(mode="json")}


@app.post(
    "/v1/claims",
    **scoped("claims"),
    responses=documented(201, ClaimView, 400, 401, 403, 404, 409, 413, 415, 422),
    summary="File a JKK, JKM or JHT claim",
    tags=["Claims"],
)
def file_claim(
    claim: ClaimRequest,  # noqa: ARG001  # validated here (422 before any AWS call); the raw body is fingerprinted
    idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=8, max_length=128)],
) -> Response[ClaimView]:
    partner = partner_of(app)
    result = idempotency.once(ClaimsEnv.load().idempotency_table, "claim", _submit_once)(
        partner_id=partner.partner_id,
        idempotency_key=idempotency_key,
        body=app.current_event.json_body,
        channel=partner.channel,
        scopes=sorted(partner.scopes),
        key_id=partner.key_id,
    )
    return json_body(ClaimView.model_validate(result["body"]), status=int(result["status"]))


@app.get(
    "/v1/claims/<claim_id>",
    **scoped("claims"),
    responses=documented(200, ClaimView, 401, 403, 404),
    summary="A claim, its steps and its documents",
    tags=["Claims"],
)
def get_claim(claim_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ClaimView:
    return service().get(claim_id, partner_of(app))


@app.get(
    "/v1/participants/<participant_id>/claims",
    **scoped("claims"),
    responses=documented(200, ClaimPage, 401, 403, 404),
    summary="A participant's claims",
    tags=["Claims"],
)
def participant_claims(participant_id: Annotated[str, Path(min_length=1, max_length=64)]) -> ClaimPage:
    return ClaimPage(items=service().for_participant(participant_id, partner_of(app)))


@app.post(
    "/v1/claims/<claim_id>/decision",
    **scoped("backoffice"),
    responses=documented(200, ClaimView, 400, 401, 403, 404, 409, 413, 415, 422),
    summary="Approve or reject a submitted claim (back office)",
    tags=["Claims"],
)
def decide(claim_id: Annotated[str, Path(min_length=1, max_length=64)], decision: DecisionRequest) -> ClaimView:
    view = service().decide(claim_id, decision, partner_of(app), clock.now())
    logger.info("claim decided", extra={"claim_id": claim_id, "status": view.status})
    return view


@app.post(
    "/v1/claims/<claim_id>/payout",
    **scoped("backoffice"),
    responses=documented(200, ClaimView, 400, 401, 403, 404, 409, 413, 415, 422),
    summary="Record the transfer that paid an approved claim (back office)",
    tags=["Claims"],
)
def pay_out(claim_id: Annotated[str, Path(min_length=1, max_length=64)], payout: PayoutRequest) -> ClaimView:
    view = service().pay_out(claim_id, payout, partner_of(app), clock.now())
    logger.info("claim paid out", extra={"claim_id": claim_id})
    return view


@app.post(
    "/v1/claims/<claim_id>/documents",
    **scoped("claims"),
    responses=documented(201, UploadView, 400, 401, 403, 404, 409, 413, 415, 422),
    summary="A presigned upload URL for a supporting document",
    tags=["Claims"],
)
def request_upload(
    claim_id: Annotated[str, Path(min_length=1, max_length=64)], document: DocumentRequest
) -> Response[UploadView]:
    upload = service().request_upload(claim_id, document, partner_of(app), clock.now())
    return json_body(upload, status=201)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    return app.resolve(event, context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: build the service and its clients, and run a request that is refused
    before any AWS call (a claim without its type's fields)."""
    service()
    for name in ("dynamodb", "s3"):
        aws.client(name)
    ClaimRequest.model_validate({"participant_id": "PST-PRIMING00000", "type": "JKK", "incident_date": "2026-11-03"})
    snapstart.prime_handler(handler, [snapstart.api_event("GET", "/v1/no-such-route", {}, None)])


snapstart.register_after_restore(snapstart.renew_after_restore)
