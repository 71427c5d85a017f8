"""Reminder SMS consent (issue 11) over HTTP through the local runtime: POST
/v1/participants/{participant_id}/sms-opt-out and .../sms-opt-in, real handlers, real (moto) tables."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests import pii_guard
from tests.api.conftest import BACKOFFICE, PARTNER, Api, enrollment, partner_key

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


@pytest.fixture(scope="module", autouse=True)
def _settle_deliveries(runtime: LocalRuntime) -> Iterator[None]:
    """Let this module's enrollment events (welcome SMS) settle before the next module runs."""
    yield
    runtime.delivery.drain()


@pytest.fixture
def participant_id(api: Api) -> str:
    """A new participant of demo-partner."""
    enrolled = api.enroll(enrollment())
    assert enrolled.status_code == 201, enrolled.text
    return str(enrolled.json()["participant_id"])


def _opt_out(api: Api, participant_id: str, headers: dict[str, str] = PARTNER, **kwargs: Any) -> Any:
    return api.post(f"/v1/participants/{participant_id}/sms-opt-out", headers=headers, **kwargs)


def _opt_in(api: Api, participant_id: str, headers: dict[str, str] = PARTNER, **kwargs: Any) -> Any:
    return api.post(f"/v1/participants/{participant_id}/sms-opt-in", headers=headers, **kwargs)


def _stored(runtime: LocalRuntime, participant_id: str) -> dict[str, Any]:
    """The raw profile item (test inspection only)."""
    item = runtime.cloud.client("dynamodb").get_item(
        TableName=runtime.outputs()["ParticipantsTableName"],
        Key={"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}},
        ConsistentRead=True,
    )["Item"]
    return {"version": int(item["version"]["N"]), "sms_opt_out": item.get("sms_opt_out", {}).get("BOOL", False)}


def test_a_new_participant_gets_reminders_and_the_view_says_so(api: Api, participant_id: str) -> None:
    view = api.get(f"/v1/participants/{participant_id}", headers=PARTNER)
    assert view.status_code == 200, view.text
    assert view.json()["sms_opt_out"] is False


def test_opt_out_then_opt_in_shows_in_the_view_and_the_stored_profile(
    api: Api, runtime: LocalRuntime, participant_id: str
) -> None:
    before = _stored(runtime, participant_id)
    out = _opt_out(api, participant_id)
    assert out.status_code == 200, out.text
    assert out.headers["Content-Type"].startswith("application/json")
    assert out.json()["participant_id"] == participant_id
    assert out.json()["sms_opt_out"] is True
    assert _stored(runtime, participant_id) == {"version": before["version"] + 1, "sms_opt_out": True}
    viewed = api.get(f"/v1/participants/{participant_id}", headers=PARTNER).json()
    assert viewed["sms_opt_out"] is True
    assert viewed == out.json(), "the answer is the participant view"

    back = _opt_in(api, participant_id)
    assert back.status_code == 200, back.text
    assert back.json()["sms_opt_out"] is False
    assert _stored(runtime, participant_id) == {"version": before["version"] + 2, "sms_opt_out": False}
    assert api.get(f"/v1/participants/{participant_id}", headers=PARTNER).json()["sms_opt_out"] is False


def test_asking_again_writes_nothing(api: Api, runtime: LocalRuntime, participant_id: str) -> None:
    assert _opt_out(api, participant_id).status_code == 200
    after_first = _stored(runtime, participant_id)
    again = _opt_out(api, participant_id)
    assert again.status_code == 200, again.text
    assert again.json()["sms_opt_out"] is True
    assert _stored(runtime, participant_id) == after_first, "a repeated opt-out must not write"

    # Opting in a participant who never opted out writes nothing either.
    fresh = api.enroll(enrollment()).json()["participant_id"]
    untouched = _stored(runtime, fresh)
    assert _opt_in(api, fresh).json()["sms_opt_out"] is False
    assert _stored(runtime, fresh) == untouched


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(None, id="no body"),
        pytest.param("{}", id="{}"),
        pytest.param("null", id="null"),
        pytest.param('{"note": "asked at the counter"}', id="unknown field ignored"),
    ],
)
def test_the_body_is_optional(api: Api, participant_id: str, raw: str | None) -> None:
    headers = {**PARTNER, "Content-Type": "application/json"} if raw is not None else PARTNER
    response = _opt_out(api, participant_id, data=raw, headers=headers)
    assert response.status_code == 200, response.text
    assert response.json()["sms_opt_out"] is True


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        ("{not json", 400, "malformed_json"),
        ("[]", 422, "validation_error"),
        ("[{}]", 422, "validation_error"),
        ('"opt out"', 422, "validation_error"),
        ("true", 422, "validation_error"),
    ],
)
def test_a_body_that_is_not_a_json_object_is_refused_and_changes_nothing(
    api: Api, runtime: LocalRuntime, participant_id: str, raw: str, status: int, error: str
) -> None:
    before = _stored(runtime, participant_id)
    response = _opt_out(api, participant_id, data=raw, headers={**PARTNER, "Content-Type": "application/json"})
    assert response.status_code == status, response.text
    assert response.json()["error"] == error
    assert _stored(runtime, participant_id) == before


def test_scopes_enroll_or_pay_of_the_enrolling_partner_and_the_back_office(api: Api, runtime: LocalRuntime) -> None:
    agent = f"consent-agent-{uuid.uuid4().hex[:6]}"
    enroll_key = partner_key(runtime, agent, ["enroll"])[0]
    pay_key = partner_key(runtime, agent, ["pay"])[0]
    claims_key = partner_key(runtime, agent, ["claims"])[0]
    participant_id = api.enroll(enrollment(), headers=enroll_key).json()["participant_id"]

    assert _opt_out(api, participant_id, headers=enroll_key).json()["sms_opt_out"] is True
    assert _opt_in(api, participant_id, headers=pay_key).json()["sms_opt_out"] is False
    # demo-backoffice (scope backoffice among others) sees every partner's participants.
    assert _opt_out(api, participant_id, headers=BACKOFFICE).json()["sms_opt_out"] is True

    before = _stored(runtime, participant_id)
    for route in (_opt_out, _opt_in):
        refused = route(api, participant_id, headers=claims_key)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"] == "forbidden"
    assert _stored(runtime, participant_id) == before


def test_another_partners_participant_is_a_404_like_an_unknown_one(
    api: Api, runtime: LocalRuntime, participant_id: str
) -> None:
    nosy = partner_key(runtime, f"consent-other-{uuid.uuid4().hex[:6]}", ["enroll", "pay"])[0]
    before = _stored(runtime, participant_id)
    absent = api.get("/v1/participants/PST-000000000000", headers=nosy)
    for route in (_opt_out, _opt_in):
        foreign = route(api, participant_id, headers=nosy)
        assert foreign.status_code == 404, foreign.text
        assert foreign.json() == absent.json(), "another partner's participant must look exactly like none"
        assert participant_id not in foreign.text
        unknown = route(api, "PST-000000000000", headers=PARTNER)
        assert unknown.status_code == 404
        assert unknown.json() == absent.json()
    assert _stored(runtime, participant_id) == before


@pytest.mark.parametrize("route", ["sms-opt-out", "sms-opt-in"])
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
def test_another_method_is_a_json_405_allowing_post(api: Api, participant_id: str, route: str, method: str) -> None:
    response = api.http.request(
        method, f"{api.base}/v1/participants/{participant_id}/{route}", headers=PARTNER, timeout=30
    )
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"
    assert response.json()["error"] == "method_not_allowed"


def test_recording_consent_logs_no_personal_data(api: Api, runtime: LocalRuntime) -> None:
    start = pii_guard.CAPTURE.mark()
    body = enrollment(full_name="Rina Kartika", phone="0813-5555-0101")
    participant_id = api.enroll(body).json()["participant_id"]
    assert _opt_out(api, participant_id).status_code == 200
    assert _opt_in(api, participant_id).status_code == 200
    runtime.delivery.drain()
    captured = pii_guard.CAPTURE.text(start)
    assert "sms consent recorded" in captured, "the handler's log line was not captured"
    leaks = pii_guard.leaks_so_far(start)
    assert not leaks, "\n".join(map(str, leaks))
