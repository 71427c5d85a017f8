"""Each function's role, enforced on the AWS calls its handler makes.

Locally every handler shares one process and one set of credentials; on AWS each runs with the
role the stack gives it. Without this, a handler that starts calling an operation its role does
not grant, or on a table, key or secret its role does not name, works here and fails with
AccessDenied once deployed. So while a handler runs, every AWS call it makes (its own clients,
Powertools', the Encryption SDK's) is checked against its role's statements and refused as AWS
would refuse it.

Resources are compared where the call names them (DynamoDB tables and indexes, KMS keys by ARN,
Secrets Manager secrets, EventBridge buses); other calls are checked by action only. Of the
conditions, ``dynamodb:LeadingKeys`` is evaluated (the partition keys of the items a GetItem,
PutItem, UpdateItem, DeleteItem, BatchGetItem, BatchWriteItem or each item of a transaction touches) with the String
operators and their ForAllValues / ForAnyValue set forms; a statement with any other condition
never allows locally (and a Deny with one always applies), so a grant the guard cannot read fails
here rather than on AWS.
"""

from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
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


LEADING_KEYS = "dynamodb:LeadingKeys"
_SINGLE_ITEM = {"GetItem", "PutItem", "UpdateItem", "DeleteItem"}


@dataclass(frozen=True)
class Statement:
    """A role statement with its resources resolved to local ARNs (patterns with * and ?)."""

    allow: bool
    actions: tuple[str, ...]
    resources: tuple[str, ...]
    conditions: dict[str, dict[str, Any]] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """What one call needs authorized: an action on a resource (None: a resource this module does
    not read, checked by action only), with the condition keys the call carries."""

    action: str
    resource: str | None
    leading_keys: tuple[str, ...] | None = None  # None: not known for this call


def requests_of_call(
    service: str,
    operation: str,
    params: dict[str, Any],
    region: str,
    account: str,
    partition_keys: dict[str, str] | None = None,
) -> list[Request]:
    """The requests a call makes IAM decide. ``partition_keys``: table name -> its partition key
    attribute, to read the items' ``dynamodb:LeadingKeys``."""
    if service == "dynamodb":

        def table(name: str, index: str | None = None) -> str:
            arn = name if name.startswith("arn:") else f"arn:aws:dynamodb:{region}:{account}:table/{name}"
            return f"{arn}/index/{index}" if index else arn

        def leading(name: str, key: dict[str, Any] | None) -> tuple[str, ...] | None:
            attribute = (partition_keys or {}).get(name.rsplit("/", 1)[-1])
            value = (key or {}).get(attribute or "", {})
            return (str(next(iter(value.values()))),) if attribute and value else None

        if operation in ("TransactWriteItems", "TransactGetItems"):
            out = []
            for item in params.get("TransactItems", []):
                for kind, body in item.items():
                    action = "GetItem" if kind == "Get" else _TRANSACT_WRITE_ACTIONS.get(kind)
                    if action:
                        key = body.get("Item") if kind == "Put" else body.get("Key")
                        name = body["TableName"]
                        out.append(Request(f"dynamodb:{action}", table(name), leading(name, key)))
            return list(dict.fromkeys(out))
        if operation == "BatchGetItem":
            # One request per table, carrying the partition keys of every item it reads.
            batch = []
            for name, body in (params.get("RequestItems") or {}).items():
                keys = [leading(name, key) for key in body.get("Keys", [])]
                known = None if any(k is None for k in keys) else tuple(v for k in keys if k for v in k)
                batch.append(Request("dynamodb:BatchGetItem", table(name), known))
            return batch
        if operation == "BatchWriteItem":
            writes = []
            for name, requests in (params.get("RequestItems") or {}).items():
                keys = [
                    leading(name, (r.get("PutRequest") or {}).get("Item") or (r.get("DeleteRequest") or {}).get("Key"))
                    for r in requests
                ]
                known = None if any(k is None for k in keys) else tuple(v for k in keys if k for v in k)
                writes.append(Request("dynamodb:BatchWriteItem", table(name), known))
            return writes
        if "TableName" in params:
            name = params["TableName"]
            keys = None
            if operation in _SINGLE_ITEM:
                keys = leading(name, params.get("Item") if operation == "PutItem" else params.get("Key"))
            elif operation == "Query" and "IndexName" not in params:
                keys = _queried_partition(name, params, partition_keys)
            return [Request(f"dynamodb:{operation}", table(name, params.get("IndexName")), keys)]
    if service == "kms" and str(params.get("KeyId", "")).startswith("arn:aws:kms:"):
        return [Request(f"kms:{operation}", params["KeyId"])]
    if service == "secretsmanager" and str(params.get("SecretId", "")).startswith("arn:"):
        return [Request(f"secretsmanager:{operation}", params["SecretId"])]
    if service == "events" and operation == "PutEvents":
        buses = {entry.get("EventBusName", "default") for entry in params.get("Entries", [])}
        return [
            Request(
                "events:PutEvents",
                bus if bus.startswith("arn:") else f"arn:aws:events:{region}:{account}:event-bus/{bus}",
            )
            for bus in sorted(buses)
        ]
    if service == "s3" and operation == "ListObjectsV2":
        return [Request("s3:ListBucket", f"arn:aws:s3:::{params.get('Bucket', '')}")]
    if service == "s3" and "Bucket" in params and "Key" in params:
        return [Request(f"s3:{operation}", f"arn:aws:s3:::{params['Bucket']}/{params['Key']}")]
    if service == "sqs" and operation in _SQS_BATCH_ACTIONS:
        # IAM authorizes SQS batch calls by the single-message action.
        return [Request(f"sqs:{_SQS_BATCH_ACTIONS[operation]}", None)]
    return [Request(f"{service}:{operation}", None)]


def _queried_partition(
    name: str, params: dict[str, Any], partition_keys: dict[str, str] | None
) -> tuple[str, ...] | None:
    """The partition a base-table Query reads (its dynamodb:LeadingKeys): ``<key> = :value``."""
    attribute = (partition_keys or {}).get(name.rsplit("/", 1)[-1])
    if not attribute:
        return None
    names = {v: k for k, v in (params.get("ExpressionAttributeNames") or {}).items()}
    for token in (attribute, names.get(attribute, attribute)):
        match = re.search(rf"(?:^|[\s(]){re.escape(token)}\s*=\s*(:\w+)", params.get("KeyConditionExpression", ""))
        if match:
            value = (params.get("ExpressionAttributeValues") or {}).get(match.group(1), {})
            return (str(next(iter(value.values()))),) if value else None
    return None


_SQS_BATCH_ACTIONS = {
    "SendMessageBatch": "SendMessage",
    "DeleteMessageBatch": "DeleteMessage",
    "ChangeMessageVisibilityBatch": "ChangeMessageVisibility",
}


def _matches(patterns: tuple[str, ...], value: str, *, case_sensitive: bool) -> bool:
    if not case_sensitive:
        value = value.lower()
    return any(fnmatch.fnmatchcase(value, p if case_sensitive else p.lower()) for p in patterns)


def _condition_holds(operator: str, key: str, wanted: Any, leading_keys: tuple[str, ...] | None) -> bool | None:
    """One condition of a statement; None where this module cannot evaluate it."""
    if key != LEADING_KEYS or leading_keys is None:
        return None
    qualifier, _, test = operator.rpartition(":")
    patterns = tuple(wanted) if isinstance(wanted, list) else (wanted,)
    if test in ("StringLike", "StringNotLike"):
        match = lambda v: _matches(patterns, v, case_sensitive=True)  # noqa: E731
    elif test in ("StringEquals", "StringNotEquals"):
        match = lambda v: v in patterns  # noqa: E731
    else:
        return None
    negate = "Not" in test
    hits = [match(v) != negate for v in leading_keys]
    if qualifier == "ForAllValues":
        return all(hits)
    if qualifier == "ForAnyValue":
        return any(hits)
    if qualifier == "" and len(leading_keys) == 1:
        return hits[0]
    return None


def _conditions_hold(statement: Statement, leading_keys: tuple[str, ...] | None) -> bool | None:
    verdicts = [
        _condition_holds(operator, key, wanted, leading_keys)
        for operator, block in statement.conditions.items()
        for key, wanted in block.items()
    ]
    if None in verdicts:
        return None
    return all(verdicts)


def allows(
    statements: tuple[Statement, ...], action: str, resource: str | None, leading_keys: tuple[str, ...] | None = None
) -> bool:
    """IAM's verdict: denied if a Deny statement matches, else allowed if an Allow does. Actions
    match case-insensitively, resources case-sensitively; an unknown resource matches any. A
    condition this module cannot evaluate keeps an Allow from applying and lets a Deny apply."""

    def applies(statement: Statement) -> bool:
        if not _matches(statement.actions, action, case_sensitive=False):
            return False
        if resource is not None and not _matches(statement.resources, resource, case_sensitive=True):
            return False
        if not statement.conditions:
            return True
        holds = _conditions_hold(statement, leading_keys)
        return (not statement.allow) if holds is None else holds

    matched = [s for s in statements if applies(s)]
    return any(s.allow for s in matched) and not any(not s.allow for s in matched)


class RoleGuard:
    """Refuses a running handler's AWS calls that its role does not allow."""

    def __init__(self, region: str, account: str, partition_keys: dict[str, str] | None = None) -> None:
        self._region = region
        self._account = account
        self._partition_keys = partition_keys or {}
        self._state = threading.local()
        self._patch = MethodPatch(botocore.client.BaseClient, "_make_api_call", self._checking)
        self._decisions: dict[tuple[int, str, str | None], bool] = {}
        self._conditional: dict[int, bool] = {}
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

    def _allowed(self, statements: tuple[Statement, ...], request: Request) -> bool:
        # Decided once per role, action and resource (the check must not weigh on handler timings),
        # except for roles with conditions: those depend on the items too.
        role = id(statements)
        if role not in self._conditional:
            self._conditional[role] = any(s.conditions for s in statements)
        if self._conditional[role]:
            return allows(statements, request.action, request.resource, request.leading_keys)
        key = (role, request.action, request.resource)
        if key not in self._decisions:
            self._decisions[key] = allows(statements, request.action, request.resource)
        return self._decisions[key]

    def check(self, service: str, operation: str, params: dict[str, Any]) -> None:
        stack = getattr(self._state, "stack", None)
        if not stack or not self._patch.installed:
            return
        function, statements = stack[-1]
        role = statements()
        for request in requests_of_call(service, operation, params, self._region, self._account, self._partition_keys):
            if not self._allowed(role, request):
                what = f"{request.action} on {request.resource}" if request.resource else request.action
                if request.leading_keys:
                    what += f" (partition key {', '.join(request.leading_keys)})"
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
