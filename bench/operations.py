"""AWS work per operation, on moto through the emulated API Gateway (the real handlers, the real
authorizer): API calls by name, DynamoDB request units, items read; for the first request of a
fresh execution environment and for a warm one (the request after one warm-up)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any
from urllib.parse import quote

from bench.awsmeter import Tally
from bench.common import StdoutSink, median, progress
from bench.stack import AUTH, Stack, cold_reset

WARM_REQUESTS = 8  # after the first: the first of these is "the warm request", all give the medians


@dataclass(frozen=True)
class Minimum:
    """What the design needs, per warm request; ``first_extra`` is what only an environment's first
    request adds. Request units assume every item fits one unit (1 KB written, 4 KB read)."""

    calls: dict[str, int]
    rru: float
    wru: float
    reason: str
    first_extra: dict[str, int] = field(default_factory=dict)


MINIMUMS = {
    "enroll": Minimum(
        calls={
            "DynamoDB.PutItem": 1,
            "DynamoDB.TransactWriteItems": 1,
            "DynamoDB.UpdateItem": 1,
            "KMS.GenerateDataKey": 1,
        },
        rru=0,
        wru=1 + 2 * 3 + 3 + 1,
        reason="idempotency record put (1) and completed (1); one transaction of profile, NIK guard and "
        "outbox event (3 items x2) plus their 3 index entries (by_partner, by_due_month, by_agent); "
        "one KMS data key per NIK ciphertext; the NIK HMAC key is cached 5 min",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "quote": Minimum(calls={}, rru=0, wru=0, reason="pure computation from the rate book shipped in the layer"),
    "lookup": Minimum(
        calls={"DynamoDB.GetItem": 2},
        rru=2,
        wru=0,
        reason="keyed hash of the NIK -> NIK item (participant id) -> profile (status): "
        "2 strongly consistent reads; the HMAC key is cached 5 min",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "get": Minimum(calls={"DynamoDB.GetItem": 1}, rru=1, wru=0, reason="one strongly consistent read of the profile"),
    "authorizer": Minimum(
        calls={"DynamoDB.GetItem": 1},
        rru=1,
        wru=0,
        reason="one strongly consistent read of the key item by its hash, so a revoked key fails at once "
        "(API Gateway then caches the policy 300 s per key)",
    ),
    # Payments (functions/payment_callback). Items within 1 KB; the participant's profile is larger (see enroll).
    "order": Minimum(
        calls={"DynamoDB.GetItem": 2, "DynamoDB.TransactWriteItems": 1},
        rru=2,
        wru=2 * 3,
        reason="read the participant (visibility, months owed, dues), read the open-order pointer of these "
        "months (answer the open order instead: none here); one transaction of 3 Puts: the order, its payment "
        "code (conditional: unique among payable orders) and the pointer (3 items x2); no index entries. "
        "Rebates need no ledger read unless a discount covers a month the participant paid",
    ),
    "order_with_key": Minimum(
        calls={
            "DynamoDB.GetItem": 2,
            "DynamoDB.TransactWriteItems": 1,
            "DynamoDB.PutItem": 1,
            "DynamoDB.UpdateItem": 1,
        },
        rru=2,
        wru=2 * 3 + 2,
        reason="as without the key, plus the idempotency record put (1) and completed (1)",
    ),
    "midtrans_settlement": Minimum(
        calls={"DynamoDB.GetItem": 3, "DynamoDB.Query": 1, "DynamoDB.TransactWriteItems": 1},
        rru=4,
        wru=2 * 5 + 2,
        reason="read the order, the received-event key (duplicate?), the participant (version, covered-through); "
        "one Query over the order's DUES# range (already credited: overpayment); one transaction of the order, "
        "the participant (on its version), the received-event item, one DUES# entry per month (1 here) and one "
        "outbox event (ContributionReceived; a renewal), 5 items x2, plus the due-month index entry moving to the "
        "next month (2); the server key is cached 5 min",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "midtrans_first_payment": Minimum(
        calls={"DynamoDB.GetItem": 3, "DynamoDB.Query": 1, "DynamoDB.TransactWriteItems": 1},
        rru=4,
        wru=2 * 6 + 2,
        reason="as a settlement, with a second outbox event (ParticipantActivated: the participant's first "
        "payment, pending_payment -> active)",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "midtrans_duplicate": Minimum(
        calls={"DynamoDB.GetItem": 1},
        rru=1,
        wru=0,
        reason="the received-event key alone answers a duplicate (it exists only if its order did); the server key "
        "is cached 5 min",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "xendit_va": Minimum(
        calls={"DynamoDB.GetItem": 3, "DynamoDB.Query": 1, "DynamoDB.TransactWriteItems": 1},
        rru=4,
        wru=2 * 5 + 2,
        reason="as a Midtrans settlement (external_id is the order; duplicates by Xendit's payment id); the "
        "callback token is cached 5 min",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "channel": Minimum(
        calls={"DynamoDB.GetItem": 4, "DynamoDB.Query": 1, "DynamoDB.TransactWriteItems": 1},
        rru=5,
        wru=2 * 5 + 2,
        reason="read the payment code's item (its order), then as a Midtrans settlement (duplicates by channel and "
        "channel_reference); the channels' secrets are cached 5 min",
        first_extra={"SecretsManager.GetSecretValue": 1},
    ),
    "contributions": Minimum(
        calls={"DynamoDB.GetItem": 1, "DynamoDB.Query": 1},
        rru=2,
        wru=0,
        reason="read the participant (visibility), one Query of the DUES# entries newest first (a page within "
        "4 KB: 1 unit)",
    ),
    # Downstream of one enrollment (stream -> outbox relay -> event bus -> notifications queue -> notifier).
    "outbox_relay": Minimum(
        calls={"EventBridge.PutEvents": 1},
        rru=0,
        wru=0,
        reason="one PutEvents per outbox record (Lambda's reads of the table stream are free)",
    ),
    "notifier": Minimum(
        calls={"DynamoDB.GetItem": 1, "DynamoDB.PutItem": 1, "SNS.Publish": 1, "DynamoDB.UpdateItem": 1},
        rru=1,
        wru=2,
        reason="read the participant (phone), claim the send (conditional put), one SMS, mark the claim sent "
        "(a claim still 'sending' is taken over by a redelivery, so no SMS is lost)",
    ),
}

LABELS = {
    "enroll": "POST /v1/participants (enroll)",
    "quote": "GET /v1/dues/quote",
    "lookup": "GET /v1/participants?nik= (lookup)",
    "get": "GET /v1/participants/{id}",
    "authorizer": "authorizer (TOKEN, partner key)",
    "order": "POST /v1/participants/{id}/payment-orders (1 month, new order)",
    "order_with_key": "POST .../payment-orders with Idempotency-Key",
    "midtrans_settlement": "POST /v1/payments/midtrans (settlement, renewal month)",
    "midtrans_first_payment": "POST /v1/payments/midtrans (settlement, first payment)",
    "midtrans_duplicate": "POST /v1/payments/midtrans (the same notification again)",
    "xendit_va": "POST /v1/payments/xendit (fixed virtual account paid)",
    "channel": "POST /v1/payments/channel (by payment code)",
    "contributions": "GET /v1/participants/{id}/contributions",
}
PAYMENT_OPERATIONS = (
    "order",
    "order_with_key",
    "midtrans_settlement",
    "midtrans_first_payment",
    "midtrans_duplicate",
    "xendit_va",
    "channel",
    "contributions",
)


def _compare(measured: dict[str, int], rru: float, wru: float, minimum: Minimum | None, extra: dict[str, int]) -> str:
    if minimum is None:
        return "no minimum recorded in bench/operations.py"
    wanted = dict(minimum.calls)
    for name, count in extra.items():
        wanted[name] = wanted.get(name, 0) + count
    notes = []
    for name in sorted(set(wanted) | set(measured)):
        got, need = measured.get(name, 0), wanted.get(name, 0)
        if got != need:
            notes.append(f"{name} {got} (min {need})")
    if rru > minimum.rru:
        notes.append(f"{rru:g} RRU (min {minimum.rru:g})")
    if wru > minimum.wru:
        notes.append(f"{wru:g} WRU (min {minimum.wru:g})")
    return "at minimum" if not notes else "above minimum: " + "; ".join(notes)


def _figures(tally: Tally, wall: float | None, cpu: float | None = None) -> dict[str, Any]:
    out = tally.summary()
    if wall is not None:
        out["handler_ms"] = round(wall * 1000, 2)
        out["handler_ms_excl_aws"] = round((wall - tally.aws_seconds - tally.meter_seconds) * 1000, 2)
    if cpu is not None:
        out["handler_cpu_ms"] = round((cpu - tally.meter_cpu) * 1000, 2)
    return out


def _entry(
    name: str,
    function: str,
    first: Tally,
    first_wall: float | None,
    warm: list[tuple[Tally, float]],
    warm_cpu: list[float] | None = None,
) -> dict[str, Any]:
    minimum = MINIMUMS.get(name)
    first_t, warm_t = first.of(function), warm[0][0].of(function)
    stable = all(t.of(function).counts() == warm_t.counts() for t, _ in warm)
    entry = {
        "label": LABELS.get(name, name),
        "function": function,
        "first": _figures(first_t, first_wall),
        "warm": _figures(warm_t, warm[0][1], warm_cpu[0] if warm_cpu else None),
        "warm_median_handler_ms": round(median([w for _, w in warm]) * 1000, 2),
        "warm_median_handler_ms_excl_aws": round(
            median([w - t.of(function).aws_seconds - t.of(function).meter_seconds for t, w in warm]) * 1000, 2
        ),
        "warm_median_handler_cpu_ms": round(
            median([c - t.of(function).meter_cpu for (t, _), c in zip(warm, warm_cpu, strict=True)]) * 1000, 2
        )
        if warm_cpu
        else None,
        "warm_requests": len(warm),
        "warm_calls_stable": stable,
        "minimum": None
        if minimum is None
        else {
            "calls": minimum.calls,
            "first_extra": minimum.first_extra,
            "rru": minimum.rru,
            "wru": minimum.wru,
            "reason": minimum.reason,
        },
    }
    entry["warm_verdict"] = _compare(warm_t.counts(), warm_t.rru, warm_t.wru, minimum, {})
    extra = minimum.first_extra if minimum else {}
    entry["first_verdict"] = _compare(first_t.counts(), first_t.rru, first_t.wru, minimum, extra)
    return entry


MIDTRANS_UNSIGNED = {
    "transaction_status": "settlement",
    "status_code": "200",
    "gross_amount": "16800.00",
    "order_id": "ORD-BENCH",
    "transaction_id": "bench",
    "signature_key": "0" * 128,
}


def measure(stack: Stack, sink: StdoutSink) -> dict[str, Any]:
    meter = stack.meter
    # One participant to read back (unmetered: recording is off).
    status, payload, enrolled_nik = stack.enroll()
    assert status == 201, (status, payload)
    participant_id = payload["participant_id"]
    # Events for the 501 stubs (cold-start first requests).
    stack.call("POST", "/v1/claims", {}, AUTH)
    # A Midtrans notification whose signature does not match: read the server key, answer 401.
    stack.call("POST", "/v1/payments/midtrans", MIDTRANS_UNSIGNED)

    def enroll() -> tuple[int, Any]:
        status, payload, _ = stack.enroll()
        return status, payload

    requests = {
        "enroll": (enroll, 201),
        "quote": (lambda: stack.call("GET", "/v1/dues/quote?monthly_income=2500000&sector=transport", None, AUTH), 200),
        "lookup": (lambda: stack.call("GET", f"/v1/participants?nik={quote(enrolled_nik)}", None, AUTH), 200),
        "get": (lambda: stack.call("GET", f"/v1/participants/{participant_id}", None, AUTH), 200),
    }
    results: dict[str, Any] = {}
    authorizer_runs: list[tuple[Tally, float, list[tuple[Tally, float]], list[float]]] = []
    for name, (request, expected) in requests.items():
        progress(f"AWS work: {LABELS[name]}")
        cold_reset()
        stack.flush_authorizer_cache()
        with meter.recording() as first:
            status, payload = request()
        assert status == expected, (name, status, payload)
        first_wall, first_auth_wall = stack.wall[_function(name)], stack.wall["authorizer"]
        warm: list[tuple[Tally, float]] = []
        warm_auth: list[tuple[Tally, float]] = []
        cpu: list[float] = []
        cpu_auth: list[float] = []
        for _ in range(WARM_REQUESTS):
            stack.flush_authorizer_cache()  # so the authorizer runs (warm) on every request too
            with meter.recording() as tally:
                status, payload = request()
            assert status == expected, (name, status, payload)
            warm.append((tally, stack.wall[_function(name)]))
            warm_auth.append((tally, stack.wall["authorizer"]))
            cpu.append(stack.cpu[_function(name)])
            cpu_auth.append(stack.cpu["authorizer"])
        results[name] = _entry(name, _function(name), first, first_wall, warm, cpu)
        authorizer_runs.append((first, first_auth_wall, warm_auth, cpu_auth))
    # The authorizer: its first invocation in a fresh environment (the first operation's) and warm ones.
    first, first_wall, warm_auth, cpu_auth = authorizer_runs[0]
    results["authorizer"] = _entry("authorizer", "authorizer", first, first_wall, warm_auth, cpu_auth)

    results["downstream"] = _downstream(stack, sink)
    results["payments"] = measure_payments(stack, sink)
    results["storage"] = _storage(stack, participant_id)
    results["_context"] = {"participant_id": participant_id, "nik": enrolled_nik}
    return results


def _storage(stack: Stack, participant_id: str) -> dict[str, Any]:
    """What one participant keeps in the participants table: items and index entries, in bytes."""
    import os

    from bench.awsmeter import item_size

    table = os.environ["PARTICIPANTS_TABLE"]
    shape = stack.meter._shapes[table]
    profile = stack.meter._stored(table, {"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}})
    assert profile is not None
    nik_item = stack.meter._stored(table, {"pk": {"S": f"NIK#{profile['nik_hash']['S']}"}, "sk": {"S": "NIK"}})
    entries = {}
    for index in shape.indexes:
        entry = shape.index_entry(index, profile)
        if entry is not None:
            entries[index.name] = item_size(entry)
    return {
        "profile_bytes": item_size(profile),
        "nik_ciphertext_bytes": item_size({"nik_ciphertext": profile["nik_ciphertext"]}),
        "nik_item_bytes": item_size(nik_item),
        "index_entry_bytes": entries,
    }


def _downstream(stack: Stack, sink: StdoutSink) -> dict[str, Any]:
    """What one enrollment sets off after its response: the local runtime delivers the table
    stream, the event bus and the queues exactly as the stack wires them (drain), one enrollment
    at a time, and every function that runs is measured."""
    progress("AWS work: what one enrollment sets off downstream")

    def enrollment() -> Callable[[], Any]:
        return stack.enroll

    return _after(stack, sink, enrollment, "enrollment")


def _after(stack: Stack, sink: StdoutSink, prepare: Callable[[], Callable[[], Any]], per: str) -> dict[str, Any]:
    """Every function the local runtime's delivery (stream, bus, queues) runs after one ``act``
    (what ``prepare`` returns, once its own setup has been delivered, unmetered)."""
    meter, delivery = stack.meter, stack.runtime.delivery

    def ready() -> Callable[[], Any]:
        act = prepare()
        delivery.drain()  # the setup's own events, not metered
        return act

    act = ready()
    cold_reset()
    act()
    before = dict(stack.invocations)
    with meter.recording() as first:
        delivery.drain()
    first_invoked = {k: n - before.get(k, 0) for k, n in stack.invocations.items() if n > before.get(k, 0)}
    first_walls = {k: stack.wall[k] for k in first_invoked}
    warm: list[tuple[Tally, dict[str, float], dict[str, float], dict[str, int]]] = []
    logged = 0
    for _ in range(WARM_REQUESTS // 2):
        ready()()
        before = dict(stack.invocations)
        with meter.recording() as tally, sink.measure() as out_bytes:
            delivery.drain()
        logged += out_bytes[0]
        invoked = {k: n - before.get(k, 0) for k, n in stack.invocations.items() if n > before.get(k, 0)}
        warm.append((tally, {k: stack.wall[k] for k in invoked}, {k: stack.cpu[k] for k in invoked}, invoked))
    out: dict[str, Any] = {
        f"invocations_per_{per}": warm[0][3],
        f"log_bytes_per_{per}": round(logged / len(warm), 1),
        "functions": {},
    }
    for key in sorted(warm[0][3]):
        runs = [(t, walls[key], cpus[key]) for t, walls, cpus, _ in warm if key in walls]
        out["functions"][key] = _entry(
            key, key, first, first_walls.get(key), [(t, w) for t, w, _ in runs], [c for _, _, c in runs]
        )
    return out


def _function(name: str) -> str:
    if name in PAYMENT_OPERATIONS:
        return "payment_callback"
    return name if name in ("authorizer", "outbox_relay") else "enroll"


# -- payments -----------------------------------------------------------------------------------

MIDTRANS_SERVER_KEY = "local-midtrans-server-key"  # the local runtime's seeded secrets
XENDIT_CALLBACK_TOKEN = "local-xendit-callback-token"  # noqa: S105  # the local runtime's fixed value
CHANNEL_ID = "demo-channel"
CHANNEL_SECRET = "local-channel-secret"  # noqa: S105  # the local runtime's fixed value
Request = Callable[[], tuple[int, Any]]


def midtrans_body(order: dict[str, Any], status: str = "settlement") -> dict[str, Any]:
    """A Midtrans cstore notification for ``order``, signed as Midtrans documents:
    SHA512(order_id + status_code + gross_amount + server key), plain concatenation."""
    gross = f"{order['amount']}.00"
    status_code = "200" if status in ("settlement", "capture") else "201"
    body = {
        "transaction_time": "2026-11-05 10:00:00",
        "transaction_status": status,
        "transaction_id": f"tx-{order['order_id']}",
        "status_message": "midtrans payment notification",
        "status_code": status_code,
        "payment_type": "cstore",
        "store": "indomaret",
        "payment_code": order["payment_code"],
        "order_id": order["order_id"],
        "merchant_id": "G141532850",
        "gross_amount": gross,
        "currency": "IDR",
    }
    raw = f"{order['order_id']}{status_code}{gross}{MIDTRANS_SERVER_KEY}".encode()
    body["signature_key"] = hashlib.sha512(raw).hexdigest()
    return body


def xendit_va_body(order: dict[str, Any]) -> dict[str, Any]:
    """A Xendit fixed virtual-account paid callback for ``order`` (external_id is the order)."""
    return {
        "updated": "2026-11-05T03:00:03.000Z",
        "created": "2026-11-05T03:00:03.000Z",
        "payment_id": f"pay-{order['order_id']}",
        "callback_virtual_account_id": "va-bench",
        "owner_id": "owner",
        "external_id": order["order_id"],
        "account_number": "9999000001",
        "bank_code": "BRI",
        "amount": order["amount"],
        "transaction_timestamp": "2026-11-05T03:00:00.000Z",
        "merchant_code": "88608",
        "id": f"cb-{order['order_id']}",
    }


def channel_request(order: dict[str, Any], now: float | None = None) -> tuple[bytes, dict[str, str]]:
    """A direct channel's payment of ``order`` by its payment code: the raw body and its headers,
    X-Signature = sha256=HMAC-SHA256(secret, "<X-Timestamp>.<raw body>")."""
    raw = json.dumps(
        {
            "payment_code": order["payment_code"],
            "amount": order["amount"],
            "paid_at": "2026-11-05T10:00:00+07:00",
            "channel_reference": f"POS-{order['order_id']}",
        }
    ).encode()
    timestamp = str(int(time.time() if now is None else now))
    digest = hmac.new(CHANNEL_SECRET.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return raw, {"X-Channel-Id": CHANNEL_ID, "X-Timestamp": timestamp, "X-Signature": f"sha256={digest}"}


@dataclass
class PaymentFlows:
    """Requests through the emulated API Gateway: a new participant, an order, a payment."""

    stack: Stack

    def participant(self) -> str:
        status, payload, _ = self.stack.enroll()
        assert status == 201, (status, payload)
        return str(payload["participant_id"])

    def order(self, participant_id: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        path = f"/v1/participants/{participant_id}/payment-orders"
        return self.stack.call("POST", path, {"months": 1}, {**AUTH, **(headers or {})})

    def new_order(self, participant_id: str) -> dict[str, Any]:
        status, payload = self.order(participant_id)
        assert status == 201, (status, payload)
        return dict(payload)

    def midtrans(self, order: dict[str, Any]) -> tuple[int, Any]:
        return self.stack.call("POST", "/v1/payments/midtrans", midtrans_body(order))

    def xendit(self, order: dict[str, Any]) -> tuple[int, Any]:
        headers = {"x-callback-token": XENDIT_CALLBACK_TOKEN}
        return self.stack.call("POST", "/v1/payments/xendit", xendit_va_body(order), headers)

    def channel(self, order: dict[str, Any]) -> tuple[int, Any]:
        raw, headers = channel_request(order)
        return self.stack.call("POST", "/v1/payments/channel", raw, {**headers, "Content-Type": "application/json"})

    def renewal_order(self) -> dict[str, Any]:
        return self.renewal()[1]

    def renewal(self) -> tuple[str, dict[str, Any]]:
        """(participant, a fresh order) for a participant who has paid their first month already:
        a month in the participant's steady state (its credit publishes ContributionReceived only)."""
        participant_id = self.participant()
        status, payload = self.midtrans(self.new_order(participant_id))
        assert (status, payload.get("outcome")) == (200, "credited"), (status, payload)
        return participant_id, self.new_order(participant_id)


@dataclass(frozen=True)
class PaymentOperation:
    """``prepare`` (not metered) sets up what the request needs and returns the request itself."""

    prepare: Callable[[], Request]
    status: int
    outcome: str | None = None


def payment_operations(flows: PaymentFlows) -> dict[str, PaymentOperation]:
    def duplicate() -> Request:
        order = flows.new_order(flows.participant())
        status, payload = flows.midtrans(order)
        assert (status, payload.get("outcome")) == (200, "credited"), (status, payload)
        return lambda: flows.midtrans(order)

    def with_key() -> Request:
        participant_id = flows.participant()
        return lambda: flows.order(participant_id, {"Idempotency-Key": str(uuid.uuid4())})

    ledger_holder: list[str] = []

    def contributions() -> Request:
        if not ledger_holder:  # one participant with two months in the ledger, read again each time
            participant_id, order = flows.renewal()
            status, payload = flows.midtrans(order)
            assert (status, payload.get("outcome")) == (200, "credited"), (status, payload)
            ledger_holder.append(participant_id)
        path = f"/v1/participants/{ledger_holder[0]}/contributions"
        return lambda: flows.stack.call("GET", path, None, AUTH)

    return {
        "order": PaymentOperation(lambda: partial(flows.order, flows.participant()), 201),
        "order_with_key": PaymentOperation(with_key, 201),
        "midtrans_settlement": PaymentOperation(
            lambda: partial(flows.midtrans, flows.renewal_order()), 200, "credited"
        ),
        "midtrans_first_payment": PaymentOperation(
            lambda: partial(flows.midtrans, flows.new_order(flows.participant())), 200, "credited"
        ),
        "midtrans_duplicate": PaymentOperation(duplicate, 200, "duplicate"),
        "xendit_va": PaymentOperation(lambda: partial(flows.xendit, flows.renewal_order()), 200, "credited"),
        "channel": PaymentOperation(lambda: partial(flows.channel, flows.renewal_order()), 200, "credited"),
        "contributions": PaymentOperation(contributions, 200),
    }


# What each item a paid month writes is, by its key, and how long the table keeps it.
PAID_MONTH_ITEMS = (
    ("ORDER#", "", "order"),
    ("PAYCODE#", "", "payment code"),
    ("PARTICIPANT#", "OPENORDER#", "open-order pointer"),
    ("PARTICIPANT#", "DUES#", "ledger entry"),
    ("RECEIVED#", "", "received-event key"),
    ("OUTBOX#", "", "outbox event"),
)


def written_items(*tallies: Tally) -> dict[str, int]:
    """'<pk>|<sk>' -> bytes of every item the tallies wrote (the last write of each wins)."""
    out: dict[str, int] = {}
    for tally in tallies:
        for call in tally.calls:
            out.update(zip(call.item_keys, call.item_bytes, strict=True))
    return out


def paid_month_items(*tallies: Tally) -> dict[str, dict[str, int]]:
    """The items an order and a settlement leave in the table, by kind: {kind: {count, bytes}}
    (the participant's profile is rewritten, not added). The tallies may be of different orders
    (each request on its own fresh order): a kind a later tally wrote replaces an earlier one's
    (the paid order replaces the open one)."""
    out: dict[str, dict[str, int]] = {}
    for tally in tallies:
        out.update(_items_by_kind(written_items(tally)))
    return out


def _items_by_kind(written: dict[str, int]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for key, size in written.items():
        pk, _, sk = key.partition("|")
        kind = next((k for p, s, k in PAID_MONTH_ITEMS if pk.startswith(p) and sk.startswith(s)), None)
        if kind is None:
            continue
        entry = out.setdefault(kind, {"count": 0, "bytes": 0})
        entry["count"] += 1
        entry["bytes"] += size
    return out


def _check(name: str, op: PaymentOperation, status: int, payload: Any) -> None:
    outcome = payload.get("outcome") if isinstance(payload, dict) else None
    assert status == op.status and (op.outcome is None or outcome == op.outcome), (name, status, payload)


def measure_payments(stack: Stack, sink: StdoutSink) -> dict[str, Any]:
    """Order creation, each callback kind and the ledger read, as the other operations: the first
    request of a fresh execution environment, then warm ones, each on what ``prepare`` set up
    (a new participant, a fresh order), unmetered."""
    flows = PaymentFlows(stack)
    meter = stack.meter
    out: dict[str, Any] = {}
    last: dict[str, Tally] = {}
    for name, op in payment_operations(flows).items():
        progress(f"AWS work: {LABELS[name]}")
        request = op.prepare()
        cold_reset()
        stack.flush_authorizer_cache()
        with meter.recording() as first:
            status, payload = request()
        _check(name, op, status, payload)
        first_wall = stack.wall["payment_callback"]
        warm: list[tuple[Tally, float]] = []
        cpu: list[float] = []
        logged = 0
        for _ in range(WARM_REQUESTS):
            request = op.prepare()
            stack.flush_authorizer_cache()  # partner routes: the authorizer runs (warm) on every request
            with meter.recording() as tally, sink.measure() as out_bytes:
                status, payload = request()
            _check(name, op, status, payload)
            logged += out_bytes[0]
            warm.append((tally, stack.wall["payment_callback"]))
            cpu.append(stack.cpu["payment_callback"])
        entry = _entry(name, "payment_callback", first, first_wall, warm, cpu)
        entry["log_bytes_per_request"] = round(logged / len(warm), 1)  # the authorizer's logs included
        entry["authorizer_calls"] = warm[0][0].of("authorizer").counts()
        out[name] = entry
        last[name] = warm[-1][0].of("payment_callback")
    out["paid_month_items"] = paid_month_items(last["order"], last["midtrans_settlement"])
    progress("AWS work: what one settlement sets off downstream")

    def settlement() -> Callable[[], Any]:
        return partial(flows.midtrans, flows.renewal_order())

    out["downstream"] = _after(stack, sink, settlement, "settlement")
    # The payment_callback's cold-start request (bench/run.py replays the last Midtrans event the
    # gateway built): a signed duplicate, the same answer every time it is replayed.
    request = payment_operations(flows)["midtrans_duplicate"].prepare()
    status, payload = request()
    assert (status, payload.get("outcome")) == (200, "duplicate"), (status, payload)
    return out
