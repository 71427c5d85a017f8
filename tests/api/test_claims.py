"""Claims end to end through the local runtime: enroll, pay, claim, upload a document, decide,
pay out; the events; a JKM claim that ends the participation."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests

from tests.api.conftest import BACKOFFICE, PARTNER, Api, enrollment, partner_key, pay_by_midtrans, scan_all

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

_phones = itertools.count(20_000_001)


def _enroll(api: Api, **overrides: Any) -> str:
    body = enrollment(sector="other", phone=f"0813{next(_phones):08d}", monthly_income=3_000_000, **overrides)
    response = api.enroll(body)
    assert response.status_code == 201, response.text
    return str(response.json()["participant_id"])


def _claim(api: Api, body: dict[str, Any], headers: dict[str, str] | None = None) -> requests.Response:
    return api.post("/v1/claims", body, headers={**(headers or PARTNER), "Idempotency-Key": str(uuid.uuid4())})


def _events(runtime: LocalRuntime, claim_id: str) -> list[str]:
    items = scan_all(
        runtime,
        FilterExpression="entity = :outbox AND contains(detail, :id)",
        ExpressionAttributeValues={":outbox": {"S": "outbox"}, ":id": {"S": claim_id}},
    )
    return sorted(i["detail_type"]["S"] for i in items)


def test_a_work_accident_claim_from_filing_to_payout(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2028-02-03T10:00:00+07:00")
    participant = _enroll(api)
    pay_by_midtrans(api, participant, 3)  # February to April 2028, credited on 3 February
    frozen_clock("2028-03-20T10:00:00+07:00")
    accident = {
        "kind": "temporary_incapacity",
        "medical_costs": 7_500_000,
        "transport_costs": 6_000_000,
        "transport_mode": "land",
        "days_off_work": 45,
    }
    filed = _claim(
        api, {"participant_id": participant, "type": "JKK", "incident_date": "2028-03-18", "accident": accident}
    )
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    assert (claim["status"], claim["eligible"], claim["reasons"]) == ("submitted", True, [])
    items = {i["item"]: i["amount"] for i in claim["benefit"]["items"]}
    # Medical as claimed; land transport capped at Rp5,000,000; 45 days off at 100% of
    # Rp3,000,000 a 30-day month = Rp4,500,000.
    assert items == {"medical": 7_500_000, "transport": 5_000_000, "stmb": 4_500_000}
    assert claim["benefit"]["total"] == 17_000_000
    claim_id = claim["claim_id"]

    # One claim per participant, type and incident.
    again = _claim(
        api, {"participant_id": participant, "type": "JKK", "incident_date": "2028-03-18", "accident": accident}
    )
    assert again.status_code == 409, again.text

    # A supporting document, uploaded to the presigned URL.
    upload = api.post(
        f"/v1/claims/{claim_id}/documents", {"kind": "medical_bill", "content_type": "application/pdf"}, headers=PARTNER
    )
    assert upload.status_code == 201, upload.text
    assert api.get(f"/v1/claims/{claim_id}", PARTNER).json()["documents"] == []  # not uploaded yet
    put = requests.put(upload.json()["upload_url"], data=b"%PDF-1.4 bill", headers=upload.json()["headers"], timeout=10)
    assert put.status_code == 200, put.text
    documents = api.get(f"/v1/claims/{claim_id}", PARTNER).json()["documents"]
    assert [d["kind"] for d in documents] == ["medical_bill"]

    # Only the back office decides and pays out; every step is recorded.
    assert (
        api.post(
            f"/v1/claims/{claim_id}/decision", {"decision": "approve", "reason": "ok"}, headers=PARTNER
        ).status_code
        == 403
    )
    payout = {"transfer_reference": "BRI-2028-0001", "paid_at": "2028-03-25T10:00:00+07:00"}
    assert api.post(f"/v1/claims/{claim_id}/payout", payout, headers=BACKOFFICE).status_code == 409  # not approved
    decided = api.post(
        f"/v1/claims/{claim_id}/decision", {"decision": "approve", "reason": "documents complete"}, headers=BACKOFFICE
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "approved"
    paid = api.post(f"/v1/claims/{claim_id}/payout", payout, headers=BACKOFFICE)
    assert paid.status_code == 200, paid.text
    assert api.post(f"/v1/claims/{claim_id}/payout", payout, headers=BACKOFFICE).json()["status"] == "paid"  # a retry
    view = api.get(f"/v1/claims/{claim_id}", PARTNER).json()
    assert [(h["status"], h["by"]) for h in view["history"]] == [
        ("submitted", "demo-partner"),
        ("approved", "demo-backoffice"),
        ("paid", "demo-backoffice"),
    ]
    assert view["payout"]["transfer_reference"] == "BRI-2028-0001"
    api.post("/_local/drain")
    assert _events(runtime, claim_id) == ["ClaimDecided", "ClaimPaid", "ClaimSubmitted"]
    listed = api.get(f"/v1/participants/{participant}/claims", PARTNER).json()["items"]
    assert [c["claim_id"] for c in listed] == [claim_id]

    # Another partner sees nothing of it.
    other, _ = partner_key(runtime, "claims-other", ["claims"])
    assert api.get(f"/v1/claims/{claim_id}", other).status_code == 404
    assert _claim(
        api, {"participant_id": participant, "type": "JKM", "incident_date": "2028-03-18"}, other
    ).status_code in (404, 422)


def test_an_incident_in_an_unpaid_month_is_not_eligible(api: Api, frozen_clock: Callable[[str], None]) -> None:
    frozen_clock("2028-05-03T10:00:00+07:00")
    participant = _enroll(api)
    pay_by_midtrans(api, participant, 1)  # May 2028
    frozen_clock("2028-06-20T10:00:00+07:00")
    accident = {"kind": "medical", "medical_costs": 1_000_000}
    filed = _claim(
        api, {"participant_id": participant, "type": "JKK", "incident_date": "2028-06-19", "accident": accident}
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["eligible"] is False and filed.json()["reasons"]


def test_a_jkm_claim_pays_42_million_refunds_later_months_and_ends_the_participation(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2028-07-03T10:00:00+07:00")
    participant = _enroll(api)
    pay_by_midtrans(api, participant, 6)  # July to December 2028
    frozen_clock("2028-09-10T10:00:00+07:00")
    body = {
        "participant_id": participant,
        "type": "JKM",
        "incident_date": "2028-09-08",
        "heir": {"name": "Ani", "relationship": "spouse", "phone": "0813-9999-0001"},
    }
    filed = _claim(api, body)
    assert filed.status_code == 201, filed.text
    claim = filed.json()
    items = {i["item"]: i["amount"] for i in claim["benefit"]["items"]}
    assert (items["lump_sum"], items["periodic"], items["funeral"]) == (20_000_000, 12_000_000, 10_000_000)
    refunds = sorted(k for k in items if k.startswith("refund:"))
    assert refunds == ["refund:2028-10", "refund:2028-11", "refund:2028-12"]
    assert claim["ends_participation"] is True
    # Ended at once: no reminder asks the family to pay for the months after the death.
    assert api.get(f"/v1/participants/{participant}", PARTNER).json()["status"] == "ended"
    decided = api.post(
        f"/v1/claims/{claim['claim_id']}/decision",
        {"decision": "approve", "reason": "death certificate"},
        headers=BACKOFFICE,
    )
    assert decided.status_code == 200, decided.text
    view = api.get(f"/v1/participants/{participant}", PARTNER).json()
    assert view["status"] == "ended" and view["months_owed"] == 0
    order = api.post(f"/v1/participants/{participant}/payment-orders", {"months": 1}, headers=PARTNER)
    assert order.status_code == 422, order.text
    profile = runtime.cloud.client("dynamodb").get_item(
        TableName=runtime.outputs()["ParticipantsTableName"],
        Key={"pk": {"S": f"PARTICIPANT#{participant}"}, "sk": {"S": "PROFILE"}},
    )["Item"]
    assert "gsi2pk" not in profile  # no reminder or status job reads an ended participation


def test_a_rejected_death_claim_reinstates_the_participation(api: Api, frozen_clock: Callable[[str], None]) -> None:
    frozen_clock("2028-08-03T10:00:00+07:00")
    participant = _enroll(api)
    pay_by_midtrans(api, participant, 3)  # August to October 2028
    frozen_clock("2028-09-10T10:00:00+07:00")
    body = {
        "participant_id": participant,
        "type": "JKM",
        "incident_date": "2028-09-08",
        "heir": {"name": "Ani", "relationship": "spouse", "phone": "0813-9999-0002"},
    }
    claim = _claim(api, body).json()
    assert api.get(f"/v1/participants/{participant}", PARTNER).json()["status"] == "ended"
    rejected = api.post(
        f"/v1/claims/{claim['claim_id']}/decision", {"decision": "reject", "reason": "alive"}, headers=BACKOFFICE
    )
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected", rejected.text
    view = api.get(f"/v1/participants/{participant}", PARTNER).json()
    assert (view["status"], view["covered_through"]) == ("active", "2028-10")
    again = api.post(
        f"/v1/claims/{claim['claim_id']}/decision",
        {"decision": "approve", "reason": "changed mind"},
        headers=BACKOFFICE,
    )
    assert again.status_code == 409 and again.json()["error"] == "invalid_transition"


def test_bad_claims_are_422_naming_each_field(api: Api) -> None:
    response = _claim(api, {"participant_id": "PST-000000000000", "type": "JKK", "incident_date": "not-a-date"})
    assert response.status_code == 422
    assert "incident_date" in [f["field"] for f in response.json()["fields"]]
    participant = _enroll(api)
    missing = _claim(api, {"participant_id": participant, "type": "JKK", "incident_date": "2026-11-01"})
    assert missing.status_code == 422, missing.text
    assert [f["field"] for f in missing.json()["fields"]] == ["accident"]
    unknown = _claim(
        api, {"participant_id": "PST-NOSUCHPERSON", "type": "JHT", "incident_date": "2026-11-01", "reason": "age_56"}
    )
    assert unknown.status_code == 404
