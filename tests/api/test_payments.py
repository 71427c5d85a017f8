"""Payments over HTTP through the local runtime: orders, the providers' documented callbacks
(signatures computed here, independently of the code), exactly-once crediting."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from perisai.domain.payment_codes import new_payment_code
from tests.api.conftest import BACKOFFICE, PARTNER, Api, enrollment
from tests.helpers.concurrency import fire

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

MIDTRANS_KEY = "local-midtrans-server-key"
XENDIT_TOKEN = "local-xendit-callback-token"
CHANNEL_SECRET = "local-channel-secret"


def _enrolled(api: Api) -> str:
    response = api.enroll(enrollment(sector="other"))
    assert response.status_code == 201, response.text
    return str(response.json()["participant_id"])


def _order(api: Api, participant_id: str, months: int = 1, headers: dict[str, str] | None = None) -> dict[str, Any]:
    response = api.post(
        f"/v1/participants/{participant_id}/payment-orders", {"months": months}, headers=headers or PARTNER
    )
    assert response.status_code in (200, 201), response.text
    return dict(response.json())


def _midtrans(
    order: dict[str, Any], status: str = "settlement", *, amount: int | None = None, tx: str | None = None, **extra: Any
) -> dict[str, Any]:
    tx = tx or f"tx-{order['order_id']}"  # Midtrans' transaction id: one per payment attempt
    gross = f"{order['amount'] if amount is None else amount}.00"
    status_code = "200" if status in ("settlement", "capture", "refund", "partial_refund") else "201"
    body = {
        "transaction_time": "2026-11-05 10:00:00",
        "transaction_status": status,
        "transaction_id": tx,
        "status_message": "midtrans payment notification",
        "status_code": status_code,
        "payment_type": "cstore",
        "store": "indomaret",
        "payment_code": "25709650945026",
        "order_id": order["order_id"],
        "merchant_id": "G141532850",
        "gross_amount": gross,
        "currency": "IDR",
        **extra,
    }
    # Midtrans: SHA512(order_id + status_code + gross_amount + server key), plain concatenation.
    raw = f"{body['order_id']}{status_code}{gross}{MIDTRANS_KEY}".encode()
    body["signature_key"] = hashlib.sha512(raw).hexdigest()
    return body


def _channel_headers(raw: bytes, *, secret: str = CHANNEL_SECRET, at: int | None = None) -> dict[str, str]:
    timestamp = str(int(time.time()) if at is None else at)
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    return {
        "X-Channel-Id": "demo-channel",
        "X-Timestamp": timestamp,
        "X-Signature": f"sha256={digest}",
        "Content-Type": "application/json",
    }


def _ledger(runtime: LocalRuntime, participant_id: str) -> list[dict[str, Any]]:
    """The participant's ledger entries, read by key (a scan would grow with the whole suite's data)."""
    page = runtime.cloud.client("dynamodb").query(
        TableName=runtime.outputs()["ParticipantsTableName"],
        KeyConditionExpression="pk = :pk AND begins_with(sk, :dues)",
        ExpressionAttributeValues={":pk": {"S": f"PARTICIPANT#{participant_id}"}, ":dues": {"S": "DUES#"}},
    )
    return list(page["Items"])


def test_an_order_then_a_midtrans_settlement_credits_the_months_once(api: Api, runtime: LocalRuntime) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id, 3)
    assert order["status"] == "open" and len(order["months"]) == 3
    assert 12 <= len(order["payment_code"]) <= 16 and order["payment_code"].isdigit()
    assert _order(api, participant_id, 3)["order_id"] == order["order_id"]  # the same months: the open order
    body = _midtrans(order)
    first = api.post("/v1/payments/midtrans", body)
    assert first.status_code == 200, first.text
    assert first.json()["outcome"] == "credited"
    again = api.post("/v1/payments/midtrans", body)
    assert (again.status_code, again.json()["outcome"]) == (200, "duplicate")
    assert len(_ledger(runtime, participant_id)) == 3
    view = api.get(f"/v1/participants/{participant_id}", PARTNER).json()
    assert view["status"] == "active" and view["covered_through"] == order["months"][-1]
    seen = api.get(f"/v1/payment-orders/{order['order_id']}", PARTNER).json()
    assert seen["status"] == "paid" and seen["payments"][0]["outcome"] == "credited"
    ledger = api.get(f"/v1/participants/{participant_id}/contributions", PARTNER, params={"limit": 2}).json()
    assert [e["month"] for e in ledger["items"]] == order["months"][::-1][:2]
    rest = api.get(
        f"/v1/participants/{participant_id}/contributions",
        PARTNER,
        params={"limit": 2, "next_token": ledger["next_token"]},
    ).json()
    assert [e["month"] for e in rest["items"]] == [order["months"][0]]


def test_ten_concurrent_identical_settlements_through_the_handler_credit_once(api: Api, runtime: LocalRuntime) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    body = _midtrans(order)
    responses = fire(10, lambda: api.post("/v1/payments/midtrans", body))
    assert sorted(r.json()["outcome"] for r in responses) == ["credited"] + ["duplicate"] * 9
    assert all(r.status_code == 200 for r in responses)
    assert len(_ledger(runtime, participant_id)) == 1


@pytest.mark.parametrize(
    "tamper",
    [
        lambda b: b.update(gross_amount="1.00"),
        lambda b: b.update(signature_key="0" * 128),
        lambda b: b.update(transaction_status="settlement", status_code="201"),
    ],
    ids=["amount", "signature", "status code"],
)
def test_a_bad_midtrans_signature_is_401_and_changes_nothing(
    api: Api, runtime: LocalRuntime, tamper: Callable[[dict[str, Any]], None]
) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    body = _midtrans(order)
    tamper(body)
    response = api.post("/v1/payments/midtrans", body)
    assert response.status_code == 401, response.text
    assert _ledger(runtime, participant_id) == []


def test_challenge_then_accept_credits_once_and_a_late_expire_changes_nothing(api: Api, runtime: LocalRuntime) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    held = api.post(
        "/v1/payments/midtrans", _midtrans(order, "capture", fraud_status="challenge", payment_type="credit_card")
    )
    assert held.json()["outcome"] == "recorded"
    assert _ledger(runtime, participant_id) == []
    accepted = api.post(
        "/v1/payments/midtrans", _midtrans(order, "capture", fraud_status="accept", payment_type="credit_card")
    )
    assert accepted.json()["outcome"] == "credited"
    late = api.post("/v1/payments/midtrans", _midtrans(order, "expire"))
    assert (late.status_code, late.json()["outcome"]) == (200, "recorded")
    assert api.get(f"/v1/payment-orders/{order['order_id']}", PARTNER).json()["status"] == "paid"
    assert len(_ledger(runtime, participant_id)) == 1


def test_an_amount_that_differs_is_not_credited_and_says_why(api: Api, runtime: LocalRuntime) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    response = api.post("/v1/payments/midtrans", _midtrans(order, amount=order["amount"] + 1000))
    assert response.status_code == 200
    assert response.json()["outcome"] == "amount_mismatch"
    assert _ledger(runtime, participant_id) == []


def test_an_unknown_order_is_404_and_a_malformed_body_400(api: Api) -> None:
    ghost = _midtrans({"order_id": "ORD-NOSUCHORDER00", "amount": 16_800})
    assert api.post("/v1/payments/midtrans", ghost).status_code == 404
    response = api.http.post(
        api.base + "/v1/payments/midtrans", data="[1, 2]", headers={"Content-Type": "application/json"}, timeout=30
    )
    assert response.status_code == 400
    assert response.json()["error"] == "malformed_body"


def test_a_channel_payment_by_code_is_signed_dated_and_credited_once(api: Api, runtime: LocalRuntime) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    raw = json.dumps(
        {
            "payment_code": order["payment_code"],
            "amount": order["amount"],
            "paid_at": "2026-11-05T10:00:00+07:00",
            "channel_reference": f"POS-{participant_id}",
        }
    ).encode()
    post = lambda headers: api.http.post(api.base + "/v1/payments/channel", data=raw, headers=headers, timeout=30)  # noqa: E731
    assert post(_channel_headers(raw, secret="wrong")).status_code == 401
    assert post(_channel_headers(raw, at=int(time.time()) - 301)).status_code == 401  # replayed later
    first = post(_channel_headers(raw))
    assert (first.status_code, first.json()["outcome"]) == (200, "credited"), first.text
    assert post(_channel_headers(raw)).json()["outcome"] == "duplicate"
    assert len(_ledger(runtime, participant_id)) == 1


def test_a_mistyped_payment_code_is_422_and_an_unknown_one_404(api: Api) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    code = order["payment_code"]
    typo = code[:-2] + code[-1] + code[-2] if code[-1] != code[-2] else code[:-1] + str((int(code[-1]) + 1) % 10)
    # A well-formed code (its check digit holds) that no order was given: found nowhere.
    unknown = next(c for c in iter(lambda: new_payment_code(14), None) if c != code)
    for payment_code, status, error in ((typo, 422, "invalid_payment_code"), (unknown, 404, "not_found")):
        raw = json.dumps(
            {
                "payment_code": payment_code,
                "amount": 16800,
                "paid_at": "2026-11-05T10:00:00+07:00",
                "channel_reference": f"R-{payment_code}",
            }
        ).encode()
        response = api.http.post(api.base + "/v1/payments/channel", data=raw, headers=_channel_headers(raw), timeout=30)
        assert (response.status_code, response.json()["error"]) == (status, error), response.text


def test_a_xendit_virtual_account_payment_is_credited_once_with_its_token(api: Api, runtime: LocalRuntime) -> None:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    body = {
        "updated": "2026-11-05T03:00:03.000Z",
        "created": "2026-11-05T03:00:03.000Z",
        "payment_id": f"pay-{participant_id}",
        "callback_virtual_account_id": "va-1",
        "owner_id": "owner",
        "external_id": order["order_id"],
        "account_number": "9999000001",
        "bank_code": "BRI",
        "amount": order["amount"],
        "transaction_timestamp": "2026-11-05T03:00:00.000Z",
        "merchant_code": "88608",
        "id": "cb-1",
    }
    assert api.post("/v1/payments/xendit", body, headers={"x-callback-token": "wrong"}).status_code == 401
    ok = api.post("/v1/payments/xendit", body, headers={"x-callback-token": XENDIT_TOKEN})
    assert (ok.status_code, ok.json()["outcome"]) == (200, "credited"), ok.text
    assert (
        api.post("/v1/payments/xendit", body, headers={"x-callback-token": XENDIT_TOKEN}).json()["outcome"]
        == "duplicate"
    )
    assert len(_ledger(runtime, participant_id)) == 1


def test_orders_of_another_partners_participant_are_not_found(api: Api) -> None:
    participant_id = _enrolled(api)
    pemda = {"Authorization": "Bearer demo-pemda-key"}
    response = api.post(f"/v1/participants/{participant_id}/payment-orders", {"months": 1}, headers=pemda)
    assert response.status_code == 404
    assert (
        api.post(f"/v1/participants/{participant_id}/payment-orders", {"months": 2}, headers=PARTNER).status_code == 422
    )
    order = _order(api, participant_id, headers=BACKOFFICE)
    assert api.get(f"/v1/payment-orders/{order['order_id']}", pemda).status_code == 404
