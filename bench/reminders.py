"""Dues reminders: what one day's run reads and sends at two table sizes, the SMS plan for a
national month, and the cost of reminding per active participant-month.

The run: a participants table in moto (in-process, ``mock_aws``) with the synthesized template's
key schema and global secondary indexes, seeded with participant profiles built from the stored
model (``Participant``) exactly as the repository writes them (its ``index_keys`` included), most
paid ahead and ``DUE_SHARE`` of them unpaid for the current month. The reminder functions'
composition (``functions/reminders/handler.py``: ``jobs()`` from the environment) then runs
``start`` for dues-reminders at the before_due reminder's hour on the 10th, and every page task it
queues is handled (``run_page``) until the pages queue is empty, as the event source mapping
would deliver them (batches of ``PAGE_BATCH``). The bench's AWS meter counts every call and the
items each read returns (a Query's ScannedCount), with request units computed from the items'
sizes as in section 2.

moto answers a Query on a global secondary index by walking every item of the table, so its time
grows with the table where DynamoDB's does not; the time spent outside AWS calls (Perisai's own
code) is given beside the wall time.
"""

from __future__ import annotations

import contextlib
import importlib.util
import math
import os
import sys
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

from bench.awsmeter import AwsMeter, Index, TableShape, Tally
from bench.common import FUNCTIONS, progress

SIZES = (10_000, 100_000)
DUE_SHARE = 0.01  # unpaid for the current month on the 10th; the rest paid ahead
PENDING_EVERY = 5  # of the due ones, every 5th never paid (pending_payment, first month the current one)
# The 10th at 09:00 WIB: the before_due reminder's day and hour, when the daily schedule runs.
RUN_AT = datetime(2026, 12, 10, 9, 0)  # read in Asia/Jakarta
RUN_MONTH = "2026-12"
PAGE_BATCH = 10  # the pages queue's event source mapping (infra/perisai_infra/reminders.py)
RATE_PER_SECOND = 10  # the deployment's default SMS_RATE_PER_SECOND
DEFAULT_MEMORY_MB = 512  # FunctionSpec's default, when no template says otherwise
TABLE = "bench-reminders-participants"
PAGES_QUEUE = "bench-reminder-pages"
SMS_QUEUE = "bench-reminder-sms"
RUN_JOB = "reminders.run_job"
PAGES = "reminders.process_pages"
MAPPING = "pages queue event source mapping"

# -- the SMS plan ---------------------------------------------------------------------------------
PLAN_PARTICIPANTS = 10_000_000
PLAN_UNPAID_SHARE = 1 / 3
PLAN_RATES = (10, 50, 100)

# -- reminders per active participant-month (assumptions, not measured) ---------------------------
# before_due (the 10th): whoever has not paid the month by then (the plan's third);
# due_day (the 15th): those still unpaid on the due day; arrears (the 1st): those in arrears.
BEFORE_DUE_SHARE = 1 / 3
DUE_DAY_SHARE = 0.15
ARREARS_SHARE = 0.05
REMINDER_SHARES = {"before_due": BEFORE_DUE_SHARE, "due_day": DUE_DAY_SHARE, "arrears": ARREARS_SHARE}
# Values the templates are rendered with for their length: the bench's one-month order.
SAMPLE_AMOUNT = 16_800
SAMPLE_CODE = "12345678901234"


def _jakarta(at: datetime) -> datetime:
    from perisai.clock import JAKARTA

    return at.replace(tzinfo=JAKARTA)


# -- the table ------------------------------------------------------------------------------------


def participants_table(template: dict[str, Any]) -> dict[str, Any]:
    """The participants table's keys and indexes, as the synthesized template declares them."""
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table" and "ParticipantsTable" in logical_id:
            props = resource["Properties"]
            return {
                "KeySchema": props["KeySchema"],
                "AttributeDefinitions": props["AttributeDefinitions"],
                "GlobalSecondaryIndexes": props.get("GlobalSecondaryIndexes", []),
            }
    raise KeyError("no participants table in the template")


def reminder_pages_memory(template: dict[str, Any]) -> int:
    for resource in template["Resources"].values():
        props = resource.get("Properties", {})
        if resource["Type"] == "AWS::Lambda::Function" and str(props.get("Handler", "")).endswith(
            "handler.process_pages"
        ):
            return int(props.get("MemorySize", DEFAULT_MEMORY_MB))
    return DEFAULT_MEMORY_MB


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
            for gsi in definition["GlobalSecondaryIndexes"]
        ),
    )


def _create_table(client: Any, definition: dict[str, Any]) -> None:
    indexes = [
        {k: v for k, v in gsi.items() if k in ("IndexName", "KeySchema", "Projection")}
        for gsi in definition["GlobalSecondaryIndexes"]
    ]
    client.create_table(
        TableName=TABLE,
        KeySchema=definition["KeySchema"],
        AttributeDefinitions=definition["AttributeDefinitions"],
        BillingMode="PAY_PER_REQUEST",
        **({"GlobalSecondaryIndexes": indexes} if indexes else {}),
    )


# -- seeding --------------------------------------------------------------------------------------


def _template_participant() -> Any:
    from perisai.participants.models import EnrollmentRecord, Participant, Recruitment

    enrolled = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    return Participant.model_validate(
        {
            "participant_id": "PST-0000000000AA",
            "partner_id": "agen-jabar",
            "channel": "agent_network",
            "nik_hash": "0" * 64,
            "nik_ciphertext": "bench-placeholder",  # the run never reads the profile
            "full_name": "Siti Aminah",
            "birth_date": "1990-08-17",
            "gender": "F",
            "phone": "+6281311112222",
            "occupation": "pedagang",
            "sector": "other",
            "monthly_income": 1_250_000,
            "programs": ["JKK", "JKM"],
            "status": "active",
            "enrolled_at": enrolled,
            "recruited_by": Recruitment(partner_id="agen-jabar", agent_code="AG-9", at=enrolled),
            "last_enrollment": EnrollmentRecord(
                partner_id="agen-jabar", agent_code="AG-9", dues_month="2026-01", at=enrolled
            ),
            "first_dues_month": "2026-01",
            "covered_through": "2026-12",
            "next_dues_month": "2027-01",
        }
    )


def participant_at(index: int, count: int, due_share: float) -> Any:
    """Participant ``index`` of ``count``: every (1/due_share)-th one owes the current month (every
    PENDING_EVERY-th of those never paid); the others paid 1 to 12 months ahead."""
    from perisai.domain.months import DuesMonth

    base = _template_participant()
    step = max(1, round(1 / due_share)) if due_share > 0 else count + 1
    due = index % step == 0
    current = DuesMonth.parse(RUN_MONTH)
    update: dict[str, Any] = {"participant_id": f"PST-B{index:011d}", "nik_hash": f"{index:064x}"}
    if due and (index // step) % PENDING_EVERY == PENDING_EVERY - 1:
        update |= {
            "status": "pending_payment",
            "first_dues_month": RUN_MONTH,
            "covered_through": None,
            "next_dues_month": RUN_MONTH,
        }
    elif due:
        update |= {"covered_through": str(current.plus(-1)), "next_dues_month": RUN_MONTH}
    else:
        ahead = index % 12
        update |= {"covered_through": str(current.plus(ahead)), "next_dues_month": str(current.plus(ahead + 1))}
    return base.model_copy(update=update)


def profile_item(participant: Any) -> dict[str, Any]:
    """The profile item as ParticipantRepository.create writes it (version 1), index keys included."""
    from perisai.dynamo import to_item
    from perisai.participants.repository import _profile_item

    return to_item(_profile_item(participant.model_copy(update={"version": 1})))


API_SEEDED = 1_000  # profiles written through the API (BatchWriteItem); the rest straight into moto's backend


def seed(client: Any, table: Any, count: int, due_share: float) -> int:
    """Writes ``count`` profiles, the first API_SEEDED with BatchWriteItem (25 a call), the rest as
    the same items straight into moto's in-process table (its per-item validation makes the API
    path take minutes for 100,000; as bench/growth.py does). Returns how many owe the month."""
    from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict

    due = 0
    batch: list[dict[str, Any]] = []
    for index in range(count):
        participant = participant_at(index, count, due_share)
        due += participant.next_dues_month == RUN_MONTH
        attrs = profile_item(participant)
        if index >= API_SEEDED:
            item = Item.__new__(Item)
            item.hash_key = DynamoType(attrs["pk"])
            item.range_key = DynamoType(attrs["sk"])
            stored = LimitedSizeDict.__new__(LimitedSizeDict)
            dict.__init__(stored)
            for name, value in attrs.items():
                dict.__setitem__(stored, name, DynamoType(value))
            item.attrs = stored
            table.items[item.hash_key][item.range_key] = item
            continue
        batch.append({"PutRequest": {"Item": attrs}})
        if len(batch) == 25 or index == min(count, API_SEEDED) - 1:
            requests: dict[str, Any] = {TABLE: batch}
            while requests:
                requests = client.batch_write_item(RequestItems=requests).get("UnprocessedItems") or {}
            batch = []
    return due


# -- the run --------------------------------------------------------------------------------------


@contextlib.contextmanager
def _environment(values: dict[str, str], drop: tuple[str, ...]) -> Iterator[None]:
    saved = dict(os.environ)
    for name in drop:
        os.environ.pop(name, None)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _handler_module() -> Any:
    """functions/reminders/handler.py, loaded as Lambda loads it (its own module)."""
    name = "bench_reminders_handler"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, FUNCTIONS / "reminders" / "handler.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _fresh_composition(handler: Any) -> Any:
    from perisai import aws
    from perisai.settings import Environment

    aws.reset()
    Environment.forget()
    handler.jobs.cache_clear()
    return handler.jobs()


def run_once(definition: dict[str, Any], count: int, due_share: float) -> dict[str, Any]:
    """Seeds ``count`` participants in a fresh moto, runs the day's dues reminders to the end."""
    import boto3
    from moto import mock_aws
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.dynamodb.models import dynamodb_backends

    from bench.stack import _cheap_moto_transactions
    from perisai.reminders.models import JobRequest, PageTask

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
        dynamodb = boto3.client("dynamodb", region_name=region)
        sqs = boto3.client("sqs", region_name=region)
        _create_table(dynamodb, definition)
        pages_url = sqs.create_queue(QueueName=PAGES_QUEUE)["QueueUrl"]
        sms_url = sqs.create_queue(QueueName=SMS_QUEUE)["QueueUrl"]
        started = time.perf_counter()
        backend = dynamodb_backends[DEFAULT_ACCOUNT_ID][region]
        due = seed(dynamodb, backend.get_table(TABLE), count, due_share)
        seed_seconds = time.perf_counter() - started
        os.environ.update(
            {
                "PARTICIPANTS_TABLE": TABLE,
                "REMINDER_PAGES_QUEUE_URL": pages_url,
                "REMINDER_SMS_QUEUE_URL": sms_url,
                "SMS_RATE_PER_SECOND": str(RATE_PER_SECOND),
            }
        )
        handler = _handler_module()
        jobs = _fresh_composition(handler)
        meter = AwsMeter({TABLE: _shape(definition)}, backend)
        at = _jakarta(RUN_AT)
        meter.install()
        try:
            outcomes: Counter[str] = Counter()
            handler_seconds: Counter[str] = Counter()
            invocations: Counter[str] = Counter()
            with meter.recording() as tally:
                wall_started = time.perf_counter()
                t0 = time.perf_counter()
                with meter.function(RUN_JOB):
                    summary = jobs.start(JobRequest(job="dues-reminders", scheduled_at=at), at)
                handler_seconds[RUN_JOB] += time.perf_counter() - t0
                invocations[RUN_JOB] += 1
                while True:
                    with meter.function(MAPPING):
                        received = sqs.receive_message(
                            QueueUrl=pages_url, MaxNumberOfMessages=PAGE_BATCH, WaitTimeSeconds=0
                        ).get("Messages", [])
                    if not received:
                        break
                    invocations[PAGES] += 1
                    t0 = time.perf_counter()
                    with meter.function(PAGES):
                        for message in received:
                            outcome = jobs.run_page(PageTask.model_validate_json(message["Body"]), at)
                            outcomes[outcome.split(" for ")[0]] += 1
                    handler_seconds[PAGES] += time.perf_counter() - t0
                    with meter.function(MAPPING):
                        sqs.delete_message_batch(
                            QueueUrl=pages_url,
                            Entries=[
                                {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(received)
                            ],
                        )
                wall = time.perf_counter() - wall_started
        finally:
            meter.uninstall()
        queued = int(
            sqs.get_queue_attributes(QueueUrl=sms_url, AttributeNames=["ApproximateNumberOfMessages"])["Attributes"][
                "ApproximateNumberOfMessages"
            ]
        )
    figures = _figures(count, due, queued, summary, tally, invocations, wall, handler_seconds, seed_seconds)
    figures["page_outcomes"] = dict(sorted(outcomes.items()))
    return figures


def _figures(
    count: int,
    due: int,
    queued: int,
    summary: dict[str, int],
    tally: Tally,
    invocations: Counter[str],
    wall: float,
    handler_seconds: Counter[str],
    seed_seconds: float,
) -> dict[str, Any]:
    code = Tally([c for c in tally.calls if c.function != MAPPING])
    index_reads = sum(c.items_read for c in code.calls if c.name == "DynamoDB.Query" and c.function == PAGES)
    per = max(queued, 1)
    outside = {
        f: max(0.0, handler_seconds[f] - code.of(f).aws_seconds - code.of(f).meter_seconds) for f in (RUN_JOB, PAGES)
    }
    total = sum(handler_seconds.values())
    return {
        "participants": count,
        "due": due,
        "reminders_queued": queued,
        "start_summary": summary,
        "invocations": dict(invocations),
        "calls": code.counts(),
        "calls_by_function": {f: code.of(f).counts() for f in (RUN_JOB, PAGES)},
        "mapping_calls": Tally([c for c in tally.calls if c.function == MAPPING]).counts(),
        "scans": code.counts().get("DynamoDB.Scan", 0),
        "items_read": code.items_read,
        "index_entries_read": index_reads,
        "items_read_per_reminded": round(code.items_read / per, 3),
        "index_entries_read_per_reminded": round(index_reads / per, 3),
        "fixed_items_read": code.items_read - index_reads,
        "dynamodb_rru": round(code.rru, 2),
        "dynamodb_wru": round(code.wru, 2),
        "rru_per_reminded": round(code.rru / per, 4),
        "wall_seconds": round(wall, 3),
        "handler_seconds": round(total, 3),
        "handler_seconds_outside_aws": round(sum(outside.values()), 3),
        "ms_outside_aws_per_invocation": {
            f: round(outside[f] * 1000 / max(1, invocations[f]), 3) for f in (RUN_JOB, PAGES)
        },
        "ms_outside_aws_per_reminded": round(sum(outside.values()) * 1000 / per, 4),
        "seed_seconds": round(seed_seconds, 1),
        "errors": sorted({c.error for c in tally.calls if c.error}),
    }


# -- the SMS plan ---------------------------------------------------------------------------------


def plan() -> dict[str, Any]:
    """The month's before_due reminders for a national scheme, at the pace AWS allows by default and
    after a raise: days needed (reminder book's window), and what the daily 09:00 run really gets."""
    from perisai.domain.reminders import ReminderBook, day_budget, sms_plan

    book = ReminderBook.packaged()
    days = book.plan.days_before_due
    at = _jakarta(RUN_AT)
    rows = []
    for rate in PLAN_RATES:
        p = sms_plan(
            participants=PLAN_PARTICIPANTS,
            unpaid_share=PLAN_UNPAID_SHARE,
            rate_per_second=rate,
            window=book.sms,
            days_available=days,
        )
        _, run_day = day_budget(at, book.sms, rate)  # what a run at 09:00 may plan for its day
        rows.append(
            {
                "rate_per_second": rate,
                "reminders": p.reminders,
                "per_day": p.per_day,
                "days_needed": p.days_needed,
                "fits": p.fits,
                "daily": list(p.daily),
                "rate_to_fit_plan_days": p.rate_to_fit(days),
                "rate_to_fit_1_day": p.rate_to_fit(1),
                "run_per_day": run_day,
                "run_days_needed": math.ceil(p.reminders / run_day) if run_day else None,
                "run_rate_to_fit_plan_days": math.ceil(p.reminders / (days * run_day // rate)),
                "run_rate_to_fit_1_day": math.ceil(p.reminders / (run_day // rate)),
            }
        )
    return {
        "participants": PLAN_PARTICIPANTS,
        "unpaid_share": PLAN_UNPAID_SHARE,
        "days_before_due": days,
        "window": f"{book.sms.send_from:%H:%M}-{book.sms.quiet_from:%H:%M}",
        "window_seconds": book.sms.seconds,
        "run_at": f"{RUN_AT:%H:%M}",
        "rates": rows,
    }


# -- SMS per participant-month ---------------------------------------------------------------------


def sms(idr_per_usd: float | None) -> dict[str, Any]:
    from perisai.domain.months import DuesMonth
    from perisai.domain.reminders import ReminderBook, segments

    book = ReminderBook.packaged()
    month = DuesMonth.parse(RUN_MONTH)
    due = date(2026, 12, 15)
    kinds = []
    for rule in book.reminders:
        text = rule.render(
            month=month, amount=SAMPLE_AMOUNT, code=SAMPLE_CODE, due=due, months_owed=2, last_day=date(2027, 1, 15)
        )
        longest = rule.render(
            month=DuesMonth(2026, 9),
            amount=999_999_999,
            code="9" * 16,
            due=date(2026, 12, 28),
            months_owed=12,
            last_day=date(2026, 12, 28),
        )
        share = REMINDER_SHARES.get(rule.kind, 0.0)
        kinds.append(
            {
                "kind": rule.kind,
                "day_of_month": rule.day_of_month,
                "share": share,
                "characters": len(text),
                "segments": segments(text),
                "longest_characters": len(longest),
                "longest_segments": segments(longest),
            }
        )
    per_month = sum(k["share"] for k in kinds)
    segs = sum(k["share"] * k["segments"] for k in kinds)
    price = book.sms.price_per_segment_idr
    idr = segs * price
    return {
        "kinds": kinds,
        "reminders_per_participant_month": round(per_month, 4),
        "segments_per_participant_month": round(segs, 4),
        "price_per_segment_idr": price,
        "price_effective_from": book.sms.price_effective_from.isoformat(),
        "price_source": book.sms.price_source,
        "idr_per_participant_month": round(idr, 2),
        "idr_per_usd": idr_per_usd,
        "usd_per_participant_month": None if not idr_per_usd else float(f"{idr / idr_per_usd:.6g}"),
    }


# -- AWS cost per participant-month (from the largest run) ----------------------------------------


def cost_lines(reminders: dict[str, Any], prices: dict[str, Any]) -> list[dict[str, Any]]:
    """The run's AWS work per reminded participant x reminders per active participant-month.

    The larger run's per-reminded figures include its fixed work (rounds, cursors, budget reads for
    every range) spread over its reminded participants: at a larger scale it weighs less.
    """
    from bench.cost import _lambda_lines, _line

    run = reminders["runs"][-1]
    per_month = reminders["sms"]["reminders_per_participant_month"]
    scale = per_month / max(1, run["reminders_queued"])
    memory = reminders.get("memory_mb", DEFAULT_MEMORY_MB)
    note = f"the {run['participants']:,}-participant run's work per reminded participant x {per_month:g} reminders"
    lines = [
        _line(
            "reminders: DynamoDB reads",
            run["dynamodb_rru"] * scale,
            "RRU",
            "dynamodb_on_demand_read_request_unit",
            prices,
            note,
        ),
        _line(
            "reminders: DynamoDB writes",
            run["dynamodb_wru"] * scale,
            "WRU",
            "dynamodb_on_demand_write_request_unit",
            prices,
            note,
        ),
    ]
    sqs_calls = sum(v for k, v in run["calls"].items() if k.startswith("SQS.")) + sum(run["mapping_calls"].values())
    lines.append(
        _line(
            "reminders: SQS requests",
            sqs_calls * scale,
            "requests",
            "sqs_request",
            prices,
            "page tasks and reminder messages sent (batches of 10), the pages queue's receives and deletes",
        )
    )
    for function in (RUN_JOB, PAGES):
        count = run["invocations"].get(function, 0)
        if not count:
            continue
        calls = {k: v / count for k, v in run["calls_by_function"][function].items()}
        cpu_ms = run["ms_outside_aws_per_invocation"][function]
        for line in _lambda_lines(function, count * scale, cpu_ms, memory, calls, prices, note):
            line["item"] = f"reminders: {line['item']}"
            lines.append(line)
    return lines


# -- the section ----------------------------------------------------------------------------------


def measure(
    definition: dict[str, Any],
    *,
    sizes: tuple[int, ...] = SIZES,
    due_share: float = DUE_SHARE,
    memory_mb: int = DEFAULT_MEMORY_MB,
    prices: dict[str, Any] | None = None,
) -> dict[str, Any]:
    from bench.cost import load_prices

    prices = prices or load_prices()
    runs = []
    for count in sizes:
        progress(f"reminders: {count:,} participants, {due_share:.0%} unpaid this month")
        runs.append(run_once(definition, count, due_share))
    out: dict[str, Any] = {
        "run_at": f"{RUN_AT:%Y-%m-%d %H:%M} Asia/Jakarta",
        "due_share": due_share,
        "rate_per_second": RATE_PER_SECOND,
        "page_batch": PAGE_BATCH,
        "memory_mb": memory_mb,
        "runs": runs,
        "plan": plan(),
        "sms": sms(prices["assumptions"].get("idr_per_usd")),
        "assumptions": {
            "reminder_shares": REMINDER_SHARES,
            "note": "Shares of active participants reminded each month: before_due the unpaid third on the 10th "
            "(the plan's share), due_day those still unpaid on the 15th, arrears those in arrears on the 1st. "
            "Assumed, not measured.",
        },
    }
    lines = cost_lines(out, prices)
    aws_usd = sum(line["usd"] or 0 for line in lines)
    sms_usd = out["sms"]["usd_per_participant_month"]
    out["per_participant_month"] = {
        "lines": lines,
        "aws_usd": float(f"{aws_usd:.6g}"),
        "sms_usd": sms_usd,
        "total_usd": None if sms_usd is None else float(f"{aws_usd + sms_usd:.6g}"),
        "not_included": "the sender's work per SMS (profile read, payment order, send claim, pace counter, SNS "
        "request) and the daily lapse-detection job",
    }
    return out
