"""One Logger and Metrics for the whole code base, configured from the environment.

No Tracer: Powertools' Tracer is built on the X-Ray SDK, which reaches end of support on
25 Feb 2027. Lambda and API Gateway trace on the service side (active tracing), and every log
line carries a correlation id (the API Gateway request id, an event id, an order id) so one
request can be followed through every function's logs.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit, single_metric

NAMESPACE = "Perisai"

logger = Logger()
metrics = Metrics(namespace=NAMESPACE)


def count_per_partner(name: str, partner_id: str) -> None:
    """One count of ``name`` with the partner as its only dimension, published at once (a
    per-partner dimension on the shared ``metrics`` would split every other metric of the call)."""
    with single_metric(name=name, unit=MetricUnit.Count, value=1, namespace=NAMESPACE) as metric:
        # Only the partner: the burst alarm's query reads SCHEMA(Perisai, partner_id) exactly.
        metric.service = ""
        metric.add_dimension(name="partner_id", value=partner_id)
