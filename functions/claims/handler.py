"""JKK, JKM and JHT claims. Planned: each route answers 501 until built."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from perisai import snapstart
from perisai.api import ErrorBody, build_resolver, documented, scoped
from perisai.not_built import NotBuiltRequest, not_built
from perisai.observability import logger, metrics

app = build_resolver()


@app.post(
    "/v1/claims",
    **scoped("claims"),
    responses=documented(None, None, 400, 401, 403, 413, 415, 501),
    summary="File a claim (not built yet)",
    tags=["Claims"],
)
def file_claim(claim: NotBuiltRequest) -> ErrorBody:  # noqa: ARG001  # the parameter documents the body
    raise not_built("Claims")


@app.get(
    "/v1/claims/<claim_id>",
    **scoped("claims"),
    responses=documented(None, None, 401, 403, 501),
    summary="A claim and its decision (not built yet)",
    tags=["Claims"],
)
def get_claim(claim_id: Annotated[str, Path()]) -> ErrorBody:  # noqa: ARG001  # names the path parameter
    raise not_built("Claims")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True)
@metrics.log_metrics
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)


@snapstart.register_before_snapshot
def prime() -> None:
    """Run the whole handler once before the snapshot (the route makes no AWS call and adds no metric)."""
    snapstart.prime_handler(handler, [snapstart.api_event("POST", "/v1/claims", {}, "{}")])


snapstart.register_after_restore(snapstart.renew_after_restore)
