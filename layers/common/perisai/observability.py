"""One Logger, Tracer and Metrics for the whole code base, configured from the environment."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
# Perisai talks to AWS through boto3 only: patching botocore alone spares the cold start the X-Ray
# SDK's attempt to import and patch every library it supports.
tracer = Tracer(patch_modules=("botocore",))
metrics = Metrics(namespace="Perisai")
