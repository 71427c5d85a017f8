"""Enrollment over HTTP through the local runtime: real handlers, real (moto) tables."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import (
    BACKOFFICE,
    PARTNER,
    Api,
    enrollment,
    make_lapsed,
    make_nik,
    partner_key,
    register_agent,
    scan_all,
)
from tests.helpers.concurrency import fire, fire_all

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime
    from perisai.partners.models import Scope


def _items(runtime: LocalRuntime) -> list[dict[str, Any]]:
    return scan_all(runtime)


def _settled_items(runtime: LocalRuntime) -> list[dict[str, Any]]:
    """Items once asynchronous work in flight (welcome SMS claims) has finished."""
    runtime.delivery.drain()
    return _items(runtime)


def _participants_with(runtime: LocalRuntime, participant_ids: set[str]) -> int:
    return sum(1 for i in _items(runtime) if i["pk"]["S"].removeprefix("PARTICIPANT#") in participant_ids)


def _key_with(runtime: LocalRuntime, partner_id: str, scopes: list[Scope]) -> dict[str, str]:
    return partner_key(runtime, partner_id, scopes)[0]


def test_enrollment_creates_a_pending_participant_with_first_month_dues(
    api: Api, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2026-11-25T10:00:00+07:00")
    register_agent(api, PARTNER, "AGEN-017")
    response = api.enroll(enrollment(agent_code="AGEN-017", monthly_income=2_750_000))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["participant_id"].startswith("PST-")
    assert body["status"] == "pending_payment"
    assert body["partner_id"] == "demo-partner"
    assert body["agent_code"] == "AGEN-017"
    # transport sector, Nov 2026: PP 50/2025 halves JKK+JKM; bracket rounds income down
    assert body["dues"]["month"] == "2026-11"
    assert body["dues"]["jkk"] == body["dues"]["income_bracket"] // 100
    assert body["dues"]["discount"] == (body["dues"]["jkk"] + body["dues"]["jkm"]) // 2
    assert body["dues"]["total"] == body["dues"]["jkk"] + body["dues"]["jkm"] - body["dues"]["discount"]


@pytest.mark.parametrize(
    ("now", "sector", "payer", "expected_total"),
    [
        ("2026-03-10T09:00:00+07:00", "other", None, 16_800),  # other sectors: discount starts April 2026
        ("2026-03-10T09:00:00+07:00", "transport", None, 8_400),
        ("2026-04-01T00:10:00+07:00", "other", None, 8_400),  # Jakarta is already in April
        ("2026-04-10T09:00:00+07:00", "other", "government", 16_800),  # APBD-paid: no discount
        ("2027-01-05T09:00:00+07:00", "other", None, 16_800),
    ],
)
def test_first_dues_follow_the_rules_of_the_enrollment_month(
    api: Api, frozen_clock: Callable[[str], None], now: str, sector: str, payer: str | None, expected_total: int
) -> None:
    frozen_clock(now)
    # Only a local government pays as government: its enrollments are government-paid by default.
    headers = {"Authorization": "Bearer demo-pemda-key"} if payer == "government" else None
    response = api.enroll(enrollment(sector=sector, monthly_income=900_000), headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["dues"]["total"] == expected_total


def test_a_nik_enrolls_once_whoever_asks(api: Api, runtime: LocalRuntime) -> None:
    body = enrollment()
    first = api.enroll(body)
    assert first.status_code == 201
    again = api.enroll(body)
    elsewhere = api.enroll({**body, "phone": "081311112222"}, headers=_key_with(runtime, "alfamart-jkt", ["enroll"]))
    for response in (again, elsewhere):
        assert response.status_code == 409
        assert response.json()["error"] == "already_enrolled"
        assert first.json()["participant_id"] not in response.text


def test_twenty_concurrent_enrollments_of_one_nik_make_one_participant(api: Api, runtime: LocalRuntime) -> None:
    body = enrollment()
    keys = [str(uuid.uuid4()) for _ in range(20)]
    responses = fire_all([lambda key=key: api.enroll(body, key=key) for key in keys])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19, statuses
    refusals = [r.json() for r in responses if r.status_code == 409]
    assert {refusal["error"] for refusal in refusals} == {"already_enrolled"}, refusals
    created = {r.json()["participant_id"] for r in responses if r.status_code == 201}
    nik_items = [i for i in _items(runtime) if i["pk"]["S"].startswith("NIK#") and i["participant_id"]["S"] in created]
    assert len(nik_items) == 1
    assert _participants_with(runtime, created) == 1


def test_the_same_request_retried_concurrently_answers_with_one_participant(api: Api) -> None:
    body, key = enrollment(), str(uuid.uuid4())
    responses = fire(20, api.enroll, body, key=key)
    ids = {r.json()["participant_id"] for r in responses if r.status_code == 201}
    assert len(ids) == 1
    # Retries that overlap the first attempt are told to retry; none creates anything.
    assert all(r.status_code in (201, 409) for r in responses)
    assert all(r.json()["error"] == "request_in_progress" for r in responses if r.status_code == 409)
    assert api.enroll(body, key=key).json()["participant_id"] in ids


def test_concurrent_requests_each_get_their_own_answer(api: Api, runtime: LocalRuntime) -> None:
    # Lambda serves one invocation per environment; locally they share a process, and Powertools
    # keeps the current event in a class attribute: each request must still see only its own.
    bodies = [enrollment(monthly_income=1_000_000 + 100_000 * i) for i in range(12)]
    responses = fire_all([lambda body=body: api.enroll(body) for body in bodies])
    assert [r.status_code for r in responses] == [201] * len(bodies), [r.text for r in responses]
    for body, response in zip(bodies, responses, strict=True):
        found = api.get("/v1/participants", headers=PARTNER, params={"nik": body["nik"]})
        assert found.json()["participant_id"] == response.json()["participant_id"]
    assert runtime.functions.environments.started("functions/enroll", "handler") > 1


def test_idempotency_key_replays_and_refuses_a_different_body(api: Api, runtime: LocalRuntime) -> None:
    body, key = enrollment(), str(uuid.uuid4())
    first = api.enroll(body, key=key)
    before = len(_settled_items(runtime))
    replay = api.enroll(body, key=key)
    assert replay.status_code == 201
    assert replay.json() == first.json()
    changed = api.enroll({**body, "occupation": "pedagang"}, key=key)
    assert changed.status_code == 422
    assert changed.json()["error"] == "idempotency_key_reused"
    assert len(_items(runtime)) == before


def test_missing_idempotency_key_is_refused_by_name(api: Api) -> None:
    response = api.post("/v1/participants", enrollment(), headers=PARTNER)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["message"]


BAD_INPUTS = [
    ({"nik": "317101170890001"}, {"nik"}),  # 15 digits
    ({"nik": "9971011708900001"}, {"nik"}),  # no such province
    ({"birth_date": "1990-08-18"}, {"birth_date"}),  # NIK says the 17th
    ({"gender": "F"}, {"gender"}),  # a woman's NIK adds 40 to the day
    ({"phone": "021-5551234"}, {"phone"}),  # Jakarta landline
    ({"phone": "+6591234567"}, {"phone"}),  # Singapore
    ({"monthly_income": -1}, {"monthly_income"}),
    ({"monthly_income": 1500000.5}, {"monthly_income"}),
    ({"programs": ["JKK", "JKM", "JP"]}, {"programs"}),
    ({"programs": ["JKK"]}, {"programs"}),
    ({"sector": "fishing"}, {"sector"}),
    ({"payer": {"type": "sponsor"}}, {"payer.type"}),  # only a sponsor partner names itself as payer
    ({"payer": {"type": "sponsor", "id": "pt-maju"}}, {"payer.type"}),
    ({"full_name": ""}, {"full_name"}),
]


@pytest.mark.parametrize(("change", "fields"), BAD_INPUTS)
def test_bad_input_is_422_naming_each_field_and_writes_nothing(
    api: Api, runtime: LocalRuntime, change: dict[str, Any], fields: set[str]
) -> None:
    before = len(_settled_items(runtime))
    response = api.enroll({**enrollment(), **change})
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["error"] == "validation_error"
    assert fields <= {f["field"] for f in body["fields"]}
    assert len(_items(runtime)) == before


def test_every_bad_field_is_named_at_once(api: Api) -> None:
    response = api.enroll({**enrollment(), "phone": "12", "monthly_income": -5, "programs": ["JHT"], "sector": "x"})
    assert {"phone", "monthly_income", "programs", "sector"} <= {f["field"] for f in response.json()["fields"]}


def test_workers_under_fifteen_cannot_enroll(api: Api, frozen_clock: Callable[[str], None]) -> None:
    frozen_clock("2026-11-25T10:00:00+07:00")
    response = api.enroll(enrollment(birth=date(2012, 1, 5)))
    assert response.status_code == 422
    assert "birth_date" in {f["field"] for f in response.json()["fields"]}


def test_participant_is_visible_to_its_partner_and_the_back_office_only(api: Api, runtime: LocalRuntime) -> None:
    participant_id = api.enroll(enrollment(programs=["JKK", "JKM", "JHT"])).json()["participant_id"]
    own = api.get(f"/v1/participants/{participant_id}", headers=PARTNER)
    assert own.status_code == 200
    view = own.json()
    assert view["status"] == "pending_payment"
    assert view["covered_through"] is None
    assert view["next_dues"]["month"] == view["next_dues_month"]
    assert view["next_dues"]["jht"] > 0
    assert "nik" not in view and "phone" not in view
    assert api.get(f"/v1/participants/{participant_id}", headers=BACKOFFICE).status_code == 200
    other = api.get(f"/v1/participants/{participant_id}", headers=_key_with(runtime, "indomaret", ["enroll", "pay"]))
    assert other.status_code == 404
    assert api.get("/v1/participants/PST-000000000000", headers=PARTNER).status_code == 404


def test_find_by_nik_returns_only_id_and_status(api: Api, runtime: LocalRuntime) -> None:
    body = enrollment()
    participant_id = api.enroll(body).json()["participant_id"]
    cashier = _key_with(runtime, "brilink-007", ["pay"])
    found = api.get("/v1/participants", headers=cashier, params={"nik": body["nik"]})
    assert found.status_code == 200
    assert found.json() == {"participant_id": participant_id, "status": "pending_payment"}
    assert api.get("/v1/participants", headers=cashier, params={"nik": make_nik()}).status_code == 404
    bad = api.get("/v1/participants", headers=cashier, params={"nik": "12345"})
    assert bad.status_code == 422
    assert bad.json()["fields"][0]["field"] == "nik"


def test_dues_quote_route(api: Api) -> None:
    response = api.get(
        "/v1/dues/quote",
        headers=PARTNER,
        params={"monthly_income": 20_000_000, "sector": "other", "programs": "JKK,JKM,JHT", "month": "2026-05"},
    )
    assert response.status_code == 200
    assert response.json() == {
        "month": "2026-05",
        "income_bracket": 20_000_000,
        "jkk": 200_000,
        "jkm": 6_800,
        "jht": 400_000,
        "discount": 103_400,
        "total": 503_400,
    }
    missing_jkm = api.get(
        "/v1/dues/quote", headers=PARTNER, params={"monthly_income": 1, "sector": "other", "programs": "JKK"}
    )
    assert missing_jkm.status_code == 422
    assert missing_jkm.json()["fields"][0]["field"] == "programs"


def test_nik_is_never_stored_in_clear(api: Api, runtime: LocalRuntime) -> None:
    from perisai.enrollment.nik import KmsNikProtector
    from perisai.settings import EnrollEnv

    body = enrollment()
    participant_id = api.enroll(body).json()["participant_id"]
    raw = json.dumps(_items(runtime))
    assert body["nik"] not in raw
    profile = next(i for i in _items(runtime) if i["pk"]["S"] == f"PARTICIPANT#{participant_id}")
    env = EnrollEnv.load()
    protector = KmsNikProtector(env.nik_key_arn, env.nik_hmac_secret_arn)
    # Decryption is not in the product (nothing reads a NIK back); the test proves it is possible.
    from aws_lambda_powertools.utilities.data_masking import DataMasking
    from aws_lambda_powertools.utilities.data_masking.provider.kms.aws_encryption_sdk import AWSEncryptionSDKProvider

    masking = DataMasking(provider=AWSEncryptionSDKProvider(keys=[env.nik_key_arn]))
    decrypted = masking.decrypt(
        profile["nik_ciphertext"]["S"], purpose="participant-nik", participant_id=participant_id
    )
    assert decrypted == body["nik"]
    assert profile["nik_hash"]["S"] == protector.index_key(body["nik"])
    assert profile["phone"]["S"] == "+6281234567890"


def test_enrollment_puts_one_event_on_the_bus_without_personal_data(api: Api, runtime: LocalRuntime) -> None:
    events = runtime.cloud.client("events")
    sqs = runtime.cloud.client("sqs")
    bus = runtime.outputs()["EventBusName"]
    queue_url = sqs.create_queue(QueueName="test-enrolled-events")["QueueUrl"]
    events.put_rule(
        Name="test-enrolled", EventBusName=bus, EventPattern=json.dumps({"detail-type": ["ParticipantEnrolled"]})
    )
    events.put_targets(
        Rule="test-enrolled",
        EventBusName=bus,
        Targets=[{"Id": "q", "Arn": "arn:aws:sqs:ap-southeast-3:123456789012:test-enrolled-events"}],
    )
    register_agent(api, PARTNER, "AGEN-042")
    body = enrollment(agent_code="AGEN-042")
    participant_id = api.enroll(body).json()["participant_id"]
    runtime.delivery.drain()
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10).get("Messages", []):
        messages += batch  # earlier tests' events may be queued ahead of ours
    mine = [json.loads(m["Body"]) for m in messages if participant_id in m["Body"]]
    assert len(mine) == 1
    event = mine[0]
    assert event["source"] == "perisai"
    assert event["detail"]["participant_id"] == participant_id
    assert event["detail"]["agent_code"] == "AGEN-042"
    text = json.dumps(event)
    for personal in (body["nik"], "81234567890", body["full_name"]):
        assert personal not in text


def test_a_lapsed_participant_is_reactivated_under_the_same_id(api: Api, runtime: LocalRuntime) -> None:
    body = enrollment()
    participant_id = api.enroll(body).json()["participant_id"]
    make_lapsed(runtime, participant_id)
    again = api.enroll(body)
    assert again.status_code == 200, again.text
    assert again.json()["participant_id"] == participant_id
    assert again.json()["reactivated"] is True
    assert again.json()["status"] == "pending_payment"
    assert api.enroll(body).status_code == 409
