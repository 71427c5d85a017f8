"""A payer's bulk order (SERTAKAN sponsors, local governments): one code and one amount for up
to 20,000 workers. Its own function: reading and holding that many workers takes longer than the
payment callbacks' short timeout allows. It is paid, and its workers credited, like any order
(handler.py's callbacks, crediting.py's queue worker).
"""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Header, Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import aws, idempotency, snapstart
from perisai.api import build_resolver, documented, json_body, scoped
from perisai.bulk_orders.models import BulkOrderRequest, BulkOrderView
from perisai.bulk_orders.repository import BulkOrderRepository
from perisai.bulk_orders.service import BulkOrders
from perisai.clock import clock
from perisai.domain.partners import Partner
from perisai.domain.rates import RateBook
from perisai.observability import logger, metrics
from perisai.participants.repository import ParticipantRepository
from perisai.payers.repository import PayerRepository
from perisai.settings import BulkOrdersEnv

app = build_resolver()


@cache
def bulk_orders() -> BulkOrders:
    env = BulkOrdersEnv.load()
    participants = ParticipantRepository(env.participants_table)
    return BulkOrders(
        BulkOrderRepository(env.participants_table, participants),
        RateBook.load(),
        payers=PayerRepository(env.participants_table, env.partners_table),
    )


def _open_once(request: dict[str, Any]) -> dict[str, Any]:
    partner = Partner(request["partner_id"], request["channel"], frozenset(request["scopes"]), request["key_id"])
    body = BulkOrderRequest.model_validate(request["body"]["order"])
    order, created = bulk_orders().open(request["body"]["payer_id"], body, partner, clock.now())
    if created:
        metrics.add_metric(name="BulkOrderOpened", unit="Count", value=1)
        logger.info("bulk order opened", extra={"order_id": order.order_id, "participants": order.participants.total})
    return {"status": 201 if created else 200, "body": order.model_dump(mode="json")}


@app.post(
    "/v1/payers/<payer_id>/payment-orders",
    **scoped("pay"),
    responses={
        **documented(201, BulkOrderView, 400, 401, 403, 404, 409, 413, 415, 422),
        200: {
            "description": "An open order already bills these months for these workers: that order",
            "content": {"application/json": {"model": BulkOrderView}},
        },
    },
    summary="A payer's bulk order: one code and one amount for up to 20,000 workers it pays for",
    tags=["Payers"],
)
def open_bulk_order(
    payer_id: Annotated[str, Path(min_length=1, max_length=64)],
    order: BulkOrderRequest,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=128)] = None,
) -> Response[Any]:
    partner: Partner = app.context["partner"]
    identity = {"channel": partner.channel, "scopes": sorted(partner.scopes), "key_id": partner.key_id}
    body = {"payer_id": payer_id, "order": order.model_dump(mode="json")}
    if idempotency_key:
        result = idempotency.once(BulkOrdersEnv.load().idempotency_table, "bulk-order", _open_once)(
            partner_id=partner.partner_id, idempotency_key=idempotency_key, body=body, **identity
        )
    else:
        result = _open_once({"partner_id": partner.partner_id, "body": body, **identity})
    return json_body(BulkOrderView.model_validate(result["body"]), status=result["status"])


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    idempotency.register_lambda_context(context)
    response: dict[str, Any] = app.resolve(event, context)
    return response


@snapstart.register_before_snapshot
def prime() -> None:
    """Before the snapshot: the service, its clients, and the route on a request refused before
    any AWS call."""
    env = BulkOrdersEnv.load()
    bulk_orders()
    aws.client("dynamodb")
    idempotency.once(env.idempotency_table, "bulk-order", _open_once)
    snapstart.prime_handler(
        handler, [snapstart.api_event("POST", "/v1/payers/priming/payment-orders", {}, '{"months": 2}')]
    )


snapstart.register_after_restore(snapstart.renew_after_restore)
