"""Counts every AWS API call the real handlers make, with DynamoDB request units.

``BaseClient._make_api_call`` is wrapped inside the bench only, so the clients of
``perisai.aws``, of Powertools (idempotency, parameters) and of the encryption SDK are all seen.

Request units: the wrapper injects ``ReturnConsumedCapacity=TOTAL`` and keeps what moto reports,
but moto answers fixed placeholders (1.0 for a GetItem or PutItem whatever the size, nothing for
TransactWriteItems), so the units in the report are *computed* from the item sizes with
DynamoDB's rules (see ``write_units`` and ``read_units``), reading the items before and after
each write straight from moto's in-process backend (no extra API call is made).
"""

from __future__ import annotations

import base64
import contextlib
import math
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

SERVICE_NAMES = {
    "dynamodb": "DynamoDB",
    "kms": "KMS",
    "secretsmanager": "SecretsManager",
    "events": "EventBridge",
    "sqs": "SQS",
    "sns": "SNS",
    "ssm": "SSM",
    "scheduler": "Scheduler",
    "dynamodbstreams": "DynamoDBStreams",
}
CAPACITY_OPERATIONS = frozenset(
    {
        "GetItem",
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "Query",
        "Scan",
        "BatchGetItem",
        "BatchWriteItem",
        "TransactGetItems",
        "TransactWriteItems",
    }
)
# Physical table name -> the name the report uses (set from the functions' *_TABLE variables).
TABLE_LABELS: dict[str, str] = {}
WRITE_UNIT_BYTES = 1024
READ_UNIT_BYTES = 4096

# -- DynamoDB item size (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)


def _number_size(text: str) -> int:
    digits = text.lstrip("+-").lower().split("e")[0].replace(".", "").strip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    (kind, data), *_ = value.items()
    if kind == "S":
        return len(data.encode())
    if kind == "N":
        return _number_size(str(data))
    if kind == "B":
        return len(data) if isinstance(data, bytes | bytearray) else len(base64.b64decode(data))
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in data)
    if kind == "NS":
        return sum(_number_size(str(n)) for n in data)
    if kind == "BS":
        return sum(attribute_size({"B": b}) for b in data)
    if kind == "L":  # 3 bytes of overhead plus 1 per element
        return 3 + sum(1 + attribute_size(v) for v in data)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in data.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, Any] | None) -> int:
    """Bytes DynamoDB bills for an item: attribute names plus values."""
    if not item:
        return 0
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def write_units(size_before: int, size_after: int, *, transactional: bool) -> int:
    """1 write unit per started KB of the larger of the item before and after; 2x in a transaction."""
    units = max(1, math.ceil(max(size_before, size_after) / WRITE_UNIT_BYTES))
    return units * (2 if transactional else 1)


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """1 read unit per started 4 KB read strongly consistent, half eventually consistent; 2x in a transaction."""
    units = max(1, math.ceil(size / READ_UNIT_BYTES))
    if transactional:
        return 2.0 * units
    return float(units) if consistent else units / 2


# -- SMS segments (GSM 03.38: 160 septets in one message, 153 per part when split; else UCS-2: 70, 67)

_GSM7 = set(
    "@\u00a3$\u00a5\u00e8\u00e9\u00f9\u00ec\u00f2\u00c7\n\u00d8\u00f8\r\u00c5\u00e5\u0394_\u03a6\u0393\u039b\u03a9\u03a0\u03a8\u03a3\u0398\u039e"
    "\u00c6\u00e6\u00df\u00c9 !\"#\u00a4%&'()*+,-./0123456789:;<=>?\u00a1ABCDEFGHIJKLMNOPQRSTUVWXYZ\u00c4\u00d6\u00d1\u00dc\u00a7"
    "\u00bfabcdefghijklmnopqrstuvwxyz\u00e4\u00f6\u00f1\u00fc\u00e0"
)
_GSM7_EXTENSION = set("^{}\\[~]|\u20ac\f")


def sms_segments(text: str) -> int:
    if all(ch in _GSM7 or ch in _GSM7_EXTENSION for ch in text):
        septets = len(text) + sum(ch in _GSM7_EXTENSION for ch in text)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(text.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


# -- table shapes (from the synthesized template) ----------------------------------------------


@dataclass(frozen=True)
class Index:
    name: str
    keys: tuple[str, ...]
    projection: str  # ALL | KEYS_ONLY | INCLUDE
    non_key: tuple[str, ...]


@dataclass(frozen=True)
class TableShape:
    name: str
    keys: tuple[str, ...]
    indexes: tuple[Index, ...]

    def key_of(self, item: dict[str, Any]) -> dict[str, Any]:
        return {k: item[k] for k in self.keys if k in item}

    def index_entry(self, index: Index, item: dict[str, Any] | None) -> dict[str, Any] | None:
        """The item as the index stores it, or None when the item is not in the (sparse) index."""
        if not item or any(k not in item for k in index.keys):
            return None
        if index.projection == "ALL":
            return dict(item)
        wanted = set(index.keys) | set(self.keys)
        if index.projection == "INCLUDE":
            wanted |= set(index.non_key)
        return {k: v for k, v in item.items() if k in wanted}


def table_shapes(template: dict[str, Any], physical_names: dict[str, str]) -> dict[str, TableShape]:
    shapes = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::DynamoDB::Table" or logical_id not in physical_names:
            continue
        props = resource["Properties"]
        indexes = tuple(
            Index(
                name=gsi["IndexName"],
                keys=tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                projection=gsi["Projection"].get("ProjectionType", "ALL"),
                non_key=tuple(gsi["Projection"].get("NonKeyAttributes", [])),
            )
            for gsi in props.get("GlobalSecondaryIndexes", [])
        )
        name = physical_names[logical_id]
        shapes[name] = TableShape(name, tuple(k["AttributeName"] for k in props["KeySchema"]), indexes)
    return shapes


# -- the meter ---------------------------------------------------------------------------------


@dataclass
class Call:
    function: str
    name: str  # e.g. DynamoDB.TransactWriteItems
    seconds: float
    error: str | None = None
    tables: tuple[str, ...] = ()
    read_units: float = 0.0
    write_units: float = 0.0  # table writes
    index_write_units: float = 0.0  # global secondary index propagation
    items_read: int = 0
    items_written: int = 0
    reported_units: float | None = None  # what moto put in ConsumedCapacity
    sms_segments: int = 0  # SNS.Publish to a phone number
    meter_seconds: float = 0.0  # the bench's own bookkeeping around the call (not the handler's time)
    meter_cpu: float = 0.0  # the same, in CPU time of the calling thread
    item_bytes: list[int] = field(default_factory=list)  # size of each item written (after the write)
    item_keys: list[str] = field(default_factory=list)  # "<pk>|<sk>" of each item written, same order


@dataclass
class Tally:
    """The calls of one operation (one request, or several when summed)."""

    calls: list[Call] = field(default_factory=list)

    def of(self, function: str) -> Tally:
        return Tally([c for c in self.calls if c.function == function])

    def counts(self) -> dict[str, int]:
        return dict(sorted(Counter(c.name for c in self.calls).items()))

    def by_table(self) -> dict[str, dict[str, int]]:
        out: dict[str, Counter[str]] = {}
        for call in self.calls:
            for table in call.tables:
                out.setdefault(TABLE_LABELS.get(table, table), Counter())[call.name] += 1
        return {table: dict(sorted(counts.items())) for table, counts in sorted(out.items())}

    @property
    def aws_seconds(self) -> float:
        return sum(c.seconds for c in self.calls)

    @property
    def meter_seconds(self) -> float:
        return sum(c.meter_seconds for c in self.calls)

    @property
    def meter_cpu(self) -> float:
        return sum(c.meter_cpu for c in self.calls)

    @property
    def rru(self) -> float:
        return sum(c.read_units for c in self.calls)

    @property
    def wru(self) -> float:
        return sum(c.write_units + c.index_write_units for c in self.calls)

    @property
    def index_wru(self) -> float:
        return sum(c.index_write_units for c in self.calls)

    @property
    def items_read(self) -> int:
        return sum(c.items_read for c in self.calls)

    @property
    def sms_segments(self) -> int:
        return sum(c.sms_segments for c in self.calls)

    @property
    def reported_units(self) -> float | None:
        reported = [c.reported_units for c in self.calls if c.reported_units is not None]
        return sum(reported) if reported else None

    def summary(self) -> dict[str, Any]:
        return {
            "calls": self.counts(),
            "call_count": len(self.calls),
            "dynamodb_calls_by_table": self.by_table(),
            "dynamodb_rru": round(self.rru, 2),
            "dynamodb_wru": round(self.wru, 2),
            "dynamodb_index_wru": round(self.index_wru, 2),
            "items_read": self.items_read,
            "sms_segments": self.sms_segments,
            "items_written": [
                {
                    "call": c.name,
                    "bytes": c.item_bytes,
                    "keys": c.item_keys,
                    "wru": c.write_units,
                    "index_wru": c.index_write_units,
                }
                for c in self.calls
                if c.item_bytes
            ],
            "moto_reported_capacity_units": self.reported_units,
            "aws_ms": round(self.aws_seconds * 1000, 3),
            "errors": sorted({c.error for c in self.calls if c.error}),
        }


class AwsMeter:
    """Install once; then ``with meter.function("enroll")`` attributes calls and
    ``with meter.recording() as tally`` collects them."""

    def __init__(self, shapes: dict[str, TableShape], backend: Any | None) -> None:
        self._shapes = shapes
        self._backend = backend  # moto's DynamoDB backend, for item sizes before and after writes
        self._local = threading.local()
        self._tally: Tally | None = None
        self._original: Any = None
        self.inject_capacity = True
        self.compute_units = backend is not None
        self.seen: Counter[str] = Counter()  # every call made inside a handler during the whole bench

    # -- wiring -------------------------------------------------------------

    def install(self) -> None:
        from botocore.client import BaseClient

        self._original = BaseClient._make_api_call
        meter = self

        def _make_api_call(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            return meter._call(client, operation_name, api_params)

        BaseClient._make_api_call = _make_api_call  # type: ignore[attr-defined]  # private botocore method, not in the stubs; undone by uninstall()

    def uninstall(self) -> None:
        from botocore.client import BaseClient

        if self._original is not None:
            BaseClient._make_api_call = self._original  # type: ignore[attr-defined]  # private botocore method, not in the stubs
            self._original = None

    @contextlib.contextmanager
    def function(self, name: str) -> Iterator[None]:
        previous = getattr(self._local, "function", None)
        self._local.function = name
        try:
            yield
        finally:
            self._local.function = previous

    @contextlib.contextmanager
    def recording(self) -> Iterator[Tally]:
        tally = Tally()
        previous, self._tally = self._tally, tally
        try:
            yield tally
        finally:
            self._tally = previous

    # -- one call -------------------------------------------------------------

    def _call(self, client: Any, operation: str, params: dict[str, Any]) -> Any:
        function = getattr(self._local, "function", None)
        tally = self._tally
        if function is None:  # the bench's own calls (setup, bulk loads) are not counted
            return self._original(client, operation, params)
        bookkeeping, bookkeeping_cpu = time.perf_counter(), time.thread_time()
        service = client.meta.service_model.service_name
        is_dynamodb = service == "dynamodb"
        if is_dynamodb and self.inject_capacity and operation in CAPACITY_OPERATIONS:
            params = {**params, "ReturnConsumedCapacity": params.get("ReturnConsumedCapacity", "TOTAL")}
        writes = self._writes(operation, params) if is_dynamodb and self.compute_units else []
        before = [self._stored(table, key) for table, key, _ in writes]
        call = Call(function=function, name=f"{SERVICE_NAMES.get(service, service)}.{operation}", seconds=0.0)
        if service == "sns" and operation == "Publish" and params.get("PhoneNumber"):
            call.sms_segments = sms_segments(str(params.get("Message", "")))
        call.meter_cpu = time.thread_time() - bookkeeping_cpu
        started = time.perf_counter()
        call.meter_seconds = started - bookkeeping
        response: dict[str, Any] = {}
        try:
            response = self._original(client, operation, params)
            return response
        except Exception as exc:
            call.error = str(getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__)
            raise
        finally:
            ended, ended_cpu = time.perf_counter(), time.thread_time()
            call.seconds = ended - started
            if is_dynamodb and self.compute_units:
                self._units(call, operation, params, response, writes, before)
            self.seen[call.name] += 1
            if tally is not None:
                tally.calls.append(call)
            call.meter_seconds += time.perf_counter() - ended
            call.meter_cpu += time.thread_time() - ended_cpu

    # -- DynamoDB request units ----------------------------------------------

    def _writes(self, operation: str, params: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
        """(table, key, transactional) of every item the call writes."""
        found: list[tuple[str, dict[str, Any], bool]] = []

        def add(table: str, item_or_key: dict[str, Any], transactional: bool) -> None:
            shape = self._shapes.get(table)
            if shape is not None:
                found.append((table, shape.key_of(item_or_key), transactional))

        if operation == "PutItem":
            add(params["TableName"], params["Item"], False)
        elif operation in ("UpdateItem", "DeleteItem"):
            add(params["TableName"], params["Key"], False)
        elif operation == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        add(table, request["PutRequest"]["Item"], False)
                    else:
                        add(table, request["DeleteRequest"]["Key"], False)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                (kind, body), *_ = entry.items()
                add(body["TableName"], body["Item"] if kind == "Put" else body["Key"], True)
        return found

    def _stored(self, table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        from moto.dynamodb.models.dynamo_type import DynamoType

        shape = self._shapes[table]
        moto_table = self._backend.get_table(table)
        hash_key = DynamoType(key[shape.keys[0]])
        range_key = DynamoType(key[shape.keys[1]]) if len(shape.keys) > 1 else None
        item = moto_table.get_item(hash_key, range_key)
        return item.to_json()["Attributes"] if item is not None else None

    def _units(
        self,
        call: Call,
        operation: str,
        params: dict[str, Any],
        response: dict[str, Any],
        writes: list[tuple[str, dict[str, Any], bool]],
        before: list[dict[str, Any] | None],
    ) -> None:
        call.reported_units = _reported(response.get("ConsumedCapacity")) if response else None
        tables = {params.get("TableName")} if "TableName" in params else set()
        for (table, key, transactional), old in zip(writes, before, strict=True):
            tables.add(table)
            after = self._stored(table, key)
            call.items_written += 1
            call.item_bytes.append(item_size(after))
            call.item_keys.append("|".join(str(next(iter(v.values()))) for v in key.values()))
            call.write_units += write_units(item_size(old), item_size(after), transactional=transactional)
            shape = self._shapes[table]
            for index in shape.indexes:
                call.index_write_units += _index_write_units(shape, index, old, after)
        if operation == "GetItem":
            item = response.get("Item")
            call.items_read = 1 if item else 0
            call.read_units = read_units(item_size(item), consistent=bool(params.get("ConsistentRead")))
        elif operation in ("Query", "Scan"):
            items = response.get("Items", [])
            call.items_read = int(response.get("ScannedCount", len(items)))
            call.read_units = read_units(
                sum(item_size(i) for i in items), consistent=bool(params.get("ConsistentRead"))
            )
        elif operation == "BatchGetItem":
            for table, items in response.get("Responses", {}).items():
                tables.add(table)
                consistent = bool(params["RequestItems"].get(table, {}).get("ConsistentRead"))
                call.items_read += len(items)
                call.read_units += sum(read_units(item_size(i), consistent=consistent) for i in items)
        elif operation == "TransactGetItems":
            for entry in response.get("Responses", []):
                call.items_read += 1 if entry.get("Item") else 0
                call.read_units += read_units(item_size(entry.get("Item")), consistent=True, transactional=True)
        call.tables = tuple(sorted(t for t in tables if t))


def _index_write_units(shape: TableShape, index: Index, old: dict[str, Any] | None, new: dict[str, Any] | None) -> int:
    """Index propagation: an entry added, removed, replaced (key changed: 2 writes) or updated
    (a projected attribute changed). Charged at the standard rate, also for transactional writes."""
    old_entry, new_entry = shape.index_entry(index, old), shape.index_entry(index, new)

    def units(entry: dict[str, Any]) -> int:
        return max(1, math.ceil(item_size(entry) / WRITE_UNIT_BYTES))

    if old_entry is None:
        return 0 if new_entry is None else units(new_entry)
    if new_entry is None:
        return units(old_entry)
    if any(old_entry.get(k) != new_entry.get(k) for k in index.keys):
        return units(old_entry) + units(new_entry)
    return units(new_entry) if old_entry != new_entry else 0


def _reported(consumed: Any) -> float | None:
    if consumed is None:
        return None
    entries = consumed if isinstance(consumed, list) else [consumed]
    return float(sum(e.get("CapacityUnits", 0) for e in entries))
