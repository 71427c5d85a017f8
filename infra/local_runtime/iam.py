"""Each function's role, enforced on the AWS calls its handler makes.

Locally every handler shares one process and one set of credentials; on AWS each runs with the
role the stack gives it. Without this, a handler that starts calling an operation its role does
not grant works here and fails with AccessDenied once deployed. So while a handler runs, every
AWS call it makes (its own clients, Powertools', the Encryption SDK's) is checked against the
actions its role's policies allow, and refused as AWS would refuse it.

Actions only: the resources a statement names are not compared (the stack's grants name
resources through CloudFormation references; a wrong resource still passes here).
"""

from __future__ import annotations

import fnmatch
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

# IAM authorizes each action inside a transaction, not the transaction itself.
_TRANSACT_WRITE_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def actions_of_call(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    if service == "dynamodb" and operation == "TransactWriteItems":
        kinds = {kind for item in params.get("TransactItems", []) for kind in item}
        return [f"dynamodb:{_TRANSACT_WRITE_ACTIONS[k]}" for k in sorted(kinds) if k in _TRANSACT_WRITE_ACTIONS]
    if service == "dynamodb" and operation == "TransactGetItems":
        return ["dynamodb:GetItem"]
    return [f"{service}:{operation}"]


def allows(patterns: tuple[str, ...], action: str) -> bool:
    """IAM's verdict on the action names alone: denied if a "!pattern" matches, else allowed if a
    pattern matches (case-insensitive, * and ? wildcards)."""
    action = action.lower()
    matched = [p for p in patterns if fnmatch.fnmatchcase(action, p.removeprefix("!").lower())]
    return bool(matched) and not any(p.startswith("!") for p in matched)


class RoleGuard:
    """Refuses a running handler's AWS calls that its role does not allow."""

    def __init__(self) -> None:
        self._state = threading.local()
        self._original: Any = None
        self._wrapper: Any = None
        self._decisions: dict[tuple[tuple[str, ...], str], bool] = {}
        self.refused: list[tuple[str, str]] = []  # (function, action), for the local runtime's log

    @contextmanager
    def acting_as(self, function: str, actions: tuple[str, ...]) -> Iterator[None]:
        """Calls made on this thread in the block are the function's."""
        stack = getattr(self._state, "stack", None)
        if stack is None:
            stack = self._state.stack = []
        stack.append((function, actions))
        try:
            yield
        finally:
            stack.pop()

    def _allowed(self, actions: tuple[str, ...], action: str) -> bool:
        # Decided once per role and action: the check must not weigh on the handlers' timings.
        key = (actions, action)
        if key not in self._decisions:
            self._decisions[key] = allows(actions, action)
        return self._decisions[key]

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        stack = getattr(self._state, "stack", None)
        if not stack or self._original is None:
            return
        function, allowed = stack[-1]
        for action in actions_of_call(service, operation, params):
            if not self._allowed(allowed, action):
                self.refused.append((function, action))
                raise ClientError(
                    {
                        "Error": {
                            "Code": "AccessDeniedException",
                            "Message": f"{function} is not authorized to perform: {action} "
                            "(its role in the stack does not allow it)",
                        },
                        "ResponseMetadata": {"HTTPStatusCode": 400},
                    },
                    operation,
                )

    def install(self) -> None:
        if self._original is not None:
            return
        self._original = original = botocore.client.BaseClient._make_api_call
        guard = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            guard.check(client.meta.service_model.service_name, operation_name, api_params)
            return original(client, operation_name, api_params)

        self._wrapper = _make_api_call
        botocore.client.BaseClient._make_api_call = _make_api_call  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is None:
            return
        # Another wrapper installed on top (tests, the bench) keeps calling ours: then it only
        # stops checking.
        if botocore.client.BaseClient._make_api_call is self._wrapper:
            botocore.client.BaseClient._make_api_call = self._original  # type: ignore[method-assign]
        self._original = None
