"""Personal data stays out of logs and printed output (the session-wide check is tests/pii_guard.py;
these tests prove, at a point in time, that it captures what the code writes and that it can fail)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests import pii_guard
from tests.api.conftest import PARTNER, Api, enrollment

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


@pytest.fixture(scope="module", autouse=True)
def _settle_deliveries(runtime: LocalRuntime) -> Iterator[None]:
    """Let this module's enrollment events (welcome SMS) settle before the next module runs."""
    yield
    runtime.delivery.drain()


def test_enrolling_reading_and_looking_up_a_participant_logs_no_personal_data(api: Api, runtime: LocalRuntime) -> None:
    start = pii_guard.CAPTURE.mark()
    body = enrollment(
        full_name="Sri Wahyuningsih",
        phone="+62 813-9876-5432",
        heir={"name": "Joko Susilo", "relationship": "spouse", "phone": "0857 1122 3344"},
    )
    enrolled = api.enroll(body)
    assert enrolled.status_code == 201, enrolled.text
    participant_id = enrolled.json()["participant_id"]
    assert api.get(f"/v1/participants/{participant_id}", headers=PARTNER).status_code == 200
    assert api.get("/v1/participants", headers=PARTNER, params={"nik": body["nik"]}).status_code == 200
    assert api.enroll(body).status_code == 409  # a second attempt: the 409 path logs nothing either
    assert api.get("/v1/participants", headers=PARTNER, params={"nik": "12345"}).status_code == 422
    runtime.delivery.drain()  # and what the enrollment set off: outbox relay, welcome SMS

    # The guard knows this participant's values (registered through enrollment()/Api.post) ...
    known = pii_guard.PERSONAL.values()
    assert body["nik"] in known["nik"]
    assert {"Sri Wahyuningsih", "Joko Susilo"} <= known["full_name"]
    assert {"+62 813-9876-5432", "0857 1122 3344"} <= known["phone"]

    # ... and has been capturing: the handlers' structured log, the metrics and the access lines.
    captured = pii_guard.CAPTURE.text(start)
    assert participant_id in captured, "the enroll handler's 'participant enrolled' log line was not captured"
    assert '"ParticipantEnrolled"' in captured, "the Powertools metrics output was not captured"
    assert "[http]" in captured and "/v1/participants?…" in captured, "the access log was not captured"

    leaks = pii_guard.leaks_so_far(start)
    assert not leaks, "\n".join(map(str, leaks))
    assert not pii_guard.leaks_so_far(), "personal data was logged earlier in this run"


def test_the_guard_flags_each_kind_of_leak_and_masks_it() -> None:
    personal = pii_guard.PersonalValues()
    personal.add_enrollment(
        {"nik": "3171015505900042", "full_name": "Budi  Santoso", "phone": "0812-3456-7890", "birth_date": "x"}
    )
    lines = [
        ("log:perisai", '{"level":"INFO","message":"participant enrolled","nik":"3171015505900042"}'),
        ("stdout", "sms to +6281234567890 sent"),
        ("stdout", "calling 0812 3456 7890 now"),
        ("print:local_runtime.runtime", "[http] 127.0.0.1 hello BUDI SANTOSO"),
        ("stdout", "nothing here: 31710155059000421 is longer, 812345678901 too, Budiman Santosoe neither"),
    ]
    leaks = pii_guard.find_leaks(lines, personal)
    assert sorted((leak.kind, leak.source) for leak in leaks) == [
        ("full_name", "print:local_runtime.runtime"),
        ("nik", "log:perisai"),
        ("phone", "stdout"),
        ("phone", "stdout"),
    ]
    report = "\n".join(str(leak) for leak in leaks)
    for value in ("3171015505900042", "6281234567890", "0812 3456 7890", "BUDI SANTOSO"):
        assert value not in report, "a reported leak must mask the value"
    assert "3171********0042" in report


def test_the_guard_sees_log_records_that_powertools_hides_from_root_handlers() -> None:
    from aws_lambda_powertools.logging.filters import SuppressFilter

    start = pii_guard.CAPTURE.mark()
    logger = logging.getLogger("pii-guard-probe")
    logger.setLevel(logging.INFO)
    handler = next(h for h in logging.getLogger().handlers if isinstance(h, pii_guard._RecordHandler))
    handler.addFilter(SuppressFilter("pii-guard-probe"))  # what Powertools does to root handlers
    try:
        logger.info("probe", extra={"marker": "pii-guard-marker-7"})
    finally:
        handler.removeFilter(handler.filters[-1])
    assert "pii-guard-marker-7" in pii_guard.CAPTURE.text(start)
