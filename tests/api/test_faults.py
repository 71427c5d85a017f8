"""Every write path under AWS faults: throttling, 500s and timeouts at each AWS call it makes.

For each path the call sequence of a successful run is recorded first (same patch as the
injection, ``tests.helpers.faults.record``); the tests then fail each position with each fault
kind and check that

- the caller gets a clean, retryable answer (HTTP 503 ``service_unavailable``, or 409
  ``request_in_progress``; ``DependencyUnavailable`` for the admin functions) or success;
- nothing is half-written (participant, NIK item and outbox event exist all together or not
  at all; a partner key's two items likewise);
- retrying the same request (same Idempotency-Key) succeeds, with the same participant;
- after ``runtime.delivery.drain()`` exactly one ``ParticipantEnrolled`` per participant
  reached the bus.

Injected faults are not retried by the SDK (see tests.helpers.faults): each one is what the
application sees after botocore gave up.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pytest

from perisai.participants.repository import OUTBOX_TTL_SECONDS
from tests.api.conftest import Api, enrollment, scan_all
from tests.helpers.faults import KINDS, Fault, FaultInjector, inject, record

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime
    from perisai.partners.models import PartnerKey

PARTNER_ID = "demo-partner"
ENROLL_FUNCTION = "enroll"
RELAY_FUNCTION = "outbox_relay"

# The AWS calls of one successful enrollment, in order (test_enrollment_call_sequence_is_known
# checks this against a recording; a new call makes it fail, so the matrix follows the code).
IDEMPOTENCY_START = ("dynamodb", "PutItem")  # Powertools: INPROGRESS record
HMAC_SECRET = ("secretsmanager", "GetSecretValue")  # NIK index key (cached 5 min; cleared per case)
NIK_ENCRYPTION = ("kms", "GenerateDataKey")  # AWS Encryption SDK, data key per participant
ENROLL_TRANSACTION = ("dynamodb", "TransactWriteItems")  # participant + NIK item + outbox event
IDEMPOTENCY_SUCCESS = ("dynamodb", "UpdateItem")  # Powertools: COMPLETED record with the response
IDEMPOTENCY_CLEANUP = ("dynamodb", "DeleteItem")  # Powertools, only when the enrollment raised
ENROLL_PATH = (IDEMPOTENCY_START, HMAC_SECRET, NIK_ENCRYPTION, ENROLL_TRANSACTION, IDEMPOTENCY_SUCCESS)

SLACK_MS = 2_000


def in_progress_bound_ms(runtime: LocalRuntime) -> int:
    """How long an INPROGRESS record may block its key: the enroll function's timeout (Powertools
    sets its in-progress expiry from the remaining invocation time), plus slack."""
    timeouts = [f.timeout for f in runtime.model.functions.values() if f.source == f"functions/{ENROLL_FUNCTION}"]
    assert len(timeouts) == 1, timeouts
    return timeouts[0] * 1000 + SLACK_MS


def _ids(value: Any) -> str:
    if isinstance(value, Fault):
        return value.value
    if isinstance(value, tuple):
        return ".".join(value)
    return str(value)


# -- fixtures: the bus tap, table inspection ----------------------------------------------


class EventLedger:
    """Every ParticipantEnrolled that reached the bus since the module started (a test queue
    behind a rule on the domain bus, as test_enrollment does), read and deleted as it arrives."""

    def __init__(self, runtime: LocalRuntime) -> None:
        self._runtime = runtime
        self._sqs = runtime.cloud.client("sqs")
        events = runtime.cloud.client("events")
        bus = runtime.outputs()["EventBusName"]
        suffix = uuid.uuid4().hex[:8]
        name = f"test-faults-events-{suffix}"
        self._queue = self._sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=self._queue, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        rule = f"test-faults-{suffix}"
        events.put_rule(Name=rule, EventBusName=bus, EventPattern=json.dumps({"detail-type": ["ParticipantEnrolled"]}))
        events.put_targets(Rule=rule, EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
        self.events: list[dict[str, Any]] = []

    def collect(self) -> None:
        self._runtime.delivery.drain()
        while batch := self._sqs.receive_message(QueueUrl=self._queue, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                self.events.append(json.loads(message["Body"]))
                self._sqs.delete_message(QueueUrl=self._queue, ReceiptHandle=message["ReceiptHandle"])

    def of(self, participant_id: str) -> list[dict[str, Any]]:
        self.collect()
        return [e for e in self.events if e["detail"]["participant_id"] == participant_id]


@pytest.fixture(scope="module")
def ledger(runtime: LocalRuntime) -> EventLedger:
    return EventLedger(runtime)


def _enrollment_items(runtime: LocalRuntime, nik_hash: str, since: int) -> list[dict[str, Any]]:
    """Items of one NIK (participant, NIK item, by any key) and every outbox item written since
    ``since`` (epoch seconds; outbox items expire 7 days after they are written). A filtered scan:
    it sees every item, as a half-written enrollment check must, but ships only these."""
    return scan_all(
        runtime,
        FilterExpression="nik_hash = :h OR pk = :nik OR (entity = :outbox AND expires_at >= :since)",
        ExpressionAttributeValues={
            ":h": {"S": nik_hash},
            ":nik": {"S": f"NIK#{nik_hash}"},
            ":outbox": {"S": "outbox"},
            ":since": {"N": str(since + OUTBOX_TTL_SECONDS)},
        },
    )


def _nik_hash(runtime: LocalRuntime, nik: str) -> str:
    """The NIK index key, computed from the secret without touching the handlers' secret cache."""
    from perisai.settings import EnrollEnv

    secret = runtime.cloud.client("secretsmanager").get_secret_value(SecretId=EnrollEnv.load().nik_hmac_secret_arn)
    return hmac.new(secret["SecretString"].encode(), nik.encode(), hashlib.sha256).hexdigest()


def _clear_secret_cache() -> None:
    """The HMAC secret is cached for 5 minutes; clearing it puts GetSecretValue back in the sequence."""
    from perisai.enrollment import nik

    nik._secrets.cache_clear()


def _idempotency_record_id(partner_id: str, idempotency_key: str) -> str:
    """The IdempotencyTable id Powertools derives for (partner, "enroll", key): perisai.idempotency's config."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    from perisai import idempotency

    layer = DynamoDBPersistenceLayer(table_name="unused", boto3_client=object())
    layer.configure(idempotency.config(), key_prefix="enroll")
    key = layer._get_hashed_idempotency_key(
        {"partner_id": partner_id, "operation": "enroll", "idempotency_key": idempotency_key}
    )
    assert key is not None
    return key


@dataclass
class Footprint:
    participants: list[dict[str, Any]]
    nik_items: list[dict[str, Any]]
    outbox: list[dict[str, Any]]  # outbox items written since the case started

    @property
    def counts(self) -> tuple[int, int, int]:
        return (len(self.participants), len(self.nik_items), len(self.outbox))

    @property
    def participant_id(self) -> str | None:
        return self.participants[0]["participant_id"]["S"] if self.participants else None


@dataclass
class EnrollCase:
    """One enrollment request (fixed body and Idempotency-Key) and what it left in AWS."""

    api: Api
    runtime: Any
    ledger: EventLedger
    body: dict[str, Any] = field(default_factory=enrollment)
    key: str = field(default_factory=lambda: str(uuid.uuid4()))
    responses: list[Any] = field(default_factory=list)
    expired_in_progress: int = 0

    def __post_init__(self) -> None:
        self.nik_hash = _nik_hash(self.runtime, self.body["nik"])
        self.started = int(time.time()) - 1
        self.outbox_before = {
            i["pk"]["S"]
            for i in _enrollment_items(self.runtime, self.nik_hash, self.started)
            if i["sk"]["S"] == "EVENT"
        }

    def send(self, injector: FaultInjector | None = None) -> Any:
        _clear_secret_cache()
        if injector is None:
            response = self.api.enroll(self.body, key=self.key)
        else:
            with injector:
                response = self.api.enroll(self.body, key=self.key)
        self.responses.append(response)
        return response

    def footprint(self) -> Footprint:
        items = _enrollment_items(self.runtime, self.nik_hash, self.started)
        participants = [
            i
            for i in items
            if i.get("entity", {}).get("S") == "participant" and i.get("nik_hash", {}).get("S") == self.nik_hash
        ]
        nik_items = [i for i in items if i["pk"]["S"] == f"NIK#{self.nik_hash}"]
        outbox = [
            i for i in items if i.get("entity", {}).get("S") == "outbox" and i["pk"]["S"] not in self.outbox_before
        ]
        return Footprint(participants, nik_items, outbox)

    def assert_all_or_nothing(self) -> Footprint:
        """Participant, NIK item and outbox event exist together or not at all; never an orphan event."""
        found = self.footprint()
        assert found.counts in ((0, 0, 0), (1, 1, 1)), f"half-written enrollment: {found.counts}"
        if found.participants:
            participant_id = found.participant_id
            assert found.nik_items[0]["participant_id"]["S"] == participant_id
            assert json.loads(found.outbox[0]["detail"]["S"])["participant_id"] == participant_id
        return found

    def assert_events(self, found: Footprint) -> None:
        """After delivery, one ParticipantEnrolled per participant (none when nothing was written)."""
        if found.participant_id is not None:
            assert len(self.ledger.of(found.participant_id)) == 1
        else:
            self.ledger.collect()  # delivers whatever there is; an orphan event would fail below
        # nothing else new: every outbox item of this case belongs to the participant counted above
        assert len(found.outbox) == len(found.participants)

    def idempotency_record(self) -> dict[str, Any] | None:
        table = self.runtime.outputs()["IdempotencyTableName"]
        return (
            self.runtime.cloud.client("dynamodb")
            .get_item(TableName=table, Key={"id": {"S": _idempotency_record_id(PARTNER_ID, self.key)}})
            .get("Item")
        )

    def expire_in_progress_record(self) -> None:
        """Stands in for waiting out an INPROGRESS record (test_the_lost_success_record_... waits for
        real once): checks the record is bounded by the function timeout, then ages it."""
        item = self.idempotency_record()
        assert item is not None and item["status"]["S"] == "INPROGRESS", item
        expiry_ms = int(item["in_progress_expiration"]["N"])
        now_ms = int(time.time() * 1000)
        bound = in_progress_bound_ms(self.runtime)
        assert expiry_ms - now_ms <= bound, "an INPROGRESS record outlives the function timeout"
        self.runtime.cloud.client("dynamodb").update_item(
            TableName=self.runtime.outputs()["IdempotencyTableName"],
            Key={"id": item["id"]},
            UpdateExpression="SET in_progress_expiration = :past",
            ExpressionAttributeValues={":past": {"N": str(now_ms - 1)}},
        )
        self.expired_in_progress += 1

    def retry_until_done(self, attempts: int = 3) -> Any:
        """Retry as a well-behaved client: on 503 at once, on request_in_progress once the record expired."""
        response = self.responses[-1]
        for _ in range(attempts):
            if response.status_code in (200, 201):
                return response
            assert_retryable(response)
            if response.status_code == 409:
                self.expire_in_progress_record()
            response = self.send()
        return response


def assert_retryable(response: Any) -> None:
    """A clean error the caller can retry: 503 service_unavailable or 409 request_in_progress."""
    assert response.status_code in (503, 409), f"{response.status_code}: {response.text}"
    expected = "service_unavailable" if response.status_code == 503 else "request_in_progress"
    assert response.json()["error"] == expected, response.text


def assert_clean(response: Any) -> None:
    if response.status_code != 201:
        assert_retryable(response)


def _committed(injector: FaultInjector) -> bool:
    """Did a TransactWriteItems of this request reach the table (unfaulted, or faulted after it ran)?"""
    return any(c.key == ENROLL_TRANSACTION and c.fault in (None, Fault.LOST_RESPONSE) for c in injector.calls)


# -- enrollment: the recorded sequence -------------------------------------------------------


@pytest.fixture(scope="module")
def enroll_sequence(api: Api, runtime: LocalRuntime) -> list[tuple[str, str]]:
    api.enroll(enrollment())  # warm the function, its clients and the authorizer cache outside the recording
    _clear_secret_cache()
    with record(functions=ENROLL_FUNCTION) as calls:
        response = api.enroll(enrollment())
    assert response.status_code == 201, response.text
    return calls.sequence


def test_enrollment_call_sequence_is_known(enroll_sequence: list[tuple[str, str]]) -> None:
    assert tuple(enroll_sequence) == ENROLL_PATH


def _run_enroll_case(case: EnrollCase, *injectors: FaultInjector) -> Any:
    """Send once under the injectors, check the answer and the footprint, retry to success, check again."""
    _clear_secret_cache()
    with ExitStack() as active:
        for injector in injectors:
            active.enter_context(injector)
        first = case.api.enroll(case.body, key=case.key)
    case.responses.append(first)
    for injector in injectors:
        assert injector.injected, f"fault not injected: {injector.fault} at {injector.at} of {injector.sequence}"
    assert_clean(first)

    # Never half-written, and written exactly when the transaction reached the table.
    found = case.assert_all_or_nothing()
    assert (found.counts == (1, 1, 1)) == _committed(injectors[0]), (found.counts, injectors[0].calls)
    if first.status_code == 201:
        assert first.json()["participant_id"] == found.participant_id
    case.assert_events(found)  # a failed enrollment that is never retried leaves no event either

    final = case.retry_until_done()
    assert final.status_code == 201, final.text
    done = case.assert_all_or_nothing()
    assert done.counts == (1, 1, 1)
    assert final.json()["participant_id"] == done.participant_id
    if found.participant_id is not None:  # the retry answered with the participant already written
        assert done.participant_id == found.participant_id
    case.assert_events(done)

    # And the key now replays that answer, writing nothing.
    replay = case.send()
    assert replay.status_code == 201 and replay.json() == final.json()
    assert case.footprint().counts == (1, 1, 1)
    return first


# -- enrollment: every position x every fault kind -----------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=_ids)
@pytest.mark.parametrize("operation", ENROLL_PATH, ids=_ids)
def test_enrollment_fault_at_each_call(
    api: Api,
    runtime: LocalRuntime,
    ledger: EventLedger,
    enroll_sequence: list[tuple[str, str]],
    operation: tuple[str, str],
    kind: Fault,
) -> None:
    at = enroll_sequence.index(operation) + 1
    case = EnrollCase(api, runtime, ledger)
    _run_enroll_case(case, inject(kind, at=at, functions=ENROLL_FUNCTION))


@pytest.mark.parametrize("kind", [Fault.THROTTLING, Fault.SERVER_ERROR], ids=_ids)
def test_a_transaction_failing_after_the_sdks_retries_is_503_at_once(
    api: Api, runtime: LocalRuntime, ledger: EventLedger, kind: Fault
) -> None:
    """One retry layer: botocore's standard mode has already retried an injected fault (see
    tests/helpers/faults.py), so the repository does not retry it again on top."""
    case = EnrollCase(api, runtime, ledger)
    injector = inject(kind, match=ENROLL_TRANSACTION, times=1, functions=ENROLL_FUNCTION)
    first = _run_enroll_case(case, injector)
    assert first.status_code == 503
    assert len(injector.injected) == 1


@pytest.mark.parametrize("operation", [IDEMPOTENCY_START, ENROLL_TRANSACTION, IDEMPOTENCY_SUCCESS], ids=_ids)
def test_enrollment_write_whose_response_is_lost(
    api: Api, runtime: LocalRuntime, ledger: EventLedger, operation: tuple[str, str]
) -> None:
    """The write happened, the answer timed out: the caller sees 503 and its retry must converge."""
    case = EnrollCase(api, runtime, ledger)
    first = _run_enroll_case(case, inject(Fault.LOST_RESPONSE, match=operation, functions=ENROLL_FUNCTION))
    assert first.status_code == 503


@pytest.mark.parametrize("cause", [HMAC_SECRET, NIK_ENCRYPTION, ENROLL_TRANSACTION], ids=_ids)
def test_enrollment_fault_whose_cleanup_also_fails(
    api: Api, runtime: LocalRuntime, ledger: EventLedger, cause: tuple[str, str]
) -> None:
    """The enrollment fails, and Powertools cannot delete its INPROGRESS record either: the key is
    blocked until the record expires with the function timeout (bounded), then the retry works."""
    case = EnrollCase(api, runtime, ledger)
    kind = Fault.READ_TIMEOUT  # not retried by the repository, so the function does raise
    first = _run_enroll_case(
        case,
        inject(kind, match=cause, functions=ENROLL_FUNCTION),
        inject(Fault.SERVER_ERROR, match=IDEMPOTENCY_CLEANUP, functions=ENROLL_FUNCTION),
    )
    assert first.status_code == 503
    assert case.expired_in_progress == 1


def test_the_lost_success_record_blocks_the_key_until_the_function_timeout_then_replays(
    api: Api, runtime: LocalRuntime, ledger: EventLedger
) -> None:
    """Known design point, in real time: the enrollment commits, the idempotency "success" write
    fails. The caller gets 503; retries get 409 request_in_progress while the INPROGRESS record
    lives (at most the function timeout, 10 s); then the retry answers 201 with the participant
    already written (the service recognises its own earlier request), and nothing is written twice."""
    case = EnrollCase(api, runtime, ledger)
    first = case.send(inject(Fault.SERVER_ERROR, match=IDEMPOTENCY_SUCCESS, functions=ENROLL_FUNCTION))
    assert first.status_code == 503 and first.json()["error"] == "service_unavailable"
    committed = case.assert_all_or_nothing()
    assert committed.counts == (1, 1, 1)

    started, statuses = time.monotonic(), []
    while True:
        response = case.send()
        statuses.append(response.status_code)
        if response.status_code != 409:
            break
        assert response.json()["error"] == "request_in_progress"
        assert time.monotonic() - started < in_progress_bound_ms(runtime) / 1000, "request_in_progress did not end"
        time.sleep(0.5)
    assert response.status_code == 201, response.text
    assert response.json()["participant_id"] == committed.participant_id
    assert statuses[0] == 409  # the record really did block the key for a while
    done = case.assert_all_or_nothing()
    assert done.counts == (1, 1, 1)
    case.assert_events(done)
    assert case.send().json() == response.json()


# -- outbox relay -> EventBridge ----------------------------------------------------------


@pytest.mark.parametrize("times", [1, 2])
@pytest.mark.parametrize("kind", KINDS, ids=_ids)
def test_relay_delivers_once_after_put_events_failures(
    api: Api, runtime: LocalRuntime, ledger: EventLedger, kind: Fault, times: int
) -> None:
    runtime.delivery.drain()  # nothing of earlier tests left in flight
    with inject(kind, match=("events", "PutEvents"), times=times, functions=RELAY_FUNCTION) as faults:
        response = api.enroll(enrollment())
        assert response.status_code == 201
        runtime.delivery.drain()
    participant_id = response.json()["participant_id"]
    assert len(faults.injected) == times
    assert faults.sequence == [("events", "PutEvents")] * (times + 1)  # the stream mapping retried it
    assert len(ledger.of(participant_id)) == 1


def test_relay_put_events_whose_response_is_lost_delivers_at_least_once(
    api: Api, runtime: LocalRuntime, ledger: EventLedger
) -> None:
    """PutEvents succeeded but timed out: the relay cannot know, retries, and the bus gets the event
    twice, with the same event_id (at-least-once, as documented; consumers dedupe on event_id)."""
    runtime.delivery.drain()
    with inject(Fault.LOST_RESPONSE, match=("events", "PutEvents"), functions=RELAY_FUNCTION):
        participant_id = api.enroll(enrollment()).json()["participant_id"]
        runtime.delivery.drain()
    events = ledger.of(participant_id)
    assert len(events) == 2
    assert len({e["detail"]["event_id"] for e in events}) == 1


# -- partner key administration (called directly: armed scope) ------------------------------


def _partner_items(runtime: LocalRuntime, partner_id: str, key_hash: str, key_id: str) -> list[dict[str, Any] | None]:
    client = runtime.cloud.client("dynamodb")
    table = runtime.outputs()["PartnersTableName"]
    keys = [
        {"pk": {"S": f"KEY#{key_hash}"}, "sk": {"S": "KEY"}},
        {"pk": {"S": f"PARTNER#{partner_id}"}, "sk": {"S": f"KEY#{key_id}"}},
    ]
    return [client.get_item(TableName=table, Key=k, ConsistentRead=True).get("Item") for k in keys]


ISSUE_PATH = (("dynamodb", "TransactWriteItems"),)
REVOKE_PATH = (("dynamodb", "GetItem"), ("dynamodb", "TransactWriteItems"))


def _issue(runtime: LocalRuntime, partner_id: str, clear: str) -> tuple[str, PartnerKey]:
    from perisai.partners.repository import PartnerKeyRepository
    from perisai.partners.service import issue_key

    return issue_key(
        PartnerKeyRepository(runtime.outputs()["PartnersTableName"]),
        partner_id=partner_id,
        partner_name=partner_id,
        channel="retailer",
        scopes=["enroll"],
        key=clear,
    )


def _recorded(fn: Callable[..., object], *args: Any) -> list[tuple[str, str]]:
    with record(armed_only=True) as calls, calls.armed():
        fn(*args)
    return calls.sequence


def test_admin_call_sequences_are_known(runtime: LocalRuntime) -> None:
    from perisai.partners.repository import PartnerKeyRepository

    partner_id = f"faults-seq-{uuid.uuid4().hex[:8]}"
    clear = f"faults-{uuid.uuid4().hex}"
    assert tuple(_recorded(_issue, runtime, partner_id, clear)) == ISSUE_PATH
    _, key = _issue(runtime, partner_id, f"faults-{uuid.uuid4().hex}")
    repository = PartnerKeyRepository(runtime.outputs()["PartnersTableName"])
    assert tuple(_recorded(repository.revoke, partner_id, key.key_id)) == REVOKE_PATH


@pytest.mark.parametrize("kind", [*KINDS, Fault.LOST_RESPONSE], ids=_ids)
@pytest.mark.parametrize("operation", ISSUE_PATH, ids=_ids)
def test_issue_key_fault(runtime: LocalRuntime, operation: tuple[str, str], kind: Fault) -> None:
    from perisai.errors import DependencyUnavailable
    from perisai.partners.keys import key_hash, key_id
    from perisai.partners.repository import PartnerKeyRepository
    from perisai.partners.service import authenticate

    partner_id = f"faults-issue-{uuid.uuid4().hex[:8]}"
    clear = f"faults-{uuid.uuid4().hex}"
    items = lambda: _partner_items(runtime, partner_id, key_hash(clear), key_id(clear))  # noqa: E731

    with inject(kind, match=operation, armed_only=True) as faults, faults.armed(), pytest.raises(DependencyUnavailable):
        _issue(runtime, partner_id, clear)
    assert len(faults.injected) == 1
    written = [i is not None for i in items()]
    assert written in ([False, False], [True, True]), f"half-written partner key: {written}"
    assert written == [kind is Fault.LOST_RESPONSE] * 2

    # The operator runs the same command again (the same key): it is stored, once, and works.
    _, stored = _issue(runtime, partner_id, clear)
    assert all(i is not None for i in items())
    assert stored.key_id == key_id(clear)
    repository = PartnerKeyRepository(runtime.outputs()["PartnersTableName"])
    assert [k.key_id for k in repository.list_keys(partner_id)] == [key_id(clear)]
    found = authenticate(f"Bearer {clear}", repository)
    assert found is not None and found.partner_id == partner_id


@pytest.mark.parametrize("kind", [*KINDS, Fault.LOST_RESPONSE], ids=_ids)
@pytest.mark.parametrize("operation", REVOKE_PATH, ids=_ids)
def test_revoke_key_fault(runtime: LocalRuntime, operation: tuple[str, str], kind: Fault) -> None:
    from perisai.errors import DependencyUnavailable
    from perisai.partners.repository import PartnerKeyRepository

    partner_id = f"faults-revoke-{uuid.uuid4().hex[:8]}"
    _, key = _issue(runtime, partner_id, f"faults-{uuid.uuid4().hex}")
    repository = PartnerKeyRepository(runtime.outputs()["PartnersTableName"])
    statuses = lambda: [i["status"]["S"] for i in _partner_items(runtime, partner_id, key.key_hash, key.key_id)]  # type: ignore[index]  # noqa: E731

    with inject(kind, match=operation, armed_only=True) as faults, faults.armed(), pytest.raises(DependencyUnavailable):
        repository.revoke(partner_id, key.key_id)
    assert len(faults.injected) == 1
    assert statuses() in (["active", "active"], ["revoked", "revoked"]), f"half-revoked key: {statuses()}"

    revoked = repository.revoke(partner_id, key.key_id)  # the operator runs it again
    assert revoked.status == "revoked"
    assert statuses() == ["revoked", "revoked"]
