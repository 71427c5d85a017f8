"""Payments: dues orders for partners, and the providers' callbacks that pay them.

Partner routes (the partner authorizer): open a payment order, read it, read the ledger.
Provider routes (no partner key): Midtrans notifications (SHA-512 signature), Xendit callbacks
(callback token), direct channels (HMAC-SHA256 over the timestamp and the body). Each answers
200 with what was done once authenticated, so the provider stops retrying; 5xx only when a
dependency failed and nothing was written.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Annotated, Any, Literal

# The payer routes: a Router in this function's folder.
import payers  # type: ignore[import-not-found]  # this folder: on Lambda's path, not on mypy's (checked as its own file)
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Header, Path, Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, idempotency, snapstart
from perisai.api import PUBLIC, build_resolver, documented, json_body, scoped
from perisai.bulk_orders.models import BulkOrderView
from perisai.bulk_orders.repository import BulkOrderRepository
from perisai.bulk_orders.service import BulkOrders
from perisai.clock import clock
from perisai.domain.errors import DomainValidationError
from perisai.domain.partners import Partner
from perisai.domain.payment_codes import check_payment_code, new_payment_code
from perisai.domain.rates import RateBook
from perisai.errors import DependencyUnavailable, InvalidPaymentCode, Unauthenticated
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.payments.models import (
    CallbackAnswer,
    ContributionPage,
    PaymentOrderRequest,
    PaymentOrderView,
    ReconciliationPage,
    ReconciliationView,
    Resolution,
)
from perisai.payments.providers import MalformedCallback, ProviderEvent
from perisai.payments.providers_channel import parse_channel, verify_channel
from perisai.payments.providers_midtrans import parse_midtrans, verify_midtrans
from perisai.payments.providers_xendit import parse_xendit, verify_xendit
from perisai.payments.repository import DynamoPaymentStore
from perisai.payments.secrets import ProviderSecrets
from perisai.payments.service import PaymentService
from perisai.settings import PaymentsEnv

app = build_resolver()
app.include_router(payers.build_router())


# The provider's own JSON body, as its documentation defines it. Read by the provider's parser,
# not by the resolver: a body that is not what the provider sends is 400 malformed_body.
CallbackBody = Annotated[Any, Body(description="The provider's JSON body as documented by the provider")]


@cache
def service() -> PaymentService:
    env = PaymentsEnv.load()
    participants = ParticipantRepository(env.participants_table)
    return PaymentService(
        participants,
        DynamoPaymentStore(env.participants_table, participants),
        RateBook.load(),
        bulk=bulk_orders(),
    )


@cache
def bulk_orders() -> BulkOrders:
    env = PaymentsEnv.load()
    participants = ParticipantRepository(env.participants_table)
    return BulkOrders(BulkOrderRepository(env.participants_table, participants), RateBook.load())


@cache
def provider_secrets() -> ProviderSecrets:
    env = PaymentsEnv.load()
    return ProviderSecrets(
        env.midtrans_server_key_secret_arn, env.xendit_callback_token_secret_arn, env.channel_secrets_arn
    )


# -- partner routes -------------------------------------------------------------------------


def _open_once(request: dict[str, Any]) -> dict[str, Any]:
    partner = Partner(request["partner_id"], request["channel"], frozenset(request["scopes"]), request["key_id"])
    body = PaymentOrderRequest.model_validate(request["body"]["order"])
    order, created = service().open_order(request["body"]["participant_id"], body.months, partner, clock.now())
    if created:
        metrics.add_metric(name="PaymentOrderOpened", unit="Count", value=1)
        logger.info("payment order opened", extra={"order_id": order.order_id})
    return {"status": 201 if created else 200, "body": order.model_dump(mode="json")}


@app.post(
    "/v1/participants/<participant_id>/payment-orders",
    **scoped("pay"),
    responses={
        **documented(201, PaymentOrderView, 400, 401, 403, 404, 409, 413, 415, 422),
        200: {
            "description": "An open order already bills exactly these months: that order",
            "content": {"application/json": {"model": PaymentOrderView}},
        },
    },
    summary="Open a payment order for the participant's next unpaid dues months",
    tags=["Payments"],
)
def open_payment_order(
    participant_id: Annotated[str, Path(min_length=1, max_length=64)],
    order: PaymentOrderRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)] = None,
) -> Response[Any]:
    partner: Partner = app.context["partner"]
    request = {
        "partner_id": partner.partner_id,
        "channel": partner.channel,
        "scopes": sorted(partner.scopes),
        "key_id": partner.key_id,
        # The path is part of the request: one key for two participants is a reused key.
        "body": {"participant_id": participant_id, "order": order.model_dump(mode="json")},
    }
    if idempotency_key:
        result = idempotency.once(PaymentsEnv.load().idempotency_table, "payment-order", _open_once)(
            partner_id=partner.partner_id,
            idempotency_key=idempotency_key,
            body=request["body"],
            channel=request["channel"],
            scopes=request["scopes"],
            key_id=request["key_id"],
        )
    else:
        result = _open_once(request)
    return json_body(PaymentOrderView.model_validate(result["body"]), status=result["status"])


@app.get(
    "/v1/payment-orders/<order_id>",
    **scoped("pay"),
    responses={
        **documented(None, None, 401, 403, 404),
        200: {
            "description": "The order: a participant's own, or a payer's bulk order with its crediting progress",
            "content": {"application/json": {"model": PaymentOrderView | BulkOrderView}},
        },
    },
    summary="A payment order: status, months and the payments received",
    tags=["Payments"],
)
def get_payment_order(order_id: Annotated[str, Path(min_length=1, max_length=64)]) -> PaymentOrderView | BulkOrderView:
    return service().order(order_id, app.context["partner"])


@app.get(
    "/v1/participants/<participant_id>/contributions",
    **scoped("enroll", "pay", "claims"),
    responses=documented(200, ContributionPage, 401, 403, 404, 422),
    summary="The participant's contributions ledger, newest first",
    tags=["Payments"],
)
def list_contributions(
    participant_id: Annotated[str, Path(min_length=1, max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    next_token: Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] = None,
) -> ContributionPage:
    return service().contributions(participant_id, app.context["partner"], limit, next_token)


@app.get(
    "/v1/reconciliation",
    **scoped("backoffice"),
    responses=documented(200, ReconciliationPage, 401, 403, 422),
    summary="Money that needs a person: amount mismatches, overpayments, reversals (oldest first)",
    tags=["Payments"],
)
def list_reconciliation(
    state: Annotated[Literal["open", "resolved"], Query()] = "open",
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    next_token: Annotated[str | None, Query(pattern=r"^RCN-\d{14}-[0-9a-f]{12}$")] = None,
) -> ReconciliationPage:
    return service().reconciliation(state, limit, next_token)


@app.post(
    "/v1/reconciliation/<item_id>/resolve",
    **scoped("backoffice"),
    responses=documented(200, ReconciliationView, 400, 401, 403, 404, 413, 415, 422),
    summary="Resolve an open reconciliation item with a note (who and when are recorded)",
    tags=["Payments"],
)
def resolve_reconciliation(
    item_id: Annotated[str, Path(pattern=r"^RCN-\d{14}-[0-9a-f]{12}$")], resolution: Resolution
) -> ReconciliationView:
    return service().resolve(item_id, resolution.note, app.context["partner"], clock.now())


# -- provider callbacks ---------------------------------------------------------------------

_CALLBACK_RESPONSES = documented(200, CallbackAnswer, 400, 401, 404, 413, 415)


def _received(event: ProviderEvent) -> CallbackAnswer:
    logger.append_keys(order_id=event.order_id, provider=event.provider)
    answer = service().receive(event, clock.now())
    metrics.add_metric(name=f"Callback_{answer.outcome}", unit="Count", value=1)
    logger.info("provider callback handled", extra={"outcome": answer.outcome, "order_id": answer.order_id})
    return answer


@app.post(
    "/v1/payments/midtrans",
    openapi_extensions=PUBLIC,
    responses=_CALLBACK_RESPONSES,
    summary="Midtrans HTTP notification (signature_key: SHA-512 of order_id, status_code, gross_amount, server key)",
    tags=["Payment providers"],
)
def midtrans_notification(notification: CallbackBody) -> CallbackAnswer:  # noqa: ARG001  # documents the body
    body = app.current_event.json_body
    if not isinstance(body, dict):
        raise MalformedCallback("body", "must be a JSON object")
    if not verify_midtrans(body, provider_secrets().midtrans_server_key()):
        raise Unauthenticated("signature_key does not match")
    return _received(parse_midtrans(body))


@app.post(
    "/v1/payments/xendit",
    openapi_extensions=PUBLIC,
    responses=_CALLBACK_RESPONSES,
    summary="Xendit callback: invoice, fixed virtual account or retail outlet payment (x-callback-token)",
    tags=["Payment providers"],
)
def xendit_callback(
    callback: CallbackBody,  # noqa: ARG001  # documents the body
    token: Annotated[str | None, Header(alias="x-callback-token", max_length=256)] = None,
) -> CallbackAnswer:
    if not token or not verify_xendit(token, provider_secrets().xendit_callback_token()):
        raise Unauthenticated("x-callback-token does not match")
    return _received(parse_xendit(app.current_event.json_body))


@app.post(
    "/v1/payments/channel",
    openapi_extensions=PUBLIC,
    responses=documented(200, CallbackAnswer, 400, 401, 404, 413, 415, 422),
    summary="A direct channel's payment (Pos, BRILink, bank agents), signed with the channel's secret",
    tags=["Payment providers"],
)
def channel_payment(
    payment: CallbackBody,  # noqa: ARG001  # documents the body
    channel_id: Annotated[str | None, Header(alias="X-Channel-Id", max_length=64)] = None,
    timestamp: Annotated[str | None, Header(alias="X-Timestamp", max_length=20)] = None,
    signature: Annotated[str | None, Header(alias="X-Signature", max_length=128)] = None,
) -> CallbackAnswer:
    if not (channel_id and timestamp and signature):
        raise Unauthenticated("X-Channel-Id, X-Timestamp and X-Signature are required")
    raw = (app.current_event.body or "").encode()
    secret = provider_secrets().channel_secret(channel_id)
    if secret is None or not verify_channel(raw, timestamp, signature, secret, clock.now()):
        raise Unauthenticated("X-Signature does not match, or X-Timestamp is more than 300 s off")
    event = parse_channel(raw, channel_id)
    try:
        check_payment_code(event.payment_code or "")
    except DomainValidationError as exc:
        raise InvalidPaymentCode(exc.fields[0].message) from None
    return _received(event)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    response: dict[str, Any] = app.resolve(event, context)
    return response


@snapstart.register_before_snapshot
def prime() -> None:
    """Build the service, its clients and the providers' parsers, and run each route once on a
    request that stops before any AWS call, before the snapshot."""
    env = PaymentsEnv.load()
    service()
    payers.payer_service()
    provider_secrets()
    aws.client("dynamodb")
    aws.client("secretsmanager")
    idempotency.once(env.idempotency_table, "payment-order", _open_once)
    import aws_lambda_powertools.utilities.parameters  # noqa: F401  # first secret read

    check_payment_code(new_payment_code(RateBook.load().policies.payment_code_length))
    requests = [
        ("POST", "/v1/payments/midtrans", "[]"),  # 400 before the signature
        ("POST", "/v1/payments/xendit", "{}"),  # 401: no token header
        ("POST", "/v1/payments/channel", "{}"),  # 401: no signature headers
        ("POST", "/v1/participants/PST-PRIMING/payment-orders", '{"months": 2}'),  # 422
        ("GET", "/v1/participants/PST-PRIMING/contributions", None),
        ("GET", "/v1/payers/priming/participants", None),  # 422: limit 0
    ]
    snapstart.prime_handler(
        handler,
        [
            snapstart.api_event(method, path, {"limit": "0"} if body is None else {}, body)
            for method, path, body in requests
        ],
    )
    # The providers' parsers on documented shapes (models built, time parsing loaded).
    parse_midtrans(MIDTRANS_SAMPLE)
    parse_xendit(XENDIT_SAMPLE)
    parse_channel(json.dumps(CHANNEL_SAMPLE).encode(), "priming")


snapstart.register_after_restore(snapstart.renew_after_restore)


@snapstart.register_after_restore
def fetch_provider_secrets() -> None:
    """After a restore, read the providers' credentials fresh (never in the snapshot), off the
    first callback; a failure is left to the request, which answers 503."""
    secrets = provider_secrets()
    for read in (secrets.midtrans_server_key, secrets.xendit_callback_token):
        try:
            read()
        except DependencyUnavailable:
            logger.warning("provider secret not read after restore; the next callback reads it")


MIDTRANS_SAMPLE: dict[str, Any] = {
    "transaction_status": "settlement",
    "status_code": "200",
    "gross_amount": "16800.00",
    "order_id": "ORD-PRIMING",
    "transaction_id": "priming",
    "payment_type": "cstore",
    "store": "indomaret",
    "currency": "IDR",
    "transaction_time": "2026-11-05 10:00:00",
    "settlement_time": "2026-11-05 10:00:05",
}
XENDIT_SAMPLE: dict[str, Any] = {
    "external_id": "ORD-PRIMING",
    "amount": 16800,
    "payment_id": "priming",
    "bank_code": "BRI",
    "callback_virtual_account_id": "priming",
    "transaction_timestamp": "2026-11-05T03:00:00.000Z",
}
CHANNEL_SAMPLE: dict[str, Any] = {
    "payment_code": "12345678901234",
    "amount": 16800,
    "paid_at": "2026-11-05T10:00:00+07:00",
    "channel_reference": "priming",
}
