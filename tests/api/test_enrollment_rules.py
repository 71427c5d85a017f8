"""Platform round 2, over HTTP: bounded integers, trusted payers, partner-scoped agent codes,
the audited NIK lookup, retried reactivations, and stored data read without request rules."""

from __future__ import annotations

import json
from typing import Any

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
from tests.helpers.faults import Fault, inject

PEMDA = {"Authorization": "Bearer demo-pemda-key"}
SPONSOR = {"Authorization": "Bearer demo-sponsor-key"}
MAX_AMOUNT = 1_000_000_000  # policies.max_amount_rupiah in the rate data


def _profile(runtime: Any, participant_id: str) -> dict[str, Any]:
    client = runtime.cloud.client("dynamodb")
    key = {"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}}
    return client.get_item(TableName=runtime.outputs()["ParticipantsTableName"], Key=key)["Item"]


def _item_count(runtime: Any) -> int:
    runtime.delivery.drain()  # welcome SMS claims of earlier tests land asynchronously
    return len(scan_all(runtime))


# -- 1. integers past the policy bound, and numbers JSON cannot hold --------------------------


@pytest.mark.parametrize("income", [10**38, MAX_AMOUNT + 1, -(10**38)])
def test_an_income_past_the_bound_is_422_naming_it_and_changes_nothing(api: Api, runtime: Any, income: int) -> None:
    before = _item_count(runtime)
    response = api.enroll(enrollment(monthly_income=income))
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == ["monthly_income"]
    assert _item_count(runtime) == before


def test_the_bound_itself_is_accepted(api: Api) -> None:
    assert api.enroll(enrollment(monthly_income=MAX_AMOUNT)).status_code == 201


def test_any_integer_in_a_body_meets_the_same_bound(api: Api) -> None:
    response = api.enroll(enrollment(extra={"count": [1, 10**30]}))
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "extra.count"


def test_a_query_integer_meets_the_same_bound(api: Api) -> None:
    response = api.get(
        "/v1/dues/quote", PARTNER, params={"monthly_income": str(10**38), "sector": "transport", "programs": "JKK,JKM"}
    )
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "monthly_income"


@pytest.mark.parametrize(
    "body",
    [
        '{"monthly_income": ' + "9" * 5000 + "}",  # json.loads: ValueError (int digits limit)
        "[" * 10_000 + "]" * 10_000,  # deep nesting
        '{"monthly_income": 1',
    ],
    ids=["5000-digit number", "deep nesting", "truncated"],
)
def test_a_body_json_cannot_read_is_400_malformed_json(api: Api, body: str) -> None:
    response = api.http.post(
        api.base + "/v1/participants",
        data=body,
        headers={**PARTNER, "Idempotency-Key": "malformed-json-1", "Content-Type": "application/json"},
        timeout=30,
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "malformed_json"


@pytest.mark.parametrize("path", ["/v1/participants", "/v1/participants/PST-000000000000/payment-orders"])
@pytest.mark.parametrize("body", ["[{}]", "[valid enrollment]", '"text"', "42", "true"])
def test_a_body_that_is_not_an_object_is_422_naming_the_body(api: Api, path: str, body: str) -> None:
    worker = enrollment()
    if body == "[valid enrollment]":
        body = json.dumps([worker])  # Powertools alone would validate the first item and enroll it
    response = api.http.post(
        api.base + path,
        data=body,
        headers={
            **PARTNER,
            "Idempotency-Key": f"not-an-object-{hash((path, body))}",
            "Content-Type": "application/json",
        },
        timeout=30,
    )
    assert response.status_code == 422, response.text
    assert response.json()["fields"][0]["field"] == "body"
    lookup = api.get("/v1/participants", PARTNER, params={"nik": worker["nik"]})
    assert lookup.status_code == 404, lookup.text  # nobody was enrolled


# -- 3. a retried reactivation answers as the first attempt did ------------------------------


def test_a_reactivation_whose_answer_was_lost_is_answered_the_same_on_retry(
    api: Api, runtime: Any, frozen_clock: Any
) -> None:
    frozen_clock("2026-11-25T10:00:00+07:00")
    body = enrollment()
    participant_id = api.enroll(body).json()["participant_id"]
    make_lapsed(runtime, participant_id)
    frozen_clock("2027-02-03T10:00:00+07:00")
    # The reactivation commits (the second transaction: the first is the refused create), then its answer is lost.
    with inject(Fault.LOST_RESPONSE, at=2, match=("dynamodb", "TransactWriteItems"), functions="enroll"):
        lost = api.enroll(body, key="reactivation-key-1")
    assert lost.status_code == 503, lost.text
    retried = api.enroll(body, key="reactivation-key-1")
    assert retried.status_code == 200, retried.text
    assert retried.json()["participant_id"] == participant_id
    assert retried.json()["reactivated"] is True
    assert retried.json()["dues"]["month"] == "2027-02"
    assert _profile(runtime, participant_id)["first_dues_month"]["S"] == "2026-11"


# -- 4. stored data is read with types only ---------------------------------------------------


def test_a_stored_phone_that_no_longer_validates_keeps_the_participant_readable(api: Api, runtime: Any) -> None:
    participant_id = api.enroll(enrollment(heir={"name": "Siti", "relationship": "spouse"})).json()["participant_id"]
    runtime.cloud.client("dynamodb").update_item(
        TableName=runtime.outputs()["ParticipantsTableName"],
        Key={"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}},
        # e.g. numbers a phonenumbers metadata update no longer knows
        UpdateExpression="SET phone = :p, heir.phone = :p",
        ExpressionAttributeValues={":p": {"S": "+62999"}},
    )
    response = api.get(f"/v1/participants/{participant_id}", PARTNER)
    assert response.status_code == 200, response.text


# -- 5. who may mark a worker as government-paid ---------------------------------------------


def test_a_partner_that_is_not_a_local_government_cannot_set_a_government_payer(api: Api, runtime: Any) -> None:
    before = _item_count(runtime)
    for headers in (PARTNER, SPONSOR):
        response = api.enroll(enrollment(payer={"type": "government", "id": "APBD-BDG"}), headers=headers)
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["fields"]] == ["payer.type"]
    assert _item_count(runtime) == before


def test_a_local_governments_enrollment_is_government_paid_by_default(
    api: Api, runtime: Any, frozen_clock: Any
) -> None:
    frozen_clock("2026-11-10T09:00:00+07:00")  # PP 50/2025 halves JKK+JKM for transport, but not APBD-paid dues
    by_pemda = api.enroll(enrollment(sector="transport"), headers=PEMDA)
    assert by_pemda.status_code == 201, by_pemda.text
    assert by_pemda.json()["dues"]["discount"] == 0
    stored = _profile(runtime, by_pemda.json()["participant_id"])
    assert stored["payer"]["M"] == {"type": {"S": "government"}, "id": {"S": "demo-pemda"}}
    by_agent = api.enroll(enrollment(sector="transport"))
    assert by_agent.json()["dues"]["discount"] > 0


# -- 6. agent codes: upper case, scoped by partner, recruiter fixed ---------------------------


def test_agent_codes_are_normalised_and_scoped_by_the_partner(api: Api, runtime: Any) -> None:
    register_agent(api, PARTNER, "AGEN-77")
    response = api.enroll(enrollment(agent_code="agen-77"))
    assert response.json()["agent_code"] == "AGEN-77"
    stored = _profile(runtime, response.json()["participant_id"])
    assert stored["gsi3pk"]["S"] == "AGENT#demo-partner#AGEN-77"


def test_a_reactivation_keeps_the_recruiting_agent(api: Api, runtime: Any) -> None:
    register_agent(api, PARTNER, "AGEN-1")
    body = enrollment(agent_code="AGEN-1")
    participant_id = api.enroll(body).json()["participant_id"]
    first = _profile(runtime, participant_id)
    make_lapsed(runtime, participant_id)
    headers, _ = partner_key(runtime, "pos-indonesia-r2", ["enroll"], channel="post_office")
    register_agent(api, headers, "POS-9")
    again = api.enroll({**body, "agent_code": "POS-9"}, headers=headers)
    assert again.status_code == 200, again.text
    revived = _profile(runtime, participant_id)
    assert revived["gsi3pk"] == first["gsi3pk"] and revived["gsi3sk"] == first["gsi3sk"]
    assert revived["recruited_by"]["M"]["agent_code"]["S"] == "AGEN-1"
    assert revived["last_enrollment"]["M"]["agent_code"]["S"] == "POS-9"
    assert revived["last_enrollment"]["M"]["partner_id"]["S"] == "pos-indonesia-r2"


# -- 7. the NIK lookup: scope pay, audited ----------------------------------------------------


def test_the_nik_lookup_needs_scope_pay(api: Api, runtime: Any) -> None:
    enroll_only, _ = partner_key(runtime, "agen-enroll-only", ["enroll"])
    nik = make_nik()
    assert api.get("/v1/participants", enroll_only, params={"nik": nik}).status_code == 403
    assert api.get("/v1/participants", PARTNER, params={"nik": nik}).status_code == 404


def test_every_lookup_and_already_enrolled_answer_is_audited_without_the_nik(api: Api, runtime: Any) -> None:
    headers, record = partner_key(runtime, "brilink-audit", ["enroll", "pay"], channel="bank_agent")
    body = enrollment()
    assert api.enroll(body).status_code == 201
    assert api.get("/v1/participants", headers, params={"nik": body["nik"]}).status_code == 200
    assert api.get("/v1/participants", headers, params={"nik": make_nik()}).status_code == 404
    assert api.enroll(body, headers=headers).status_code == 409
    audit = [i for i in scan_all(runtime) if i["pk"]["S"].startswith("AUDIT#NIK#brilink-audit#")]
    assert sorted(i["action"]["S"] for i in audit) == ["already_enrolled", "lookup", "lookup"]
    for item in audit:
        assert item["key_id"]["S"] == record.key_id
        assert len(item["nik_hash"]["S"]) == 64
        assert body["nik"] not in json.dumps(item)


# -- 9. NIK regency codes, names of only spaces ----------------------------------------------


@pytest.mark.parametrize("region", ["319901", "310001"])
def test_a_nik_of_a_regency_that_does_not_exist_is_refused(api: Api, region: str) -> None:
    body = enrollment()
    body["nik"] = make_nik(region=region)
    response = api.enroll(body)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == ["nik"]


@pytest.mark.parametrize("field", ["full_name", "occupation"])
def test_a_name_or_occupation_of_only_spaces_is_refused(api: Api, field: str) -> None:
    response = api.enroll(enrollment(**{field: "   "}))
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == [field]


def test_the_back_office_sees_government_payers_too(api: Api) -> None:
    participant_id = api.enroll(enrollment(), headers=PEMDA).json()["participant_id"]
    assert api.get(f"/v1/participants/{participant_id}", BACKOFFICE).status_code == 200
