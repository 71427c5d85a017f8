"""Dues reminders and the daily status job, run through the real handlers on the local runtime
(POST /_local/schedules/{name}/run at chosen instants): who gets which SMS, who changes status,
which events go out, and that a second run at the same instant does nothing."""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import PARTNER, Api, enrollment, pay_by_midtrans, scan_all

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

_phones = itertools.count(10_000_001)


def _enroll(api: Api, **overrides: Any) -> tuple[str, str]:
    """A new participant with its own phone: (participant id, phone as SMS are addressed)."""
    local = f"0813{next(_phones):08d}"
    # Generous timeout: the shared runtime may still be delivering the previous test's work.
    response = api.http.post(
        f"{api.base}/v1/participants",
        json=enrollment(sector="other", phone=local, **overrides),
        headers={**PARTNER, "Idempotency-Key": str(uuid.uuid4())},
        timeout=120,
    )
    assert response.status_code == 201, response.text
    return str(response.json()["participant_id"]), "+62" + local[1:]


def _run(api: Api, schedule: str, at: str, *, all_ok: bool = True) -> dict[str, Any]:
    # A run waits for everything it set off (pages, SMS): longer than an API call.
    response = api.http.post(f"{api.base}/_local/schedules/{schedule}/run", json={"at": at}, timeout=300)
    assert response.status_code == 200, response.text
    result = dict(response.json())
    assert result["succeeded"], result
    if all_ok:
        assert all(i["ok"] for i in result["invocations"]), result["invocations"]
    return result


def _reminders(api: Api, phones: set[str]) -> list[dict[str, str]]:
    api.post("/_local/drain")
    sms = api.get("/_local/sms").json()
    return [m for m in sms if m["to"] in phones and m["message"].startswith("BPJS TK:")]


def _view(api: Api, participant_id: str) -> dict[str, Any]:
    response = api.get(f"/v1/participants/{participant_id}", PARTNER)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _profile(runtime: LocalRuntime, participant_id: str) -> dict[str, Any]:
    item = runtime.cloud.client("dynamodb").get_item(
        TableName=runtime.outputs()["ParticipantsTableName"],
        Key={"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}},
    )["Item"]
    return dict(item)


def _events(runtime: LocalRuntime, participant_id: str) -> list[str]:
    items = scan_all(
        runtime,
        FilterExpression="entity = :outbox AND contains(detail, :id)",
        ExpressionAttributeValues={":outbox": {"S": "outbox"}, ":id": {"S": participant_id}},
    )
    return sorted(i["detail_type"]["S"] for i in items)


def test_a_month_of_reminders_arrears_and_lapse(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2027-05-03T10:00:00+07:00")
    unpaid, unpaid_phone = _enroll(api)
    paid, paid_phone = _enroll(api)
    quiet, quiet_phone = _enroll(api)
    pay_by_midtrans(api, paid)
    assert api.post(f"/v1/participants/{quiet}/sms-opt-out", {}, headers=PARTNER).status_code == 200
    phones = {unpaid_phone, paid_phone, quiet_phone}

    # The 10th, 09:00: only the unpaid worker who did not opt out is reminded, with an open order's code.
    _run(api, "dues-reminders", "2027-05-10T09:00:00+07:00")
    sms = _reminders(api, phones)
    assert [m["to"] for m in sms] == [unpaid_phone], sms
    text = sms[0]["message"]
    assert len(text) <= 160 and text.isascii()
    code = re.search(r"kode bayar (\d{12,16})", text)
    assert code, text
    # The open order for that month is the one the SMS names: same code, same amount.
    order = api.post(f"/v1/participants/{unpaid}/payment-orders", {"months": 1}, headers=PARTNER).json()
    assert (order["payment_code"], order["months"], order["status"]) == (code.group(1), ["2027-05"], "open")
    assert "Rp" + f"{order['amount']:,}".replace(",", ".") in text, text
    version = _profile(runtime, unpaid)["version"]

    # Again at the same instant: nothing sent, nothing changed.
    _run(api, "dues-reminders", "2027-05-10T09:00:00+07:00")
    assert len(_reminders(api, phones)) == 1
    assert _profile(runtime, unpaid)["version"] == version

    # The 16th, 00:30: May passed its due date unpaid. A worker who never paid had no protection
    # to end: still pending_payment, owing one month; nobody else changes.
    _run(api, "lapse-detection", "2027-05-16T00:30:00+07:00")
    view = _view(api, unpaid)
    assert (view["status"], view["months_owed"], view["last_day_to_pay"]) == ("pending_payment", 1, "2027-08-15")
    assert _profile(runtime, unpaid)["version"] == version
    assert _view(api, paid)["status"] == "active"

    # June goes unpaid by the worker who paid May: arrears on the 16th, with its event, once.
    _run(api, "lapse-detection", "2027-06-16T00:30:00+07:00")
    view = _view(api, paid)
    assert (view["status"], view["covered_through"], view["months_owed"]) == ("arrears", "2027-05", 1)
    assert view["last_day_to_pay"] == "2027-09-15"
    assert _profile(runtime, paid)["status"]["S"] == "arrears"
    assert _events(runtime, paid).count("ParticipantInArrears") == 1
    changed = _profile(runtime, paid)["version"]
    _run(api, "lapse-detection", "2027-06-16T00:30:00+07:00")
    assert _profile(runtime, paid)["version"] == changed
    assert _events(runtime, paid).count("ParticipantInArrears") == 1

    # The 1st of July: arrears reminders with the months owed and the last day to pay; the
    # opted-out worker gets none.
    _run(api, "dues-reminders", "2027-07-01T09:00:00+07:00")
    arrears = {m["to"]: m["message"] for m in _reminders(api, phones) if "menunggak" in m["message"]}
    assert set(arrears) == {unpaid_phone, paid_phone}, arrears
    assert "menunggak 2 bln" in arrears[unpaid_phone] and "15/08/2027" in arrears[unpaid_phone]
    assert "menunggak 1 bln" in arrears[paid_phone] and "15/09/2027" in arrears[paid_phone]

    # More than 3 unpaid months: lapsed the day after the 4th month's due date, with its event.
    _run(api, "lapse-detection", "2027-08-15T00:30:00+07:00")
    assert _profile(runtime, unpaid)["status"]["S"] == "pending_payment"
    _run(api, "lapse-detection", "2027-08-16T00:30:00+07:00")
    assert _view(api, unpaid)["status"] == "lapsed"
    assert _view(api, quiet)["status"] == "lapsed"  # opting out of SMS does not stop the clock
    assert _events(runtime, unpaid).count("ParticipantLapsed") == 1
    assert "gsi2pk" not in _profile(runtime, unpaid)  # out of the due-month index: no job reads it again
    assert _view(api, paid)["status"] == "arrears"
    _run(api, "lapse-detection", "2027-09-16T00:30:00+07:00")
    assert _profile(runtime, paid)["status"]["S"] == "lapsed"
    assert _events(runtime, paid).count("ParticipantLapsed") == 1


def test_a_run_in_quiet_hours_sends_at_eight(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2027-09-02T10:00:00+07:00")
    participant, phone = _enroll(api)
    frozen_clock("2027-09-10T22:00:00+07:00")
    result = _run(api, "dues-reminders", "2027-09-10T22:00:00+07:00")
    # The sender received the reminder and held it (a failed record, invisible until 08:00).
    assert any(i["function"] == "reminders.send" for i in result["invocations"]), result["invocations"]
    assert _reminders(api, {phone}) == []
    frozen_clock("2027-09-11T07:59:00+07:00")
    assert _reminders(api, {phone}) == []
    frozen_clock("2027-09-11T08:00:00+07:00")
    sms = _reminders(api, {phone})
    assert len(sms) == 1, sms
    # Sent at 08:00 WIB (01:00 UTC), the first minute the window allows.
    assert sms[0]["sent_at"].startswith("2027-09-11T01:00"), sms
    assert "Sep 2027" in sms[0]["message"] and "10/09" not in sms[0]["message"]
    assert _view(api, participant)["sms_opt_out"] is False


@pytest.fixture(autouse=True, scope="module")
def _settle(runtime: LocalRuntime) -> Any:
    """Let what the runs set off finish here, not during the next module's setup."""
    yield
    runtime.delivery.drain()


def test_a_worker_a_sponsor_pays_for_is_not_asked_to_pay(api: Api, frozen_clock: Callable[[str], None]) -> None:
    frozen_clock("2027-06-03T10:00:00+07:00")
    _, own_phone = _enroll(api)
    local = f"0813{next(_phones):08d}"
    sponsored = api.http.post(
        f"{api.base}/v1/participants",
        json=enrollment(sector="other", phone=local),
        headers={"Authorization": "Bearer demo-sponsor-key", "Idempotency-Key": str(uuid.uuid4())},
        timeout=120,
    )
    assert sponsored.status_code == 201, sponsored.text
    # The sponsor pays June (its bulk orders): the reminder goes only to the worker who pays.
    _run(api, "dues-reminders", "2027-06-10T09:00:00+07:00")
    assert [m["to"] for m in _reminders(api, {own_phone, "+62" + local[1:]})] == [own_phone]
