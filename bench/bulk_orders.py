"""Bulk orders: a sponsor's order for 15,000 workers, created, paid by one provider callback and
credited worker by worker; AWS calls and DynamoDB request units per worker beside the design
minimum, and the wall time on this machine.

The run: a participants table in moto (in-process, ``mock_aws``) with the synthesized template's
key schema and global secondary indexes, seeded (not measured) with ``count`` participant
profiles built from the stored model (``Participant``) exactly as the repository writes them,
each enrolled by the sponsor ``bench-sponsor`` (so it is their payer from their first dues month)
and still ``pending_payment``, with their payer link items (``PAYER#bench-sponsor / WORKER#<id>``).
Then, measured phase by phase with the bench's AWS meter (``bench/awsmeter.py``: every call, and
request units computed from the items' sizes with DynamoDB's rules):

- **create**: ``BulkOrders.open("bench-sponsor", BulkOrderRequest(months=1), <the sponsor>, now)``,
  the default selection (every worker the sponsor pays for);
- **payment**: one Midtrans settlement (``parse_midtrans``) through ``PaymentService.receive``,
  which hands a bulk order to ``BulkOrders.receive``, as the callback function does;
- **crediting**: ``BulkOrders.tasks`` (the fan-out of the ``BulkOrderPaid`` event) and
  ``BulkOrders.credit_chunk`` for every task, one after the other in this process (the queue's
  worker, ``functions/payment_callback/crediting.py``, runs them in parallel).

moto snapshots the whole table (``copy.deepcopy``) for every TransactWriteItems, so its time grows
with the table where DynamoDB's does not; inside the bench only the items a transaction touches
are snapshotted (``bench.stack._cheap_moto_transactions``; the outcome of every transaction is
unchanged). The time spent outside AWS calls (our own code) is given beside the wall time.
"""

from __future__ import annotations

import math
import os
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from bench.awsmeter import AwsMeter, Index, TableShape, Tally, item_size, read_units, write_units
from bench.common import progress

SIZES = (1_500, 15_000)  # the smaller one shows what does not grow with the order
PAYER = "bench-sponsor"
MONTHS = 1
TABLE = "bench-bulk-orders-participants"
NOW = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)  # 10:00 WIB on 5 December 2026
MONTH = "2026-12"  # the workers' first dues month, billed and credited
PAID_AT = datetime(2026, 12, 5, 4, 0, tzinfo=UTC)
API_SEEDED = 1_000  # items written through the API (BatchWriteItem); the rest straight into moto's backend
PHASES = ("create", "payment", "crediting")
CHUNK_WORKERS = 100  # perisai.bulk_orders.service.CHUNK_SIZE, restated for the minimum's arithmetic
SQS_BATCH = 10
PATCH_NOTE = (
    "moto's per-transaction table copy disabled in this bench (only the items a transaction touches are "
    "snapshotted for its rollback); DynamoDB has no such cost"
)

# -- the design minimum, per worker, and why ---------------------------------------------------------

MINIMUM_REASONS = {
    "create": (
        "an order must read each worker's profile to price its months (BatchGetItem, 100 keys a call: 1/100 "
        "call; 1 RRU per profile of up to 4 KB read strongly consistent, 0.5 eventually; ours are strongly "
        "consistent) and hold each worker so that no second open order bills it (one transactional Put of an "
        "item under 1 KB: 2 WRU; 100 a TransactWriteItems: 1/100 call)"
    ),
    "payment": (
        "one callback must read the order (GetItem) and record the payment, its deduplication marker and the "
        "BulkOrderPaid event in one transaction (TransactWriteItems): 2 calls whatever the order's size, "
        "so 2/N per worker"
    ),
    "crediting": (
        "each worker must have its profile read (BatchGetItem: 1/100 call, 1 RRU) and its ledger entry, its "
        "profile and the events it announces (ContributionReceived, and ParticipantActivated on a first "
        "payment) written in its own transaction (1 TransactWriteItems; 2 WRU per started KB of each item), "
        "plus the index entries those items carry (the profile moves in by_due_month, the entry joins "
        "by_payer_month: standard-rate WRU)"
    ),
}
BEYOND = {
    "create": (
        "the Query of the payer's links (finding its workers, default selection), the chunk items "
        "(WORKERS#nnnn: each worker's priced months, read back by crediting; BatchWriteItem) and the order, "
        "its payment code and the payer's pointer (one transaction, a GetItem for an open order first)"
    ),
    "payment": "the read of the received-event marker first (a redelivery is answered with that one read)",
    "crediting": (
        "the price of exactly-once: the worker's outcome marker (ORDER#/CREDIT#<worker>, written only if "
        "absent); of progress: the chunk's counter (PROGRESS#nnnn) in the same transaction; per chunk: the "
        "order and the chunk read (GetItem x2), the chunk noted done (UpdateItem); per order: the fan-out's "
        "order read and the order marked paid (UpdateItem)"
    ),
}
NOT_COUNTED = (
    "not counted here (no AWS call made in this process): the outbox relay's EventBridge PutEvents for "
    "the BulkOrderPaid event and for each worker's events, and the crediting queue's SQS requests "
    "(the fan-out's SendMessageBatch, 10 tasks a call, and the event source mapping's receives and deletes)"
)


# -- the table ------------------------------------------------------------------------------------


def _shape(definition: dict[str, Any]) -> TableShape:
    return TableShape(
        TABLE,
        tuple(k["AttributeName"] for k in definition["KeySchema"]),
        tuple(
            Index(
                name=gsi["IndexName"],
                keys=tuple(k["AttributeName"] for k in gsi["KeySchema"]),
                projection=gsi["Projection"].get("ProjectionType", "ALL"),
                non_key=tuple(gsi["Projection"].get("NonKeyAttributes", [])),
            )
            for gsi in definition.get("GlobalSecondaryIndexes", [])
        ),
    )


def _create_table(client: Any, definition: dict[str, Any]) -> None:
    indexes = [
        {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
        for gsi in definition.get("GlobalSecondaryIndexes", [])
    ]
    client.create_table(
        TableName=TABLE,
        KeySchema=definition["KeySchema"],
        AttributeDefinitions=definition["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )


# -- seeding --------------------------------------------------------------------------------------


def participant_at(index: int) -> Any:
    """Worker ``index``: enrolled by the sponsor (its payer from the first dues month), not yet paid."""
    from perisai.participants.models import EnrollmentRecord, Participant, Recruitment, StoredPayer

    enrolled = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)
    return Participant(
        participant_id=f"PST-S{index:011d}",
        partner_id=PAYER,
        channel="sponsor",
        nik_hash=f"{index:064x}",
        nik_ciphertext="bench-placeholder",  # nothing here decrypts it
        full_name="Siti Aminah",
        birth_date=datetime(1990, 8, 17).date(),
        gender="F",
        phone="+6281311112222",
        occupation="pedagang",
        sector="other",
        monthly_income=1_250_000,
        programs=["JKK", "JKM"],
        payer=StoredPayer(type="sponsor", id=PAYER),
        status="pending_payment",
        enrolled_at=enrolled,
        recruited_by=Recruitment(partner_id=PAYER, at=enrolled),
        last_enrollment=EnrollmentRecord(partner_id=PAYER, dues_month=MONTH, at=enrolled),
        first_dues_month=MONTH,
        next_dues_month=MONTH,
        regency="3273",
    )


def worker_items(index: int) -> list[dict[str, Any]]:
    """The profile (version 1, index keys included) and the payer link, as enrollment writes them."""
    from perisai.dynamo import to_item
    from perisai.participants.repository import _profile_item, payer_links

    participant = participant_at(index)
    items = [_profile_item(participant.model_copy(update={"version": 1}))]
    items += list(payer_links(participant).values())
    return [to_item(item) for item in items]


def seed(client: Any, table: Any, count: int) -> int:
    """Writes every worker's items: the first API_SEEDED with BatchWriteItem (25 a call), the rest
    as the same items straight into moto's in-process table (as bench/reminders.py does: moto's
    per-item validation makes the API path slow). Returns the bytes of the payer links written."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    written = 0
    link_bytes = 0
    batch: list[dict[str, Any]] = []
    for index in range(count):
        for attrs in worker_items(index):
            if attrs["sk"]["S"].startswith("WORKER#"):
                link_bytes += item_size(attrs)
            if written >= API_SEEDED:
                item = Item.__new__(Item)
                item.hash_key = DynamoType(attrs["pk"])
                item.range_key = DynamoType(attrs["sk"])
                stored = LimitedSizeDict.__new__(LimitedSizeDict)
                dict.__init__(stored)
                for name, value in attrs.items():
                    dict.__setitem__(stored, name, DynamoType(value))
                item.attrs = stored
                table.items[item.hash_key][item.range_key] = item
            else:
                batch.append({"PutRequest": {"Item": attrs}})
            written += 1
            if batch and (len(batch) == 25 or written == API_SEEDED):
                _batch_write(client, batch)
                batch = []
    if batch:
        _batch_write(client, batch)
    return link_bytes


def _batch_write(client: Any, batch: list[dict[str, Any]]) -> None:
    requests: dict[str, Any] = {TABLE: batch}
    while requests:
        requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}


def settlement_body(order_id: str, amount: int) -> dict[str, Any]:
    """A Midtrans settlement notification for the order (a BCA virtual account)."""
    return {
        "transaction_status": "settlement",
        "status_code": "200",
        "gross_amount": f"{amount}.00",
        "order_id": order_id,
        "transaction_id": f"bench-{order_id}",
        "payment_type": "bank_transfer",
        "va_numbers": [{"bank": "bca", "va_number": "12345678901"}],
        "currency": "IDR",
        "transaction_time": "2026-12-05 10:55:00",
        "settlement_time": "2026-12-05 11:00:00",  # PAID_AT, in Jakarta
        "fraud_status": "accept",
    }


# -- the run --------------------------------------------------------------------------------------


def _stored_items(table: Any) -> list[dict[str, Any]]:
    return [item.to_json()["Attributes"] for by_range in table.items.values() for item in by_range.values()]


def run_once(definition: dict[str, Any], count: int) -> dict[str, Any]:
    """Seeds ``count`` workers in a fresh moto; creates, pays and credits their bulk order."""
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from bench.reminders import _environment
    from bench.stack import _cheap_moto_transactions
    from perisai.bulk_orders.models import BulkOrderRequest
    from perisai.bulk_orders.repository import BulkOrderRepository
    from perisai.bulk_orders.service import BulkOrders
    from perisai.domain.partners import Partner
    from perisai.domain.rates import RateBook
    from perisai.participants.repository import ParticipantRepository
    from perisai.payments.providers_midtrans import parse_midtrans
    from perisai.payments.repository import DynamoPaymentStore
    from perisai.payments.service import PaymentService

    _cheap_moto_transactions()  # moto copies the whole table for each transaction; DynamoDB does not

    region = "ap-southeast-3"
    credentials = {
        "AWS_DEFAULT_REGION": region,
        "AWS_REGION": region,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    drop = tuple(n for n in os.environ if n.startswith("AWS_ENDPOINT_URL") or n in ("AWS_PROFILE", "AWS_SESSION_TOKEN"))
    with _environment(credentials, drop), mock_aws():
        client = boto3.client("dynamodb", region_name=region)
        _create_table(client, definition)
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
        table = backend.get_table(TABLE)
        started = time.perf_counter()
        link_bytes = seed(client, table, count)
        seed_seconds = time.perf_counter() - started

        rate_book = RateBook.load()
        participants = ParticipantRepository(TABLE, client)
        bulk = BulkOrders(BulkOrderRepository(TABLE, participants, client), rate_book)
        payments = PaymentService(participants, DynamoPaymentStore(TABLE, participants, client), rate_book, bulk=bulk)
        sponsor = Partner(PAYER, "sponsor", frozenset({"pay"}))

        meter = AwsMeter({TABLE: _shape(definition)}, backend)
        tallies: dict[str, Tally] = {}
        walls: dict[str, float] = {}
        cpus: dict[str, float] = {}
        meter.install()
        try:
            with meter.recording() as tally, meter.function("create"):
                t0, c0 = time.perf_counter(), time.process_time()
                view, created = bulk.open(PAYER, BulkOrderRequest(months=MONTHS), sponsor, NOW)
                walls["create"], cpus["create"] = time.perf_counter() - t0, time.process_time() - c0
            tallies["create"] = tally
            assert created, "the bench's order was answered from an open one"

            event = parse_midtrans(settlement_body(view.order_id, view.amount))
            with meter.recording() as tally, meter.function("payment"):
                t0, c0 = time.perf_counter(), time.process_time()
                answer = payments.receive(event, PAID_AT)
                walls["payment"], cpus["payment"] = time.perf_counter() - t0, time.process_time() - c0
            tallies["payment"] = tally

            with meter.recording() as tally, meter.function("crediting"):
                t0, c0 = time.perf_counter(), time.process_time()
                tasks = bulk.tasks(view.order_id)
                for task in tasks:
                    bulk.credit_chunk(task, PAID_AT)
                walls["crediting"], cpus["crediting"] = time.perf_counter() - t0, time.process_time() - c0
            tallies["crediting"] = tally
        finally:
            meter.uninstall()
        final = bulk.store.get(view.order_id)
        stored = _stored_items(table)

    order_pk = f"ORDER#{view.order_id}"
    ledger = [i for i in stored if str(i["sk"]["S"]).startswith("DUES#")]
    outcomes = [i for i in stored if i["pk"]["S"] == order_pk and str(i["sk"]["S"]).startswith("CREDIT#")]
    profiles = [i for i in stored if i["sk"]["S"] == "PROFILE"]
    checks = {
        "order_participants": view.participants.total,
        "order_amount": view.amount,
        "chunks": len(tasks),
        "payment_outcome": answer.outcome,
        "final_status": final.status if final else None,
        "ledger_entries": len(ledger),
        "ledger_participants": len({i["participant_id"]["S"] for i in ledger}),
        "credited_outcomes": sum(1 for i in outcomes if i["outcome"]["S"] == "credited"),
        "active_profiles": sum(1 for i in profiles if i["status"]["S"] == "active"),
        "outbox_events": Counter(i["detail_type"]["S"] for i in stored if i.get("entity", {}).get("S") == "outbox"),
    }
    checks["outbox_events"] = dict(sorted(checks["outbox_events"].items()))
    sizes = _sizes(tallies, stored, view.order_id, link_bytes, count)
    figures: dict[str, Any] = {
        "workers": count,
        "order_id": view.order_id,
        "seed_seconds": round(seed_seconds, 1),
        "checks": checks,
        "item_bytes": sizes,
        "phases": {
            name: _phase(name, tallies[name], walls[name], cpus[name], count, len(tasks), sizes) for name in PHASES
        },
        "errors": sorted({c.error for t in tallies.values() for c in t.calls if c.error}),
    }
    figures["scans"] = sum(p["calls"].get("DynamoDB.Scan", 0) for p in figures["phases"].values())
    return figures


def _sizes(
    tallies: dict[str, Tally], stored: list[dict[str, Any]], order_id: str, link_bytes: int, count: int
) -> dict[str, Any]:
    """Typical sizes (bytes DynamoDB bills) of the items the minimum is made of, as written."""

    def median_of(prefix: str, kind: str = "sk") -> int:
        found = sorted(item_size(i) for i in stored if str(i[kind]["S"]).startswith(prefix))
        return found[len(found) // 2] if found else 0

    events = Counter()
    for i in stored:
        if i.get("entity", {}).get("S") == "outbox":
            events[i["detail_type"]["S"]] = max(events[i["detail_type"]["S"]], item_size(i))
    progress_items = [i for i in stored if i["pk"]["S"] == f"ORDER#{order_id}" and i["sk"]["S"].startswith("PROGRESS#")]
    return {
        "profile": median_of("PROFILE"),
        "payer_link_mean": round(link_bytes / max(1, count)),
        "hold": median_of("BULKHOLD"),
        "chunk": median_of("WORKERS#"),
        "ledger_entry": median_of("DUES#"),
        "outcome": median_of("CREDIT#"),
        "order": max(
            (item_size(i) for i in stored if i["pk"]["S"] == f"ORDER#{order_id}" and i["sk"]["S"] == "ORDER"), default=0
        ),
        "received_marker": median_of("RECEIVED#", "pk"),
        "progress": max((item_size(i) for i in progress_items), default=0),
        "events": dict(sorted(events.items())),
    }


def _minimum(name: str, count: int, sizes: dict[str, Any]) -> dict[str, float]:
    """The design minimum per worker (see MINIMUM_REASONS), from the item sizes written."""
    if name == "create":
        return {
            "calls": 2 / CHUNK_WORKERS,
            "rru": read_units(sizes["profile"], consistent=True),
            "wru": float(write_units(0, sizes["hold"], transactional=True)),
        }
    if name == "payment":
        order, marker = sizes["order"], sizes["received_marker"]
        wru = write_units(0, order, transactional=True) + write_units(0, marker, transactional=True)
        wru += write_units(0, sizes["events"].get("BulkOrderPaid", 0), transactional=True)
        return {"calls": 2 / count, "rru": read_units(order, consistent=True) / count, "wru": wru / count}
    events = sizes["events"]
    wru = write_units(0, sizes["ledger_entry"], transactional=True)
    wru += write_units(sizes["profile"], sizes["profile"], transactional=True)
    wru += sum(write_units(0, events.get(k, 0), transactional=True) for k in ("ContributionReceived",))
    if "ParticipantActivated" in events:
        wru += write_units(0, events["ParticipantActivated"], transactional=True)
    # index entries: the profile leaves one by_due_month partition for another (2), the entry
    # joins by_payer_month (1)
    wru += 3
    return {"calls": 1 + 1 / CHUNK_WORKERS, "rru": read_units(sizes["profile"], consistent=True), "wru": float(wru)}


def _phase(
    name: str, tally: Tally, wall: float, cpu: float, count: int, chunks: int, sizes: dict[str, Any]
) -> dict[str, Any]:
    own = max(0.0, wall - tally.aws_seconds - tally.meter_seconds)
    minimum = _minimum(name, count, sizes)
    out: dict[str, Any] = {
        "calls": tally.counts(),
        "call_count": len(tally.calls),
        "rru": round(tally.rru, 2),
        "wru": round(tally.wru, 2),
        "index_wru": round(tally.index_wru, 2),
        "per_worker": {
            "calls": round(len(tally.calls) / count, 4),
            "rru": round(tally.rru / count, 4),
            "wru": round(tally.wru / count, 4),
        },
        "minimum_per_worker": {k: round(v, 4) for k, v in minimum.items()},
        "by_operation": _by_operation(tally, count),
        "wall_seconds": round(wall, 3),
        "process_cpu_seconds": round(cpu, 3),
        "aws_seconds": round(tally.aws_seconds, 3),
        "meter_seconds": round(tally.meter_seconds, 3),
        "own_seconds": round(own, 3),
        "own_ms_per_worker": round(own * 1000 / count, 4),
    }
    if name == "create":
        # The meter charges a Query by the items it returns (here projected to two attributes);
        # DynamoDB charges the items it reads, whole: the payer's links.
        query = sum(c.read_units for c in tally.calls if c.name == "DynamoDB.Query")
        pages = sum(1 for c in tally.calls if c.name == "DynamoDB.Query")
        whole = sum(read_units(b, consistent=True) for b in _pages(sizes["payer_link_mean"] * count, pages))
        out["query_rru_per_worker_metered"] = round(query / count, 4)
        out["query_rru_per_worker_whole_items"] = round(whole / count, 4)
    if name == "crediting":
        credit = [c for c in tally.calls if c.name == "DynamoDB.TransactWriteItems"]
        kinds: Counter[str] = Counter()
        for call in credit:
            for key, size in zip(call.item_keys, call.item_bytes, strict=True):
                kinds[_kind(key)] += write_units(0, size, transactional=True)
        out["transaction_wru_per_worker"] = {k: round(v / count, 3) for k, v in sorted(kinds.items())}
        out["items_per_transaction"] = round(sum(c.items_written for c in credit) / max(1, len(credit)), 2)
        out["sqs_send_batches_not_counted"] = math.ceil(chunks / SQS_BATCH)
    return out


def _pages(total_bytes: int, pages: int) -> list[int]:
    """The bytes each of ``pages`` Query pages reads (1 MB a page, the last one the rest)."""
    limit = 1_000_000
    return [min(limit, total_bytes - n * limit) for n in range(pages)] if pages else []


def _kind(key: str) -> str:
    pk, _, sk = key.partition("|")
    if sk.startswith("CREDIT#"):
        return "outcome marker"
    if sk.startswith("PROGRESS#"):
        return "chunk progress"
    if sk == "PROFILE":
        return "profile"
    if sk.startswith("DUES#"):
        return "ledger entry"
    if pk.startswith("OUTBOX#"):
        return "events"
    return sk.split("#")[0].lower()


def _by_operation(tally: Tally, count: int) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for name in sorted({c.name for c in tally.calls}):
        calls = [c for c in tally.calls if c.name == name]
        sub = Tally(calls)
        out[name] = {
            "calls": len(calls),
            "calls_per_worker": round(len(calls) / count, 4),
            "rru_per_worker": round(sub.rru / count, 4),
            "wru_per_worker": round(sub.wru / count, 4),
        }
    return out


# -- the section ----------------------------------------------------------------------------------


def measure(definition: dict[str, Any], *, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    runs = []
    for count in sizes:
        progress(f"bulk orders: {count:,} workers, created, paid and credited")
        runs.append(run_once(definition, count))
    return {
        "payer": PAYER,
        "months": MONTHS,
        "now": NOW.isoformat(),
        "chunk_workers": CHUNK_WORKERS,
        "runs": runs,
        "minimum_reasons": MINIMUM_REASONS,
        "beyond_minimum": BEYOND,
        "not_counted": NOT_COUNTED,
        "moto_patch": PATCH_NOTE,
        "payment_constant": _payment_constant(runs),
    }


def _payment_constant(runs: list[dict[str, Any]]) -> bool:
    keys = [
        (r["phases"]["payment"]["calls"], r["phases"]["payment"]["rru"], r["phases"]["payment"]["wru"]) for r in runs
    ]
    return all(k == keys[0] for k in keys)


# -- output ---------------------------------------------------------------------------------------


def _f(value: float) -> str:
    return f"{value:.4g}" if value < 100 else f"{value:,.0f}"


def rows(section: dict[str, Any]) -> list[tuple[str, ...]]:
    """(workers, phase, calls/worker, min, RRU/worker, min, WRU/worker, min, wall s, own code s)."""
    out = []
    for run in section["runs"]:
        for name in PHASES:
            p = run["phases"][name]
            w, m = p["per_worker"], p["minimum_per_worker"]
            out.append(
                (
                    f"{run['workers']:,}",
                    name,
                    _f(w["calls"]),
                    _f(m["calls"]),
                    _f(w["rru"]),
                    _f(m["rru"]),
                    _f(w["wru"]),
                    _f(m["wru"]),
                    f"{p['wall_seconds']:.2f}",
                    f"{p['own_seconds']:.2f}",
                )
            )
    return out


HEADER = (
    "workers",
    "phase",
    "calls/worker",
    "minimum",
    "RRU/worker",
    "minimum",
    "WRU/worker",
    "minimum",
    "wall s",
    "our code s",
)


def text(section: dict[str, Any]) -> str:
    """What the bench prints."""
    table = [HEADER, *rows(section)]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = ["", "Bulk orders: per worker, measured beside the design minimum"]
    lines += ["  " + "  ".join(cell.rjust(widths[i]) for i, cell in enumerate(r)) for r in table]
    largest = section["runs"][-1]
    lines.append("")
    for name in PHASES:
        p = largest["phases"][name]
        lines.append(f"  {name} ({largest['workers']:,} workers): {_calls(p['calls'])}")
        lines.append(f"    minimum: {section['minimum_reasons'][name]}")
        lines.append(f"    beyond it: {section['beyond_minimum'][name]}")
        if name == "create":
            lines.append(f"    {_query_note(p)}")
        if name == "crediting":
            parts = ", ".join(f"{k} {v:g}" for k, v in p["transaction_wru_per_worker"].items())
            lines.append(f"    each worker's transaction, WRU by item (table only): {parts}")
    payment = [r["phases"]["payment"] for r in section["runs"]]
    lines.append(
        "  payment at "
        + " and ".join(f"{r['workers']:,}" for r in section["runs"])
        + " workers: "
        + "; ".join(f"{p['call_count']} calls, {p['rru']:g} RRU, {p['wru']:g} WRU" for p in payment)
        + (" (the same)" if section["payment_constant"] else " (NOT the same)")
    )
    c = largest["checks"]
    lines.append(
        f"  checks: {c['ledger_entries']:,} ledger entries for {c['ledger_participants']:,} workers, "
        f"{c['credited_outcomes']:,} credited once, order {c['final_status']}, Scans {largest['scans']}"
    )
    lines.append(
        "  wall: each phase in this process against moto in the same process (botocore serializing, moto "
        "answering, the meter's bookkeeping and our code); 'our code' is the wall time outside AWS calls and "
        "the meter. Crediting runs its chunks one after the other here; the queue runs them in parallel."
    )
    lines.append(f"  {section['moto_patch']}.")
    lines.append(f"  {section['not_counted'][0].upper()}{section['not_counted'][1:]}.")
    return "\n".join(lines)


def _query_note(create: dict[str, Any]) -> str:
    return (
        f"the meter charges the links' Query by the projected items it returns "
        f"({create['query_rru_per_worker_metered']:g} RRU per worker, in the figures above); DynamoDB charges "
        f"the whole link items it reads: {create['query_rru_per_worker_whole_items']:g} RRU per worker"
    )


def _calls(calls: dict[str, int]) -> str:
    return ", ".join(f"{name.removeprefix('DynamoDB.')} {n:,}" for name, n in calls.items())


def doc_section(results: dict[str, Any]) -> str:
    """The docs/BENCHMARKS.md section (appended by bench.run after docs.render)."""
    section = results.get("bulk_orders")
    if not section:
        return ""
    header = "| " + " | ".join(HEADER) + " |\n|" + "---|" * len(HEADER) + "\n"
    body = "\n".join("| " + " | ".join(r) + " |" for r in rows(section))
    largest = section["runs"][-1]
    details = []
    for name in PHASES:
        p = largest["phases"][name]
        details.append(
            f"- **{name}** ({largest['workers']:,} workers): {_calls(p['calls'])}; {p['rru']:,.1f} RRU, "
            f"{p['wru']:,.1f} WRU ({p['index_wru']:,.1f} of them index); wall {p['wall_seconds']:.2f} s, of which "
            f"AWS calls (moto) {p['aws_seconds']:.2f} s, the meter {p['meter_seconds']:.2f} s, our code "
            f"{p['own_seconds']:.2f} s ({p['own_ms_per_worker']:g} ms per worker).\n"
            f"  Minimum: {section['minimum_reasons'][name]}. Beyond it: {section['beyond_minimum'][name]}."
            + (f" Note: {_query_note(p)}." if name == "create" else "")
        )
    credit = largest["phases"]["crediting"]
    parts = ", ".join(f"{k} {v:g}" for k, v in credit["transaction_wru_per_worker"].items())
    c = largest["checks"]
    payment = [r["phases"]["payment"] for r in section["runs"]]
    return f"""
## Bulk orders: a sponsor's order for {largest["workers"]:,} workers

`python -m bench --only bulk_orders` measures this section alone (`bench/bulk_orders.py`). A sponsor's
workers ({largest["workers"]:,}, each `pending_payment` with the sponsor as payer from its first dues month,
and their payer links) are seeded in moto, unmeasured; then `BulkOrders.open` (default selection,
{section["months"]} month), one Midtrans settlement through `PaymentService.receive`, and `tasks()` +
`credit_chunk()` for every chunk of {section["chunk_workers"]}, one after the other in one process.
Request units are the meter's (computed from item sizes with DynamoDB's rules, see "How each figure is
measured"); the minimum is computed from the sizes of the items written.

{header}{body}

{chr(10).join(details)}

Each worker's crediting transaction, WRU by item (table only, 2 per started KB): {parts}; the outcome
marker is the price of exactly-once per (order, worker), the chunk progress the price of reporting
progress. The payment phase is the same at every size: {"; ".join(f"{r['workers']:,} workers: {p['call_count']} calls, {p['rru']:g} RRU, {p['wru']:g} WRU" for r, p in zip(section["runs"], payment, strict=True))}.
Checks: {c["ledger_entries"]:,} ledger entries for {c["ledger_participants"]:,} workers, {c["credited_outcomes"]:,}
workers credited once, the order `{c["final_status"]}`, {largest["scans"]} Scans.

Wall time is this machine's, in one process against moto in the same process: botocore serializing each
request, moto answering it, the meter's bookkeeping and our code ("our code" is the wall time outside
AWS calls and the meter; most of the rest is moto, chiefly serializing each BatchGetItem answer of 100
profiles and applying each transaction's items). Crediting runs the chunks one after the other here; the crediting queue runs
them in parallel. {section["moto_patch"][0].upper()}{section["moto_patch"][1:]}. {section["not_counted"][0].upper()}{section["not_counted"][1:]}.
"""


def with_section(doc: str, results: dict[str, Any]) -> str:
    """The rendered docs with the bulk-order section before "## The table" (else at the end)."""
    section = doc_section(results)
    if not section:
        return doc
    marker = "\n## The table\n"
    if marker in doc:
        head, tail = doc.split(marker, 1)
        return f"{head.rstrip()}\n{section}{marker}{tail}"
    return doc.rstrip() + "\n" + section
