"""One Logger, Tracer and Metrics for the whole code base, configured from the environment."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics(namespace="Perisai")
