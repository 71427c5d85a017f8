"""Each function's role, enforced on the AWS calls its handler makes.

Locally every handler shares one process and one set of credentials; on AWS each runs with the
role the stack gives it. Without this, a handler that starts calling an operation its role does
not grant, or on a table, key or secret its role does not name, works here and fails with
AccessDenied once deployed. So while a handler runs, every AWS call it makes (its own clients,
Powertools', the Encryption SDK's) is checked against its role's statements and refused as AWS
would refuse it.

Resources are compared where the call names them (DynamoDB tables and indexes, KMS keys by ARN,
Secrets Manager secrets, EventBridge buses); other calls are checked by action only. Conditions
in statements are not evaluated (the stack writes none on these roles).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

from local_runtime.patching import MethodPatch

# IAM authorizes each action inside a transaction, not the transaction itself.
_TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


@dataclass(frozen=True)
class Statement:
    """A role statement with its resources resolved to local ARNs (patterns with * and ?)."""

    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]


def requests_of_call(
    service: str, operation: str, params: dict[str, Any], region: str, account: str
) -> list[tuple[str, str | None]]:
    """(action, resource ARN) pairs the call needs authorized; None where the call names no
    resource this module knows how to read (checked by action only)."""
    if service == "dynamodb":

        def table(name: str, index: str | None = None) -> str:
            arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
            return f"{arn}/index/{index}" if index else arn

        if operation == "TransactWriteItems":
            out = []
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    if kind in _TRANSACT_WRITE_ACTIONS:
                        out.append((f"dynamodb:{_TRANSACT_WRITE_ACTIONS[kind]}", table(body["TableName"])))
            return list(dict.fromkeys(out))
        if operation == "TransactGetItems":
            return list(
                dict.fromkeys(
                    ("dynamodb:GetItem", table(i["Get"]["TableName"])) for i in params.get("TransactItems", [])
                )
            )
        if "TableName" in params:
            return [(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))]
    if service == "kms" and str(params.get("KeyId", "")).startswith("arn:aws:kms:"):
        return [(f"kms:{operation}", params["KeyId"])]
    if service == "secretsmanager" and str(params.get("SecretId", "")).startswith("arn:"):
        return [(f"secretsmanager:{operation}", params["SecretId"])]
    if service == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])}
        return [
            (
                "events:PutEvents",
                bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}",
            )
            for bus in sorted(buses)
        ]
    return [(f"{service}:{operation}", None)]


def _matches(patterns: tuple[str, ...], value: str, *, case_sensitive: bool) -> bool:
    if not case_sensitive:
        value = value.lower()
    return any(fnmatch.fnmatchcase(value, p if case_sensitive else p.lower()) for p in patterns)


def allows(statements: tuple[Statement, ...], action: str, resource: str | None) -> bool:
    """IAM's verdict: denied if a Deny statement matches, else allowed if an Allow does. Actions
    match case-insensitively, resources case-sensitively; an unknown resource matches any."""

    def applies(statement: Statement) -> bool:
        return _matches(statement.actions, action, case_sensitive=False) and (
            resource is None or _matches(statement.resources, resource, case_sensitive=True)
        )

    matched = [s for s in statements if applies(s)]
    return any(s.allow for s in matched) and not any(not s.allow for s in matched)


class RoleGuard:
    """Refuses a running handler's AWS calls that its role does not allow."""

    def __init__(self, region: str, account: str) -> None:
        self._region = region
        self._account = account
        self._state = threading.local()
        self._patch = MethodPatch(botocore.client.BaseClient, "_make_api_call", self._checking)
        self._decisions: dict[tuple[int, str, str | None], bool] = {}
        self.refused: list[tuple[str, str]] = []  # (function, action on resource), for the log

    @contextmanager
    def acting_as(self, function: str, statements: Callable[[], tuple[Statement, ...]]) -> Iterator[None]:
        """Calls made on this thread in the block are the function's; ``statements`` gives its
        role's statements (called on the function's first AWS call)."""
        stack = getattr(self._state, "stack", None)
        if stack is None:
            stack = self._state.stack = []
        stack.append((function, statements))
        try:
            yield
        finally:
            stack.pop()

    def _allowed(self, statements: tuple[Statement, ...], action: str, resource: str | None) -> bool:
        # Decided once per role, action and resource: the check must not weigh on handler timings.
        key = (id(statements), action, resource)
        if key not in self._decisions:
            self._decisions[key] = allows(statements, action, resource)
        return self._decisions[key]

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        stack = getattr(self._state, "stack", None)
        if not stack or not self._patch.installed:
            return
        function, statements = stack[-1]
        role = statements()
        for action, resource in requests_of_call(service, operation, params, self._region, self._account):
            if not self._allowed(role, action, resource):
                what = f"{action} on {resource}" if resource else action
                self.refused.append((function, what))
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDeniedException",
                            "Message": f"{function} is not authorized to perform: {what} "
                            "(its role in the stack does not allow it)",
                        },
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    operation,
                )

    def _checking(self, original: Any) -> Any:
        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            self.check(client.meta.service_model.service_name, operation_name, api_params)
            return original(client, operation_name, api_params)

        return _make_api_call

    def install(self) -> None:
        self._patch.install()

    def uninstall(self) -> None:
        self._patch.uninstall()
