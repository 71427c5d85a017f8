"""Payment provider callbacks (Midtrans, Xendit). Planned: each route answers 501 until built.

These routes are outside the partner authorizer; each provider's own signature or
callback token will be verified here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import snapstart
from perisai.api import PUBLIC, ErrorBody, build_resolver, documented
from perisai.not_built import NotBuiltRequest, not_built
from perisai.observability import logger, metrics

app = build_resolver()


@app.post(
    "/v1/payments/midtrans/notifications",
    openapi_extensions=PUBLIC,
    responses=documented(None, None, 400, 413, 415, 501),
    summary="Midtrans HTTP notification (not built yet)",
    tags=["Payments"],
)
def midtrans_notification(notification: NotBuiltRequest) -> ErrorBody:  # noqa: ARG001  # documents the body
    raise not_built("Midtrans payment notifications")


@app.post(
    "/v1/payments/xendit/callbacks",
    openapi_extensions=PUBLIC,
    responses=documented(None, None, 400, 413, 415, 501),
    summary="Xendit virtual-account callback (not built yet)",
    tags=["Payments"],
)
def xendit_callback(callback: NotBuiltRequest) -> ErrorBody:  # noqa: ARG001  # documents the body
    raise not_built("Xendit payment callbacks")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Run the whole handler once before the snapshot (the route makes no AWS call and adds no metric)."""
    snapstart.prime_handler(handler, [snapstart.api_event("POST", "/v1/payments/midtrans/notifications", {}, "{}")])


snapstart.register_after_restore(snapstart.renew_after_restore)
