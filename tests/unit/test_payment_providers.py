"""The pure provider-callback layer: Midtrans notifications, Xendit callbacks, direct channels.

Bodies follow the providers' documented notification shapes (field names, types, formats), with
this project's own values. Signatures are computed here with hashlib/hmac, independently of the
code under test.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
import math
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from perisai.clock import JAKARTA
from perisai.domain.errors import DomainError
from perisai.payments import (
    MalformedCallback,
    MidtransNotification,
    ProviderEvent,
    channel_signature,
    midtrans_signature,
    parse_channel,
    parse_midtrans,
    parse_rupiah,
    parse_xendit,
    verify_channel,
    verify_midtrans,
    verify_xendit,
)

SERVER_KEY = "local-midtrans-server-key"


def sha512_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def signed(body: dict[str, Any], server_key: str = SERVER_KEY) -> dict[str, Any]:
    body = dict(body)
    body["signature_key"] = sha512_signature(body["order_id"], body["status_code"], body["gross_amount"], server_key)
    return body


def malformed_field(exc_info: pytest.ExceptionInfo[MalformedCallback]) -> str:
    return exc_info.value.field


# --- Midtrans: documented bodies ---------------------------------------------------------------

CSTORE_INDOMARET_SETTLEMENT = {
    "transaction_time": "2026-03-02 10:15:07",
    "transaction_status": "settlement",
    "transaction_id": "5c1a3b1e-90f3-4d51-9a55-0e2b7a1c9e01",
    "store": "indomaret",
    "status_message": "midtrans payment notification",
    "status_code": "200",
    "settlement_time": "2026-03-02 10:21:44",
    "payment_type": "cstore",
    "payment_code": "468311231020",
    "order_id": "ord_01JNPAYINDOMARET",
    "merchant_id": "G123456789",
    "gross_amount": "336000.00",
    "fraud_status": "accept",
    "currency": "IDR",
    "approval_code": "66470011",
}

BANK_TRANSFER_BCA_SETTLEMENT = {
    "va_numbers": [{"va_number": "12345678901", "bank": "bca"}],
    "transaction_time": "2026-03-02 08:00:01",
    "transaction_status": "settlement",
    "transaction_id": "9aed5972-5b6a-401e-894b-a32c91ed1a3a",
    "status_message": "midtrans payment notification",
    "status_code": "200",
    "settlement_time": "2026-03-02 08:05:30",
    "payment_type": "bank_transfer",
    "payment_amounts": [{"paid_at": "2026-03-02 08:05:30", "amount": "50400.00"}],
    "order_id": "ord_01JNPAYBCA",
    "merchant_id": "G123456789",
    "gross_amount": "50400.00",
    "fraud_status": "accept",
    "currency": "IDR",
}

CARD_CAPTURE = {
    "transaction_time": "2026-03-02 09:00:00",
    "transaction_status": "capture",
    "transaction_id": "1f3a7a52-64a2-4d6a-9c1e-3f4dfe5b1c77",
    "status_message": "midtrans payment notification",
    "status_code": "200",
    "payment_type": "credit_card",
    "order_id": "ord_01JNPAYCARD",
    "merchant_id": "G123456789",
    "masked_card": "48111111-1114",
    "gross_amount": "100800.00",
    "fraud_status": "accept",
    "eci": "05",
    "currency": "IDR",
    "channel_response_message": "Approved",
    "channel_response_code": "00",
    "card_type": "credit",
    "bank": "bni",
    "approval_code": "1578569243927",
}

CSTORE_PENDING = {
    "transaction_time": "2026-03-02 10:15:07",
    "transaction_status": "pending",
    "transaction_id": "5c1a3b1e-90f3-4d51-9a55-0e2b7a1c9e01",
    "store": "indomaret",
    "status_message": "midtrans payment notification",
    "status_code": "201",
    "payment_type": "cstore",
    "payment_code": "468311231020",
    "order_id": "ord_01JNPAYINDOMARET",
    "merchant_id": "G123456789",
    "gross_amount": "336000.00",
    "fraud_status": "accept",
    "currency": "IDR",
    "expiry_time": "2026-03-04 10:15:07",
}

BANK_TRANSFER_EXPIRE = {
    "va_numbers": [{"va_number": "12345678901", "bank": "bca"}],
    "transaction_time": "2026-03-02 08:00:01",
    "transaction_status": "expire",
    "transaction_id": "9aed5972-5b6a-401e-894b-a32c91ed1a3a",
    "status_message": "midtrans payment notification",
    "status_code": "202",
    "payment_type": "bank_transfer",
    "order_id": "ord_01JNPAYBCA",
    "merchant_id": "G123456789",
    "gross_amount": "50400.00",
    "fraud_status": "accept",
    "currency": "IDR",
    "expiry_time": "2026-03-03 08:00:01",
}

CSTORE_DENY = {**CSTORE_INDOMARET_SETTLEMENT, "transaction_status": "deny", "status_code": "202"}
del CSTORE_DENY["settlement_time"]

CARD_REFUND = {
    **CARD_CAPTURE,
    "transaction_status": "refund",
    "status_code": "200",
    "settlement_time": "2026-03-03 01:00:00",
    "refund_amount": "100800.00",
    "refunds": [
        {
            "refund_chargeback_id": 12001,
            "refund_amount": "100800.00",
            "created_at": "2026-03-05 14:02:11",
            "reason": "participant asked for a refund",
            "refund_key": "rf-ord_01JNPAYCARD-1",
            "bank_confirmed_at": "2026-03-05 14:02:40",
        }
    ],
}

CARD_PARTIAL_REFUND = {
    **CARD_CAPTURE,
    "transaction_status": "partial_refund",
    "status_code": "200",
    "settlement_time": "2026-03-03 01:00:00",
    "refund_amount": "33600.00",
    "refunds": [
        {
            "refund_chargeback_id": 12002,
            "refund_amount": "33600.00",
            "created_at": "2026-03-05 14:02:11",
            "reason": "one month refunded",
            "refund_key": "rf-ord_01JNPAYCARD-1",
        }
    ],
}


class TestMidtransSignature:
    # The vector Midtrans documents, hashed here independently of the code under test.
    DOC_KEY = "askvnoibnosifnboseofinbofinfgbiufglnbfg"
    DOC_EXPECTED = hashlib.sha512(b"1111" + b"200" + b"100000.00" + DOC_KEY.encode()).hexdigest()
    DOC_BODY = {"order_id": "1111", "status_code": "200", "gross_amount": "100000.00", "signature_key": DOC_EXPECTED}

    def test_documented_vector_verifies(self) -> None:
        assert verify_midtrans(self.DOC_BODY, self.DOC_KEY)
        assert midtrans_signature("1111", "200", "100000.00", self.DOC_KEY) == self.DOC_EXPECTED

    def test_uppercase_hex_verifies(self) -> None:
        assert verify_midtrans({**self.DOC_BODY, "signature_key": self.DOC_EXPECTED.upper()}, self.DOC_KEY)

    @pytest.mark.parametrize(
        "tampered",
        [
            {"gross_amount": "1000000.00"},
            {"gross_amount": "100000"},  # same money, but the signature covers the string as sent
            {"status_code": "201"},
            {"order_id": "1112"},
            {"signature_key": "0" * 128},
        ],
    )
    def test_tampered_field_fails(self, tampered: dict[str, str]) -> None:
        assert not verify_midtrans({**self.DOC_BODY, **tampered}, self.DOC_KEY)

    def test_other_server_key_fails(self) -> None:
        assert not verify_midtrans(self.DOC_BODY, self.DOC_KEY + "x")
        assert not verify_midtrans(self.DOC_BODY, "")

    @pytest.mark.parametrize("missing", ["order_id", "status_code", "gross_amount", "signature_key"])
    def test_missing_signed_field_fails(self, missing: str) -> None:
        body = {k: v for k, v in self.DOC_BODY.items() if k != missing}
        assert not verify_midtrans(body, self.DOC_KEY)

    def test_non_string_fields_fail_without_raising(self) -> None:
        assert not verify_midtrans({**self.DOC_BODY, "gross_amount": 100000.0}, self.DOC_KEY)
        assert not verify_midtrans({**self.DOC_BODY, "signature_key": None}, self.DOC_KEY)
        assert not verify_midtrans({**self.DOC_BODY, "signature_key": "é" * 128}, self.DOC_KEY)

    def test_verifies_a_parsed_notification(self) -> None:
        body = signed(CSTORE_INDOMARET_SETTLEMENT)
        notification = MidtransNotification.model_validate(body)
        assert verify_midtrans(notification, SERVER_KEY)
        assert not verify_midtrans(notification, "another-key")

    def test_documented_bodies_verify(self) -> None:
        for body in (CSTORE_INDOMARET_SETTLEMENT, BANK_TRANSFER_BCA_SETTLEMENT, CARD_REFUND):
            assert verify_midtrans(signed(body), SERVER_KEY)
            assert not verify_midtrans({**signed(body), "gross_amount": "1.00"}, SERVER_KEY)


class TestMidtransInterpretation:
    def test_cstore_indomaret_settlement_is_paid(self) -> None:
        event = parse_midtrans(signed(CSTORE_INDOMARET_SETTLEMENT))
        assert event == ProviderEvent(
            provider="midtrans",
            kind="paid",
            order_id="ord_01JNPAYINDOMARET",
            payment_code=None,
            amount=336000,
            reference="5c1a3b1e-90f3-4d51-9a55-0e2b7a1c9e01:paid",
            payment_ref="5c1a3b1e-90f3-4d51-9a55-0e2b7a1c9e01",
            channel_name="indomaret",
            method="cstore",
            occurred_at=datetime(2026, 3, 2, 10, 21, 44, tzinfo=JAKARTA),
            raw_status="settlement/accept",
        )
        assert event.occurred_at == datetime(2026, 3, 2, 3, 21, 44, tzinfo=UTC)

    def test_cstore_alfamart_names_the_store(self) -> None:
        event = parse_midtrans({**CSTORE_INDOMARET_SETTLEMENT, "store": "alfamart"})
        assert event.channel_name == "alfamart"

    def test_bank_transfer_settlement_is_paid_through_the_bank(self) -> None:
        event = parse_midtrans(signed(BANK_TRANSFER_BCA_SETTLEMENT))
        assert (event.kind, event.amount, event.channel_name, event.method) == ("paid", 50400, "bca", "bank_transfer")
        assert event.order_id == "ord_01JNPAYBCA"
        assert event.occurred_at == datetime(2026, 3, 2, 8, 5, 30, tzinfo=JAKARTA)

    @pytest.mark.parametrize(
        ("extra", "channel"),
        [
            ({"payment_type": "bank_transfer", "permata_va_number": "8562000123456789"}, "permata"),
            ({"payment_type": "echannel", "biller_code": "70012", "bill_key": "511224069085"}, "mandiri"),
            ({"payment_type": "gopay"}, "gopay"),
        ],
    )
    def test_channel_name_of_other_methods(self, extra: dict[str, str], channel: str) -> None:
        body = {k: v for k, v in BANK_TRANSFER_BCA_SETTLEMENT.items() if k != "va_numbers"}
        assert parse_midtrans({**body, **extra}).channel_name == channel

    def test_capture_accept_is_paid(self) -> None:
        event = parse_midtrans(signed(CARD_CAPTURE))
        assert (event.kind, event.amount, event.channel_name) == ("paid", 100800, "bni")
        assert event.occurred_at == datetime(2026, 3, 2, 9, 0, tzinfo=JAKARTA)

    def test_capture_without_fraud_status_is_paid(self) -> None:
        body = {k: v for k, v in CARD_CAPTURE.items() if k != "fraud_status"}
        event = parse_midtrans(body)
        assert (event.kind, event.raw_status) == ("paid", "capture")

    def test_capture_then_settlement_is_one_payment(self) -> None:
        capture = parse_midtrans(CARD_CAPTURE)
        settlement = parse_midtrans({**CARD_CAPTURE, "transaction_status": "settlement"})
        assert capture.reference == settlement.reference
        assert capture.payment_ref == settlement.payment_ref

    def test_capture_challenge_is_held_then_accept_pays(self) -> None:
        challenge = parse_midtrans({**CARD_CAPTURE, "status_code": "201", "fraud_status": "challenge"})
        assert (challenge.kind, challenge.amount, challenge.raw_status) == ("held", 100800, "capture/challenge")
        accepted = parse_midtrans(CARD_CAPTURE)
        assert accepted.kind == "paid"
        assert challenge.reference != accepted.reference
        assert challenge.payment_ref == accepted.payment_ref

    def test_challenge_then_deny_is_voided(self) -> None:
        event = parse_midtrans(
            {**CARD_CAPTURE, "transaction_status": "deny", "status_code": "202", "fraud_status": "deny"}
        )
        assert event.kind == "voided"
        assert event.resolve(was_paid=False).kind == "failed"

    def test_capture_with_fraud_deny_is_voided(self) -> None:
        assert parse_midtrans({**CARD_CAPTURE, "status_code": "202", "fraud_status": "deny"}).kind == "voided"

    def test_pending_is_recorded(self) -> None:
        event = parse_midtrans(signed(CSTORE_PENDING))
        assert (event.kind, event.amount, event.channel_name) == ("pending", 336000, "indomaret")
        assert event.reference == "5c1a3b1e-90f3-4d51-9a55-0e2b7a1c9e01:pending"
        assert event.occurred_at == datetime(2026, 3, 2, 10, 15, 7, tzinfo=JAKARTA)

    def test_authorize_is_pending(self) -> None:
        assert parse_midtrans({**CARD_CAPTURE, "transaction_status": "authorize"}).kind == "pending"

    def test_expire_is_failed_at_expiry(self) -> None:
        event = parse_midtrans(signed(BANK_TRANSFER_EXPIRE))
        assert (event.kind, event.amount, event.raw_status) == ("failed", 50400, "expire/accept")
        assert event.occurred_at == datetime(2026, 3, 3, 8, 0, 1, tzinfo=JAKARTA)
        assert event.reference == "9aed5972-5b6a-401e-894b-a32c91ed1a3a:failed"

    def test_failure_is_failed(self) -> None:
        event = parse_midtrans({**BANK_TRANSFER_EXPIRE, "transaction_status": "failure"})
        assert event.kind == "failed"
        assert event.occurred_at == datetime(2026, 3, 2, 8, 0, 1, tzinfo=JAKARTA)

    def test_deny_depends_on_whether_this_transaction_was_credited(self) -> None:
        deny = parse_midtrans(signed(CSTORE_DENY))
        assert (deny.kind, deny.amount, deny.occurred_at) == ("voided", 336000, None)
        before = deny.resolve(was_paid=False)
        after = deny.resolve(was_paid=True)
        assert (before.kind, before.amount) == ("failed", 336000)
        assert (after.kind, after.amount) == ("reversed", 336000)
        # Resolution keeps the identity: a redelivered deny is still the same event.
        assert before.reference == after.reference == deny.reference == "5c1a3b1e-90f3-4d51-9a55-0e2b7a1c9e01:voided"
        assert deny.payment_ref == parse_midtrans(CSTORE_INDOMARET_SETTLEMENT).payment_ref

    def test_cancel_is_voided(self) -> None:
        event = parse_midtrans({**CARD_CAPTURE, "transaction_status": "cancel"})
        assert event.kind == "voided"
        assert event.resolve(was_paid=True).kind == "reversed"

    def test_resolve_leaves_other_kinds_alone(self) -> None:
        paid = parse_midtrans(CSTORE_INDOMARET_SETTLEMENT)
        assert paid.resolve(was_paid=False) is paid
        assert paid.resolve(was_paid=True) is paid

    def test_refund_reverses_the_refunded_amount(self) -> None:
        event = parse_midtrans(signed(CARD_REFUND))
        assert (event.kind, event.amount, event.raw_status) == ("reversed", 100800, "refund/accept")
        assert event.occurred_at == datetime(2026, 3, 5, 14, 2, 11, tzinfo=JAKARTA)
        assert event.payment_ref == parse_midtrans(CARD_CAPTURE).payment_ref
        assert event.reference == "1f3a7a52-64a2-4d6a-9c1e-3f4dfe5b1c77:reversed:refund:100800"

    def test_full_refund_without_amounts_reverses_the_gross_amount(self) -> None:
        body = {k: v for k, v in CARD_REFUND.items() if k not in ("refund_amount", "refunds")}
        event = parse_midtrans(body)
        assert (event.kind, event.amount, event.occurred_at) == ("reversed", 100800, None)

    def test_chargeback_is_reversed(self) -> None:
        event = parse_midtrans({**CARD_REFUND, "transaction_status": "chargeback"})
        assert (event.kind, event.amount) == ("reversed", 100800)
        assert event.reference != parse_midtrans(CARD_REFUND).reference

    def test_partial_refund_reverses_the_total_refunded(self) -> None:
        first = parse_midtrans(signed(CARD_PARTIAL_REFUND))
        assert (first.kind, first.amount) == ("reversed", 33600)
        second_refund = {
            "refund_chargeback_id": 12003,
            "refund_amount": "33600.00",
            "created_at": "2026-03-06 09:00:00",
            "reason": "second month refunded",
            "refund_key": "rf-ord_01JNPAYCARD-2",
        }
        second = parse_midtrans(
            {
                **CARD_PARTIAL_REFUND,
                "refund_amount": "67200.00",
                "refunds": [*CARD_PARTIAL_REFUND["refunds"], second_refund],
            }
        )
        assert (second.kind, second.amount) == ("reversed", 67200)
        assert second.occurred_at == datetime(2026, 3, 6, 9, 0, tzinfo=JAKARTA)
        assert first.reference != second.reference
        assert first.payment_ref == second.payment_ref

    def test_partial_refund_amount_from_refunds_list(self) -> None:
        body = {k: v for k, v in CARD_PARTIAL_REFUND.items() if k != "refund_amount"}
        assert parse_midtrans(body).amount == 33600

    def test_partial_chargeback_is_reversed(self) -> None:
        event = parse_midtrans({**CARD_PARTIAL_REFUND, "transaction_status": "partial_chargeback"})
        assert (event.kind, event.amount) == ("reversed", 33600)

    def test_partial_refund_without_amount_is_malformed(self) -> None:
        body = {k: v for k, v in CARD_PARTIAL_REFUND.items() if k not in ("refund_amount", "refunds")}
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans(body)
        assert malformed_field(exc_info) == "refund_amount"

    def test_refund_above_the_gross_amount_is_malformed(self) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans({**CARD_PARTIAL_REFUND, "refund_amount": "200000.00"})
        assert malformed_field(exc_info) == "refund_amount"

    def test_fractional_refund_is_malformed_naming_the_nested_field(self) -> None:
        body = {k: v for k, v in CARD_PARTIAL_REFUND.items() if k != "refund_amount"}
        body["refunds"] = [{**CARD_PARTIAL_REFUND["refunds"][0], "refund_amount": "33600.50"}]
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans(body)
        assert malformed_field(exc_info) == "refunds.0.refund_amount"

    def test_same_notification_twice_is_the_same_event(self) -> None:
        for body in (CSTORE_INDOMARET_SETTLEMENT, CSTORE_PENDING, CSTORE_DENY, CARD_REFUND, CARD_PARTIAL_REFUND):
            assert parse_midtrans(signed(body)) == parse_midtrans(json.loads(json.dumps(signed(body))))

    def test_every_fact_of_one_transaction_has_its_own_reference(self) -> None:
        events = [
            parse_midtrans(CSTORE_PENDING),
            parse_midtrans(CSTORE_INDOMARET_SETTLEMENT),
            parse_midtrans(CSTORE_DENY),
            parse_midtrans({**CSTORE_INDOMARET_SETTLEMENT, "transaction_status": "expire", "status_code": "202"}),
        ]
        assert len({e.reference for e in events}) == len(events)
        assert len({e.payment_ref for e in events}) == 1

    def test_unknown_fields_are_ignored(self) -> None:
        body = {
            **CSTORE_INDOMARET_SETTLEMENT,
            "new_field": {"nested": [1, 2, 3]},
            "issuer": "indomaret",
            "metadata": None,
        }
        assert parse_midtrans(body) == parse_midtrans(CSTORE_INDOMARET_SETTLEMENT)

    def test_settled_payment_must_carry_status_code_200(self) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans({**CSTORE_INDOMARET_SETTLEMENT, "status_code": "201"})
        assert malformed_field(exc_info) == "status_code"

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"gross_amount": "336000.50"}, "gross_amount"),
            ({"gross_amount": 336000}, "gross_amount"),
            ({"gross_amount": "-336000.00"}, "gross_amount"),
            ({"gross_amount": "0.00"}, "gross_amount"),
            ({"transaction_status": "refunded"}, "transaction_status"),
            ({"fraud_status": "review"}, "fraud_status"),
            ({"currency": "USD"}, "currency"),
            ({"transaction_time": "yesterday"}, "transaction_time"),
            ({"settlement_time": "2026-13-02 10:21:44"}, "settlement_time"),
            ({"order_id": ""}, "order_id"),
            ({"order_id": 1111}, "order_id"),
            ({"va_numbers": "bca"}, "va_numbers"),
        ],
    )
    def test_malformed_fields_are_named(self, change: dict[str, Any], field: str) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans({**CSTORE_INDOMARET_SETTLEMENT, **change})
        assert malformed_field(exc_info) == field

    @pytest.mark.parametrize(
        "missing", ["order_id", "gross_amount", "transaction_status", "status_code", "transaction_id"]
    )
    def test_missing_required_field_is_named(self, missing: str) -> None:
        body = {k: v for k, v in CSTORE_INDOMARET_SETTLEMENT.items() if k != missing}
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans(body)
        assert malformed_field(exc_info) == missing
        assert str(exc_info.value) == f"{missing}: is required"

    @pytest.mark.parametrize("body", [[], "settlement", None, 42])
    def test_non_object_body_is_malformed(self, body: object) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans(body)
        assert malformed_field(exc_info) == "body"

    def test_errors_never_carry_the_values(self) -> None:
        body = {**signed(CSTORE_INDOMARET_SETTLEMENT), "gross_amount": "336000.57"}
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans(body)
        text = str(exc_info.value)
        assert "336000" not in text
        assert body["signature_key"] not in text
        with pytest.raises(MalformedCallback) as exc_info:
            parse_midtrans({**CSTORE_INDOMARET_SETTLEMENT, "order_id": 628123456789})
        assert "628123456789" not in str(exc_info.value)

    def test_malformed_is_a_domain_error(self) -> None:
        assert issubclass(MalformedCallback, DomainError)

    def test_event_is_immutable(self) -> None:
        event = parse_midtrans(CSTORE_INDOMARET_SETTLEMENT)
        with pytest.raises(dataclasses.FrozenInstanceError):
            event.amount = 1  # type: ignore[misc]  # the assignment a frozen dataclass must refuse


# --- Amounts -----------------------------------------------------------------------------------


class TestRupiah:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("336000.00", 336000),
            ("336000", 336000),
            ("336000.0000", 336000),
            (336000, 336000),
            (336000.0, 336000),
            (1, 1),
        ],
    )
    def test_whole_rupiah(self, value: object, expected: int) -> None:
        assert parse_rupiah(value, "gross_amount") == expected

    @pytest.mark.parametrize(
        "value",
        [
            "336000.50",
            "336000.5",
            "336000.01",
            336000.5,
            None,
            "",
            " 336000.00",
            "336,000.00",
            "336.000,00",
            "3.36e5",
            "Rp336000",
            "-1.00",
            "0.00",
            0,
            -5,
            True,
            False,
            math.nan,
            math.inf,
            1e30,
            "9" * 40,
            [336000],
            {"amount": 336000},
        ],
    )
    def test_refused(self, value: object) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_rupiah(value, "gross_amount")
        assert malformed_field(exc_info) == "gross_amount"
        assert "336" not in str(exc_info.value)


# --- Xendit ------------------------------------------------------------------------------------

XENDIT_TOKEN = "local-xendit-callback-token"

INVOICE_PAID = {
    "id": "65e2a1c409accd62c85673c4",
    "external_id": "ord_01JNXENDITINV",
    "user_id": "6279ce4495d10c9afc3171b8",
    "is_high": False,
    "payment_method": "BANK_TRANSFER",
    "status": "PAID",
    "merchant_name": "Perisai",
    "amount": 336000,
    "paid_amount": 336000,
    "bank_code": "MANDIRI",
    "paid_at": "2026-03-02T03:21:44.534Z",
    "payer_email": None,
    "description": "Iuran BPU 2026-03..2026-05",
    "created": "2026-03-02T03:00:04.761Z",
    "updated": "2026-03-02T03:21:44.843Z",
    "currency": "IDR",
    "payment_channel": "MANDIRI",
    "payment_destination": "8860861087714",
    "payment_id": "b1c2d3e4-0000-4a5b-8c9d-112233445566",
}

INVOICE_EXPIRED = {
    "id": "65e2a1c409accd62c85673c4",
    "external_id": "ord_01JNXENDITINV",
    "user_id": "6279ce4495d10c9afc3171b8",
    "is_high": False,
    "status": "EXPIRED",
    "merchant_name": "Perisai",
    "amount": 336000,
    "created": "2026-03-02T03:00:04.761Z",
    "updated": "2026-03-04T03:00:05.000Z",
    "currency": "IDR",
}

VA_PAID = {
    "amount": 50400,
    "callback_virtual_account_id": "65e2b58568ed5f402a1faadb",
    "payment_id": "65e2b58f8d65ab385241f17a",
    "external_id": "ord_01JNXENDITVA",
    "account_number": "9999624535",
    "merchant_code": "88608",
    "bank_code": "BRI",
    "transaction_timestamp": "2026-03-02T04:20:31.000Z",
    "currency": "IDR",
    "created": "2026-03-02T04:20:31.937Z",
    "updated": "2026-03-02T04:20:33.074Z",
    "id": "65e2b58fc5710a7ae00f75db",
    "owner_id": "5c2323c67d6d305ac433ba20",
    "sender_name": "JOHN DOE",
}

RETAIL_PAID = {
    "fixed_payment_code_payment_id": "65e2c1c1a6f0b75a6a5d8b3d",
    "owner_id": "5b614aa8e79f9214007244d4",
    "fixed_payment_code_id": "65e2c1c1a6f0b75a6a5d8b3c",
    "payment_id": "1709353601766",
    "external_id": "ord_01JNXENDITRO",
    "payment_code": "TEST123456",
    "prefix": "TEST",
    "retail_outlet_name": "ALFAMART",
    "amount": 100800,
    "name": "JOHN DOE",
    "transaction_timestamp": "2026-03-02T05:06:41.766Z",
    "updated": "2026-03-02T05:06:42.000Z",
    "created": "2026-03-02T05:06:42.000Z",
    "id": "65e2c1c1a6f0b75a6a5d8b3e",
    "status": "COMPLETED",
}


class TestXenditToken:
    def test_matching_token(self) -> None:
        assert verify_xendit(XENDIT_TOKEN, XENDIT_TOKEN)

    @pytest.mark.parametrize(
        "header", [None, "", "local-xendit-callback-toke", XENDIT_TOKEN + " ", XENDIT_TOKEN.upper(), "é"]
    )
    def test_other_tokens_fail(self, header: str | None) -> None:
        assert not verify_xendit(header, XENDIT_TOKEN)

    def test_empty_expected_token_never_matches(self) -> None:
        assert not verify_xendit("", "")
        assert not verify_xendit("anything", "")


class TestXenditCallbacks:
    def test_invoice_paid(self) -> None:
        event = parse_xendit(INVOICE_PAID)
        assert event == ProviderEvent(
            provider="xendit",
            kind="paid",
            order_id="ord_01JNXENDITINV",
            payment_code=None,
            amount=336000,
            reference="65e2a1c409accd62c85673c4:paid",
            payment_ref="65e2a1c409accd62c85673c4",
            channel_name="MANDIRI",
            method="BANK_TRANSFER",
            occurred_at=datetime(2026, 3, 2, 3, 21, 44, 534000, tzinfo=UTC),
            raw_status="PAID",
        )

    def test_invoice_settled_is_the_same_payment(self) -> None:
        settled = parse_xendit({**INVOICE_PAID, "status": "SETTLED"})
        assert (settled.kind, settled.raw_status) == ("paid", "SETTLED")
        assert settled.reference == parse_xendit(INVOICE_PAID).reference

    def test_invoice_paid_without_paid_amount_is_paid_in_full(self) -> None:
        body = {k: v for k, v in INVOICE_PAID.items() if k != "paid_amount"}
        assert parse_xendit(body).amount == 336000

    def test_invoice_paid_amount_is_what_counts(self) -> None:
        assert parse_xendit({**INVOICE_PAID, "paid_amount": 300000}).amount == 300000

    def test_invoice_paid_at_a_retail_outlet_is_an_invoice(self) -> None:
        body = {
            **INVOICE_PAID,
            "payment_method": "RETAIL_OUTLET",
            "payment_channel": "ALFAMART",
            "retail_outlet_name": "ALFAMART",
        }
        del body["bank_code"]
        event = parse_xendit(body)
        assert (event.kind, event.reference, event.channel_name) == (
            "paid",
            "65e2a1c409accd62c85673c4:paid",
            "ALFAMART",
        )

    def test_invoice_expired_is_failed(self) -> None:
        event = parse_xendit(INVOICE_EXPIRED)
        assert (event.kind, event.amount, event.raw_status) == ("failed", 336000, "EXPIRED")
        assert event.reference == "65e2a1c409accd62c85673c4:failed"
        assert event.payment_ref == parse_xendit(INVOICE_PAID).payment_ref
        assert event.occurred_at == datetime(2026, 3, 4, 3, 0, 5, tzinfo=UTC)
        assert event.channel_name is None

    def test_virtual_account_paid(self) -> None:
        event = parse_xendit(VA_PAID)
        assert event == ProviderEvent(
            provider="xendit",
            kind="paid",
            order_id="ord_01JNXENDITVA",
            payment_code=None,
            amount=50400,
            reference="65e2b58f8d65ab385241f17a",
            payment_ref="65e2b58f8d65ab385241f17a",
            channel_name="BRI",
            method="VIRTUAL_ACCOUNT",
            occurred_at=datetime(2026, 3, 2, 4, 20, 31, tzinfo=UTC),
            raw_status="PAID",
        )

    def test_virtual_account_paid_without_va_id(self) -> None:
        body = {k: v for k, v in VA_PAID.items() if k != "callback_virtual_account_id"}
        assert parse_xendit(body) == parse_xendit(VA_PAID)

    def test_retail_outlet_paid(self) -> None:
        event = parse_xendit(RETAIL_PAID)
        assert event == ProviderEvent(
            provider="xendit",
            kind="paid",
            order_id="ord_01JNXENDITRO",
            payment_code=None,
            amount=100800,
            reference="1709353601766",
            payment_ref="1709353601766",
            channel_name="ALFAMART",
            method="RETAIL_OUTLET",
            occurred_at=datetime(2026, 3, 2, 5, 6, 41, 766000, tzinfo=UTC),
            raw_status="COMPLETED",
        )

    def test_retail_outlet_paid_without_status_or_code_id(self) -> None:
        body = {k: v for k, v in RETAIL_PAID.items() if k not in ("status", "fixed_payment_code_id")}
        event = parse_xendit(body)
        assert (event.kind, event.reference, event.raw_status) == ("paid", "1709353601766", "PAID")

    def test_same_callback_twice_is_the_same_event(self) -> None:
        for body in (INVOICE_PAID, INVOICE_EXPIRED, VA_PAID, RETAIL_PAID):
            assert parse_xendit(body) == parse_xendit(json.loads(json.dumps(body)))

    def test_unknown_fields_are_ignored(self) -> None:
        extra = {"new_field": {"x": [1]}, "metadata": None, "items": [{"name": "iuran"}]}
        for body in (INVOICE_PAID, VA_PAID, RETAIL_PAID):
            assert parse_xendit({**body, **extra}) == parse_xendit(body)

    @pytest.mark.parametrize(
        ("body", "change", "field"),
        [
            (VA_PAID, {"amount": 50400.5}, "amount"),
            (VA_PAID, {"amount": None}, "amount"),
            (VA_PAID, {"amount": True}, "amount"),
            (VA_PAID, {"external_id": ""}, "external_id"),
            (VA_PAID, {"currency": "PHP"}, "currency"),
            (VA_PAID, {"transaction_timestamp": "02/03/2026"}, "transaction_timestamp"),
            (RETAIL_PAID, {"amount": "100800.50"}, "amount"),
            (RETAIL_PAID, {"status": "FAILED"}, "status"),
            (RETAIL_PAID, {"payment_id": 1709353601766}, "payment_id"),
            (INVOICE_PAID, {"status": "VOIDED"}, "status"),
            (INVOICE_PAID, {"paid_amount": -1}, "paid_amount"),
            (INVOICE_PAID, {"paid_at": "soon"}, "paid_at"),
            (INVOICE_PAID, {"id": None}, "id"),
            (INVOICE_EXPIRED, {"amount": 336000.25}, "amount"),
        ],
    )
    def test_malformed_fields_are_named(self, body: dict[str, Any], change: dict[str, Any], field: str) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_xendit({**body, **change})
        assert malformed_field(exc_info) == field

    @pytest.mark.parametrize(
        ("body", "missing"),
        [
            (VA_PAID, "payment_id"),
            (VA_PAID, "external_id"),
            (VA_PAID, "amount"),
            (RETAIL_PAID, "payment_id"),
            (RETAIL_PAID, "retail_outlet_name"),
            (RETAIL_PAID, "external_id"),
            (INVOICE_PAID, "external_id"),
            (INVOICE_PAID, "id"),
            (INVOICE_EXPIRED, "amount"),
        ],
    )
    def test_missing_field_is_named(self, body: dict[str, Any], missing: str) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_xendit({k: v for k, v in body.items() if k != missing})
        assert malformed_field(exc_info) == missing

    def test_paid_invoice_without_any_amount(self) -> None:
        body = {k: v for k, v in INVOICE_PAID.items() if k not in ("paid_amount", "amount")}
        with pytest.raises(MalformedCallback) as exc_info:
            parse_xendit(body)
        assert malformed_field(exc_info) == "paid_amount"

    @pytest.mark.parametrize("body", [{}, {"external_id": "ord_1", "amount": 1000}, [], "PAID", None])
    def test_unrecognised_body_is_malformed(self, body: object) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_xendit(body)
        assert malformed_field(exc_info) == "body"


# --- Direct channels ---------------------------------------------------------------------------

CHANNEL_SECRET = "local-channel-secret"
NOW = datetime(2026, 3, 2, 5, 0, 0, tzinfo=UTC)
NOW_TS = str(int(NOW.timestamp()))
CHANNEL_BODY = json.dumps(
    {
        "payment_code": "4831902275165",
        "amount": 336000,
        "paid_at": "2026-03-02T11:59:30+07:00",
        "channel_reference": "POS-JKT-000123",
    }
).encode()


def hmac_signature(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class TestChannelSignature:
    def test_good_signature(self) -> None:
        signature = hmac_signature(CHANNEL_SECRET, NOW_TS, CHANNEL_BODY)
        assert verify_channel(CHANNEL_BODY, NOW_TS, signature, CHANNEL_SECRET, NOW)
        assert channel_signature(CHANNEL_SECRET, NOW_TS, CHANNEL_BODY) == signature

    def test_uppercase_hex_is_accepted(self) -> None:
        digest = hmac_signature(CHANNEL_SECRET, NOW_TS, CHANNEL_BODY).removeprefix("sha256=")
        assert verify_channel(CHANNEL_BODY, NOW_TS, "sha256=" + digest.upper(), CHANNEL_SECRET, NOW)

    def test_other_secret_fails(self) -> None:
        signature = hmac_signature("another-channel-secret", NOW_TS, CHANNEL_BODY)
        assert not verify_channel(CHANNEL_BODY, NOW_TS, signature, CHANNEL_SECRET, NOW)

    def test_tampered_body_fails(self) -> None:
        signature = hmac_signature(CHANNEL_SECRET, NOW_TS, CHANNEL_BODY)
        tampered = CHANNEL_BODY.replace(b"336000", b"936000")
        assert not verify_channel(tampered, NOW_TS, signature, CHANNEL_SECRET, NOW)
        assert not verify_channel(CHANNEL_BODY + b" ", NOW_TS, signature, CHANNEL_SECRET, NOW)

    @pytest.mark.parametrize(
        ("offset", "accepted"), [(-301, False), (-300, True), (0, True), (300, True), (301, False)]
    )
    def test_timestamp_window(self, offset: int, accepted: bool) -> None:
        timestamp = str(int(NOW.timestamp()) + offset)
        signature = hmac_signature(CHANNEL_SECRET, timestamp, CHANNEL_BODY)
        assert verify_channel(CHANNEL_BODY, timestamp, signature, CHANNEL_SECRET, NOW) is accepted

    def test_stale_request_is_refused(self) -> None:
        timestamp = str(int((NOW - timedelta(hours=1)).timestamp()))
        signature = hmac_signature(CHANNEL_SECRET, timestamp, CHANNEL_BODY)
        assert not verify_channel(CHANNEL_BODY, timestamp, signature, CHANNEL_SECRET, NOW)

    def test_future_request_is_refused(self) -> None:
        timestamp = str(int((NOW + timedelta(minutes=10)).timestamp()))
        signature = hmac_signature(CHANNEL_SECRET, timestamp, CHANNEL_BODY)
        assert not verify_channel(CHANNEL_BODY, timestamp, signature, CHANNEL_SECRET, NOW)

    def test_replay_under_a_new_timestamp_fails(self) -> None:
        captured_at = str(int((NOW - timedelta(hours=1)).timestamp()))
        captured_signature = hmac_signature(CHANNEL_SECRET, captured_at, CHANNEL_BODY)
        assert verify_channel(CHANNEL_BODY, captured_at, captured_signature, CHANNEL_SECRET, NOW - timedelta(hours=1))
        assert not verify_channel(CHANNEL_BODY, NOW_TS, captured_signature, CHANNEL_SECRET, NOW)

    def test_custom_window(self) -> None:
        timestamp = str(int(NOW.timestamp()) - 100)
        signature = hmac_signature(CHANNEL_SECRET, timestamp, CHANNEL_BODY)
        assert verify_channel(CHANNEL_BODY, timestamp, signature, CHANNEL_SECRET, NOW, max_skew_seconds=100)
        assert not verify_channel(CHANNEL_BODY, timestamp, signature, CHANNEL_SECRET, NOW, max_skew_seconds=99)

    @pytest.mark.parametrize(
        ("timestamp", "signature"),
        [
            (None, "good"),
            (NOW_TS, None),
            ("", "good"),
            (f" {NOW_TS}", "good"),
            (f"{NOW_TS}.0", "good"),
            (f"-{NOW_TS}", "good"),
            ("1e9", "good"),
            ("9" * 40, "good"),
            ("١٧٧٢٤٢٧٢٠٠", "good"),  # Arabic-Indic digits: str.isdigit() would say yes
            (NOW_TS, "bare-hex"),
            (NOW_TS, "sha1=good"),
            (NOW_TS, "sha256="),
            (NOW_TS, "sha256=" + "z" * 64),
            (NOW_TS, "sha256=" + "é" * 64),
            (NOW_TS, "SHA256=good"),
            (NOW_TS, "sha256=good "),
        ],
    )
    def test_malformed_headers_fail(self, timestamp: str | None, signature: str | None) -> None:
        good = hmac_signature(CHANNEL_SECRET, NOW_TS, CHANNEL_BODY)
        hex_digest = good.removeprefix("sha256=")
        if signature is not None:
            signature = signature.replace("good", hex_digest).replace("bare-hex", hex_digest)
        assert not verify_channel(CHANNEL_BODY, timestamp, signature, CHANNEL_SECRET, NOW)

    def test_empty_secret_never_verifies(self) -> None:
        assert not verify_channel(CHANNEL_BODY, NOW_TS, hmac_signature("", NOW_TS, CHANNEL_BODY), "", NOW)

    def test_naive_now_is_a_programming_error(self) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            verify_channel(CHANNEL_BODY, NOW_TS, "sha256=", CHANNEL_SECRET, datetime(2026, 3, 2, 5, 0))


class TestChannelPayment:
    def test_payment(self) -> None:
        event = parse_channel(CHANNEL_BODY, "demo-channel")
        assert event == ProviderEvent(
            provider="channel",
            kind="paid",
            order_id=None,
            payment_code="4831902275165",
            amount=336000,
            reference="demo-channel:POS-JKT-000123",
            payment_ref="demo-channel:POS-JKT-000123",
            channel_name="demo-channel",
            method=None,
            occurred_at=datetime(2026, 3, 2, 4, 59, 30, tzinfo=UTC),
            raw_status="paid",
        )

    def test_same_reference_from_another_channel_is_another_payment(self) -> None:
        assert parse_channel(CHANNEL_BODY, "brilink").reference != parse_channel(CHANNEL_BODY, "demo-channel").reference

    def test_paid_at_without_offset_is_jakarta_time(self) -> None:
        body = json.dumps({**json.loads(CHANNEL_BODY), "paid_at": "2026-03-02 11:59:30"}).encode()
        assert parse_channel(body, "demo-channel").occurred_at == datetime(2026, 3, 2, 4, 59, 30, tzinfo=UTC)

    def test_unknown_fields_are_ignored(self) -> None:
        body = json.dumps({**json.loads(CHANNEL_BODY), "teller": "T-07", "branch": {"code": "JKT"}}).encode()
        assert parse_channel(body, "demo-channel") == parse_channel(CHANNEL_BODY, "demo-channel")

    def test_string_amount_in_whole_rupiah(self) -> None:
        body = json.dumps({**json.loads(CHANNEL_BODY), "amount": "336000.00"}).encode()
        assert parse_channel(body, "demo-channel").amount == 336000

    @pytest.mark.parametrize(
        ("change", "field"),
        [
            ({"amount": 336000.5}, "amount"),
            ({"amount": "336000.50"}, "amount"),
            ({"amount": 0}, "amount"),
            ({"payment_code": 4831902275165}, "payment_code"),
            ({"payment_code": ""}, "payment_code"),
            ({"channel_reference": ""}, "channel_reference"),
            ({"channel_reference": "x" * 129}, "channel_reference"),
            ({"paid_at": "kemarin"}, "paid_at"),
        ],
    )
    def test_malformed_fields_are_named(self, change: dict[str, Any], field: str) -> None:
        body = json.dumps({**json.loads(CHANNEL_BODY), **change}).encode()
        with pytest.raises(MalformedCallback) as exc_info:
            parse_channel(body, "demo-channel")
        assert malformed_field(exc_info) == field
        assert "4831902275165" not in str(exc_info.value)

    @pytest.mark.parametrize("missing", ["payment_code", "amount", "paid_at", "channel_reference"])
    def test_missing_field_is_named(self, missing: str) -> None:
        body = json.dumps({k: v for k, v in json.loads(CHANNEL_BODY).items() if k != missing}).encode()
        with pytest.raises(MalformedCallback) as exc_info:
            parse_channel(body, "demo-channel")
        assert malformed_field(exc_info) == missing

    @pytest.mark.parametrize(
        "raw",
        [b"", b"not json", b"[1, 2]", b'"paid"', b"\xff\xfe", b'{"amount": NaN}', CHANNEL_BODY[:-1]],
    )
    def test_unreadable_body_is_malformed(self, raw: bytes) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_channel(raw, "demo-channel")
        assert malformed_field(exc_info) == "body"

    @pytest.mark.parametrize("channel_id", [None, "", "demo:channel", "demo channel", "-demo", "x" * 65])
    def test_bad_channel_id_is_malformed(self, channel_id: str | None) -> None:
        with pytest.raises(MalformedCallback) as exc_info:
            parse_channel(CHANNEL_BODY, channel_id)
        assert malformed_field(exc_info) == "X-Channel-Id"
