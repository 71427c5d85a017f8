"""The jobs' data access on moto, with the participants table as the stack defines it: what one
run reads, and the shared SMS pace under several senders."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from moto import mock_aws

from perisai.domain.rates import RateBook
from perisai.domain.reminders import ReminderBook
from perisai.dynamo import to_item
from perisai.participants.repository import ParticipantRepository, _profile_item
from perisai.queues import JobQueue
from perisai.reminders.models import JobRequest, PageTask, ReminderMessage
from perisai.reminders.repository import ReminderRepository, SendRate
from perisai.reminders.service import ReminderJobs
from tests.helpers.moto_table import Atomic
from tests.unit.test_participant_writes import participant

WIB = timezone(timedelta(hours=7))
TABLE = "participants-jobs"


class Recording:
    """A DynamoDB client that counts each operation and the items each returned."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.calls: Counter[str] = Counter()
        self.items: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            key = f"{name}:{kwargs.get('IndexName', 'table')}"
            self.calls[key] += 1
            result = method(*args, **kwargs)
            self.items[key] += len(result.get("Items", [])) + (1 if result.get("Item") else 0)
            return result

        return call


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch, template_json: dict[str, Any]) -> Iterator[tuple[Any, Any]]:
    for name, value in {
        "AWS_DEFAULT_REGION": "ap-southeast-3",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    # The participants table exactly as the stack defines it (keys and indexes).
    table = next(
        r["Properties"]
        for r in template_json["Resources"].values()
        if r["Type"] == "AWS::DynamoDB::Table"
        and any(g["IndexName"] == "by_due_month" for g in r["Properties"].get("GlobalSecondaryIndexes", []))
    )
    with mock_aws():
        dynamodb = boto3.client("dynamodb")
        dynamodb.create_table(
            TableName=TABLE,
            KeySchema=table["KeySchema"],
            AttributeDefinitions=table["AttributeDefinitions"],
            GlobalSecondaryIndexes=table["GlobalSecondaryIndexes"],
            BillingMode="PAY_PER_REQUEST",
        )
        yield dynamodb, boto3.client("sqs")


def _seed(dynamodb: Any, total: int, due: int) -> list[str]:
    """``total`` participants; ``due`` of them have not paid May 2027 (the rest paid through June)."""
    due_ids = []
    rows = []
    for n in range(total):
        pid = f"PST-{n:012d}"
        owes = n % (total // due) == 0 and len(due_ids) < due
        stored = participant(
            participant_id=pid,
            status="active",
            first_dues_month="2027-01",
            covered_through="2027-04" if owes else "2027-06",
            next_dues_month="2027-05" if owes else "2027-07",
        )
        if owes:
            due_ids.append(pid)
        rows.append({"PutRequest": {"Item": to_item(_profile_item(stored))}})
    for start in range(0, len(rows), 25):
        dynamodb.batch_write_item(RequestItems={TABLE: rows[start : start + 25]})
    return due_ids


def _jobs(dynamodb: Any, sqs: Any) -> tuple[ReminderJobs, str, str]:
    pages = sqs.create_queue(QueueName="pages")["QueueUrl"]
    sms = sqs.create_queue(QueueName="sms")["QueueUrl"]
    store = ReminderRepository(TABLE, dynamodb)
    jobs = ReminderJobs(
        index=store,
        rounds=store,
        tasks=JobQueue(pages, sqs),
        sms=JobQueue(sms, sqs),
        participants=ParticipantRepository(TABLE, dynamodb),
        book=ReminderBook.packaged(),
        rate_book=RateBook.load(),
        rate_per_second=10,
    )
    return jobs, pages, sms


def _drain(sqs: Any, url: str, handle: Any) -> int:
    handled = 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            handle(message["Body"])
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
            handled += 1
    return handled


def test_a_run_over_5000_reads_the_50_due_not_the_table(aws: tuple[Any, Any]) -> None:
    raw, sqs = aws
    due = set(_seed(raw, 5_000, 50))
    recording = Recording(raw)
    jobs, pages, sms = _jobs(recording, sqs)

    at = datetime(2027, 5, 10, 9, tzinfo=WIB)
    jobs.start(JobRequest(job="dues-reminders", scheduled_at=at), at)
    _drain(sqs, pages, lambda body: jobs.run_page(PageTask.model_validate_json(body), at))
    planned: list[str] = []
    _drain(sqs, sms, lambda body: planned.append(ReminderMessage.model_validate_json(body).participant_id))

    assert sorted(planned) == sorted(due)
    assert not any(op.startswith("scan") for op in recording.calls), recording.calls
    assert recording.items["query:by_due_month"] == 50
    # The rest is the run's own bookkeeping (2 ranges x 16 shards): fixed, whatever the table holds.
    assert sum(recording.items.values()) <= 50 + 4 * 32 + 8, recording.items


def test_the_status_job_reads_and_writes_only_who_moves(aws: tuple[Any, Any]) -> None:
    # Smaller table: moto copies the whole table for each transaction (DynamoDB does not).
    raw, sqs = aws
    due = set(_seed(raw, 500, 5))
    recording = Recording(raw)
    jobs, pages, _ = _jobs(recording, sqs)
    lapse = datetime(2027, 5, 16, 0, 30, tzinfo=WIB)
    jobs.start(JobRequest(job="lapse-detection", scheduled_at=lapse), lapse)
    _drain(sqs, pages, lambda body: jobs.run_page(PageTask.model_validate_json(body), lapse))
    assert not any(op.startswith("scan") for op in recording.calls), recording.calls
    assert recording.items["query:by_due_month"] == 5
    assert recording.items["get_item:table"] == 5  # each one moved is read once, on its version
    assert recording.calls["transact_write_items:table"] == 5
    moved = [ParticipantRepository(TABLE, raw).get(pid) for pid in sorted(due)]
    assert {p.status for p in moved if p} == {"arrears"}

    # A second run at the same instant reads nobody and changes nothing.
    recording.calls.clear()
    recording.items.clear()
    jobs.start(JobRequest(job="lapse-detection", scheduled_at=lapse), lapse)
    _drain(sqs, pages, lambda body: jobs.run_page(PageTask.model_validate_json(body), lapse))
    assert recording.items["query:by_due_month"] == 0 and recording.calls["transact_write_items:table"] == 0


class FakeTime:
    """One clock for every sender: sleeping moves it on, no real waiting."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.25
        self._lock = threading.Lock()

    def time(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.now += max(seconds, 0.001)


def test_the_pace_holds_across_five_senders_at_once(aws: tuple[Any, Any]) -> None:
    raw, _ = aws
    client = Atomic(raw)
    fake = FakeTime()
    seconds: list[int] = []
    lock = threading.Lock()

    def sender() -> None:
        pace = SendRate(TABLE, 10, client, now=fake.time, sleep=fake.sleep, max_wait_seconds=10_000)
        for _ in range(40):
            second = pace.acquire()
            with lock:
                seconds.append(second)

    threads = [threading.Thread(target=sender) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    per_second = Counter(seconds)
    assert len(seconds) == 200
    assert max(per_second.values()) <= 10, per_second
    assert len(per_second) >= 20  # 200 sends at 10 a second take at least 20 seconds
