"""Enrollment -> ParticipantEnrolled on the bus -> rule -> notifications queue -> notifier -> SMS."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from perisai.clock import clock
from perisai.errors import DependencyUnavailable
from perisai.notifications import messages
from perisai.notifications.sender import CLAIM_LEASE_SECONDS, Delivery, SendOutcome, SmsSender
from tests.api.conftest import Api, enrollment, scan_all
from tests.helpers.faults import KINDS, Fault, inject

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


def test_an_enrolled_worker_gets_one_welcome_sms(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2026-12-03T10:00:00+07:00")
    phone = "0857-1234-9876"
    participant_id = api.enroll(enrollment(phone=phone, sector="other", monthly_income=1_000_000)).json()[
        "participant_id"
    ]
    runtime.delivery.drain()
    runtime.delivery.drain()  # a redelivery must not send twice
    sms = [m for m in api.get("/_local/sms").json() if participant_id in m["message"]]
    assert len(sms) == 1
    assert sms[0]["to"] == "+6285712349876"
    assert sms[0]["message"].startswith("BPJS Ketenagakerjaan: Anda terdaftar")
    assert "Iuran Des 2026 Rp8.400, bayar sblm 15/12" in sms[0]["message"]
    assert sms[0]["sent_at"].startswith("2026-12-03")


def test_messages_are_single_gsm7_sms() -> None:
    text = messages.welcome("PST-ABCDEFGHJKMN", "2026-11", 520_900, date(2026, 11, 15), date(2026, 11, 25))
    assert text.isascii() and len(text) <= 160
    assert "bayar segera" in text  # enrolled after the 15th: this month's dues are already due
    with pytest.raises(ValueError):
        messages._single_sms("x" * 161)


NOTIFIER_CALLS = [("dynamodb", "GetItem"), ("dynamodb", "PutItem"), ("sns", "Publish"), ("dynamodb", "UpdateItem")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", NOTIFIER_CALLS, ids=lambda c: f"{c[0]}.{c[1]}")
def test_a_failing_notifier_call_is_retried_and_the_sms_sent_once(
    api: Api, runtime: LocalRuntime, call: tuple[str, str], kind: Fault
) -> None:
    runtime.delivery.drain()  # nothing of earlier tests in flight
    with inject(kind, match=call, functions=("notifier",)) as faults:
        participant_id = api.enroll(enrollment()).json()["participant_id"]
        runtime.delivery.drain()
    assert len(faults.injected) == 1
    sms = [m for m in api.get("/_local/sms").json() if participant_id in m["message"]]
    assert len(sms) == 1  # the queue redelivered the event; the claim item kept it to one SMS


def test_a_claim_the_failed_send_could_not_release_is_taken_over_by_the_redelivery(
    api: Api, runtime: LocalRuntime
) -> None:
    runtime.delivery.drain()
    scope = {"functions": ("notifier",)}
    with (
        inject(Fault.SERVER_ERROR, match=("sns", "Publish"), **scope) as publish,
        inject(Fault.THROTTLING, match=("dynamodb", "DeleteItem"), **scope) as release,
    ):
        participant_id = api.enroll(enrollment()).json()["participant_id"]
        runtime.delivery.drain()
    assert len(publish.injected) == 1 and len(release.injected) == 1  # the claim was left behind
    sms = [m for m in api.get("/_local/sms").json() if participant_id in m["message"]]
    assert len(sms) == 1


def _sms_to(api: Api, phone: str) -> list[dict[str, str]]:
    return [m for m in api.get("/_local/sms").json() if m["to"] == phone]


def test_only_the_claiming_message_or_a_stale_claim_lets_a_delivery_send(api: Api, runtime: LocalRuntime) -> None:
    table = runtime.outputs()["ParticipantsTableName"]
    sender = SmsSender(table, "PERISAI", runtime.cloud.client("dynamodb"), runtime.cloud.client("sns"))
    notification, phone = f"test:{uuid.uuid4()}", "+6281100001111"
    owner, duplicate = Delivery("message-a"), Delivery("message-b")

    # The owner claims and its send fails without releasing the claim (as if the function died).
    with (
        inject(Fault.READ_TIMEOUT, match=("sns", "Publish"), armed_only=True) as publish,
        publish.armed(),
        inject(Fault.SERVER_ERROR, match=("dynamodb", "DeleteItem"), armed_only=True) as release,
        release.armed(),
        pytest.raises(DependencyUnavailable, match="sms"),
    ):
        sender.send_once(notification, phone, "halo", owner)
    [claim] = scan_all(
        runtime, FilterExpression="pk = :pk", ExpressionAttributeValues={":pk": {"S": f"NOTIFICATION#{notification}"}}
    )
    assert claim["sms_status"]["S"] == "sending" and not _sms_to(api, phone)

    # A duplicate message finds a fresh claim: it must not send, the owner will.
    assert sender.send_once(notification, phone, "halo", duplicate) is SendOutcome.ALREADY_HANDLED
    # The owner's redelivery (received again, so its first attempt is over) takes the claim over.
    assert sender.send_once(notification, phone, "halo", Delivery("message-a", 2)) is SendOutcome.SENT
    assert sender.send_once(notification, phone, "halo", Delivery("message-a", 3)) is SendOutcome.ALREADY_HANDLED
    assert sender.send_once(notification, phone, "halo", duplicate) is SendOutcome.ALREADY_HANDLED
    assert len(_sms_to(api, phone)) == 1

    # A claim still "sending" after the lease (its owner gone to the dead-letter queue) is anyone's.
    stale, phone = f"test:{uuid.uuid4()}", "+6281100002222"
    with (
        inject(Fault.SERVER_ERROR, match=("sns", "Publish"), armed_only=True) as publish,
        publish.armed(),
        inject(Fault.SERVER_ERROR, match=("dynamodb", "DeleteItem"), armed_only=True) as release,
        release.armed(),
        pytest.raises(DependencyUnavailable, match="sms"),
    ):
        sender.send_once(stale, phone, "halo", owner)
    assert sender.send_once(stale, phone, "halo", duplicate) is SendOutcome.ALREADY_HANDLED
    try:
        clock.move_to(datetime.now(UTC) + timedelta(seconds=CLAIM_LEASE_SECONDS + 1))
        assert sender.send_once(stale, phone, "halo", duplicate) is SendOutcome.SENT
    finally:
        clock.reset()
    assert len(_sms_to(api, phone)) == 1


def test_a_claim_written_but_answered_with_a_timeout_does_not_lose_the_sms(api: Api, runtime: LocalRuntime) -> None:
    runtime.delivery.drain()
    with inject(Fault.LOST_RESPONSE, match=("dynamodb", "PutItem"), functions=("notifier",)) as claim:
        participant_id = api.enroll(enrollment()).json()["participant_id"]
        runtime.delivery.drain()
    assert len(claim.injected) == 1  # the claim item was written; the notifier saw a timeout
    sms = [m for m in api.get("/_local/sms").json() if participant_id in m["message"]]
    assert len(sms) == 1
