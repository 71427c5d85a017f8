"""Enrollment -> ParticipantEnrolled on the bus -> rule -> notifications queue -> notifier -> SMS."""

from __future__ import annotations

from datetime import date

import pytest

from perisai.notifications import messages
from tests.api.conftest import Api, enrollment
from tests.helpers.faults import KINDS, Fault, inject


def test_an_enrolled_worker_gets_one_welcome_sms(api: Api, runtime, frozen_clock) -> None:  # type: ignore[no-untyped-def]
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


NOTIFIER_CALLS = [("dynamodb", "GetItem"), ("dynamodb", "PutItem"), ("sns", "Publish")]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("call", NOTIFIER_CALLS, ids=lambda c: f"{c[0]}.{c[1]}")
def test_a_failing_notifier_call_is_retried_and_the_sms_sent_once(
    api: Api, runtime, call: tuple[str, str], kind: Fault
) -> None:  # type: ignore[no-untyped-def]
    runtime.delivery.drain()  # nothing of earlier tests in flight
    with inject(kind, match=call, functions=("reminders",)) as faults:
        participant_id = api.enroll(enrollment()).json()["participant_id"]
        runtime.delivery.drain()
    assert len(faults.injected) == 1
    sms = [m for m in api.get("/_local/sms").json() if participant_id in m["message"]]
    assert len(sms) == 1  # the queue redelivered the event; the claim item kept it to one SMS
