"""Fault injection at every AWS call of the payment callback path: the provider gets a 5xx (so it
retries), nothing is half-written, and its redelivery credits the months once."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import Api
from tests.api.test_payments import _enrolled, _ledger, _midtrans, _order
from tests.helpers.faults import KINDS, Fault, inject, record

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

FUNCTION = "payment_callback"
REDELIVERIES = 3


def _clear_secrets() -> None:
    """Provider secrets are cached 5 minutes: clearing them puts GetSecretValue back in the path."""
    from perisai.payments import secrets

    secrets._secrets.cache_clear()


@pytest.fixture(scope="module")
def callback_sequence(api: Api) -> list[tuple[str, str]]:
    participant_id = _enrolled(api)
    order = _order(api, participant_id)
    api.post("/v1/payments/midtrans", _midtrans(_order(api, _enrolled(api))))  # warm the function
    _clear_secrets()
    with record(functions=FUNCTION) as calls:
        response = api.post("/v1/payments/midtrans", _midtrans(order))
    assert response.status_code == 200 and response.json()["outcome"] == "credited", response.text
    return calls.sequence


def _deliver_until_answered(api: Api, body: dict[str, Any]) -> Any:
    """The provider's retries: redeliver while the answer is a 5xx."""
    response = api.post("/v1/payments/midtrans", body)
    for _ in range(REDELIVERIES):
        if response.status_code < 500:
            return response
        response = api.post("/v1/payments/midtrans", body)
    return response


def test_the_callback_path_is_known(callback_sequence: list[tuple[str, str]]) -> None:
    assert ("secretsmanager", "GetSecretValue") in callback_sequence
    assert ("dynamodb", "TransactWriteItems") in callback_sequence


@pytest.mark.parametrize("kind", [*KINDS, Fault.LOST_RESPONSE], ids=lambda k: str(k.value))
def test_a_fault_at_any_call_is_5xx_and_the_redelivery_credits_once(
    api: Api, runtime: LocalRuntime, callback_sequence: list[tuple[str, str]], kind: Fault
) -> None:
    for position in range(1, len(callback_sequence) + 1):
        participant_id = _enrolled(api)
        order = _order(api, participant_id, 3)
        body = _midtrans(order)
        _clear_secrets()
        with inject(kind, at=position, functions=FUNCTION) as faults:
            first = api.post("/v1/payments/midtrans", body)
        at = callback_sequence[position - 1]
        if faults.injected:
            assert first.status_code == 503, f"{kind} at {at}: {first.status_code} {first.text}"
            assert first.json()["error"] == "service_unavailable"
            if kind is not Fault.LOST_RESPONSE:
                assert _ledger(runtime, participant_id) == [], f"{kind} at {at} wrote a half credit"
        final = _deliver_until_answered(api, body)
        assert final.status_code == 200, f"{kind} at {at}: {final.status_code} {final.text}"
        assert final.json()["outcome"] in ("credited", "duplicate")
        assert len(_ledger(runtime, participant_id)) == 3, f"{kind} at {at}"
        assert (
            api.get(f"/v1/payment-orders/{order['order_id']}", {"Authorization": "Bearer demo-partner-key"}).json()[
                "status"
            ]
            == "paid"
        )
