"""AWS work per operation, on moto through the emulated API Gateway (the real handlers, the real
authorizer): API calls by name, DynamoDB request units, items read; for the first request of a
fresh execution environment and for a warm one (the request after one warm-up)."""

from __future__ import annotations

from dataclasses import dataclass, field
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
}


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
    meter, delivery = stack.meter, stack.runtime.delivery
    delivery.drain()
    cold_reset()
    stack.enroll()
    before = dict(stack.invocations)
    with meter.recording() as first:
        delivery.drain()
    first_invoked = {k: n - before.get(k, 0) for k, n in stack.invocations.items() if n > before.get(k, 0)}
    first_walls = {k: stack.wall[k] for k in first_invoked}
    warm: list[tuple[Tally, dict[str, float], dict[str, float], dict[str, int]]] = []
    logged = 0
    for _ in range(WARM_REQUESTS // 2):
        stack.enroll()
        before = dict(stack.invocations)
        with meter.recording() as tally, sink.measure() as out_bytes:
            delivery.drain()
        logged += out_bytes[0]
        invoked = {k: n - before.get(k, 0) for k, n in stack.invocations.items() if n > before.get(k, 0)}
        warm.append((tally, {k: stack.wall[k] for k in invoked}, {k: stack.cpu[k] for k in invoked}, invoked))
    out: dict[str, Any] = {
        "invocations_per_enrollment": warm[0][3],
        "log_bytes_per_enrollment": round(logged / len(warm), 1),
        "functions": {},
    }
    for key in sorted(warm[0][3]):
        runs = [(t, walls[key], cpus[key]) for t, walls, cpus, _ in warm if key in walls]
        out["functions"][key] = _entry(
            key, key, first, first_walls.get(key), [(t, w) for t, w, _ in runs], [c for _, _, c in runs]
        )
    return out


def _function(name: str) -> str:
    return name if name in ("authorizer", "outbox_relay") else "enroll"
