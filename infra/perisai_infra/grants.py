"""Least-privilege statements: exactly the actions and keys a function uses."""

from __future__ import annotations

from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_


def allow(
    function: lambda_.IFunction, actions: list[str], resources: list[str], *, leading_keys: list[str] | None = None
) -> None:
    """One statement on the function's role; ``leading_keys``: the partition keys it may touch."""
    conditions = {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": leading_keys}} if leading_keys else None
    function.add_to_role_policy(iam.PolicyStatement(actions=actions, resources=resources, conditions=conditions))
