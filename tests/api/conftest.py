from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterator
from datetime import date
from typing import TYPE_CHECKING, Any

import pytest
import requests

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime
    from perisai.partners.models import Channel, Scope, UsagePlan

PARTNER = {"Authorization": "Bearer demo-partner-key"}
BACKOFFICE = {"Authorization": "Bearer demo-backoffice-key"}

_serial = itertools.count(1)


def make_nik(birth: date = date(1990, 8, 17), gender: str = "M", region: str = "317101") -> str:
    """A fresh, valid NIK: region + DDMMYY (+40 for women) + a serial unique to this test run."""
    day = birth.day + (40 if gender == "F" else 0)
    return f"{region}{day:02d}{birth.month:02d}{birth.year % 100:02d}{next(_serial):04d}"


def enrollment(**overrides: Any) -> dict[str, Any]:
    birth = overrides.pop("birth", date(1990, 8, 17))
    gender = overrides.get("gender", "M")
    body = {
        "nik": make_nik(birth, gender),
        "full_name": "Budi Santoso",
        "birth_date": birth.isoformat(),
        "gender": gender,
        "phone": "0812-3456-7890",
        "occupation": "ojek driver",
        "sector": "transport",
        "monthly_income": 2_500_000,
        "programs": ["JKK", "JKM"],
    }
    body.update(overrides)
    return body


def register_agent(api_or_runtime: Any, headers: dict[str, str], code: str, **overrides: Any) -> dict[str, Any]:
    """Register the agent ``code`` for the partner of ``headers`` (an enrollment may name only an
    active agent of its partner); an agent already registered by an earlier test is reactivated.
    Takes the ``api`` fixture or the ``runtime`` (its URL). Returns the agent view."""
    # By attribute: pytest's conftest module and tests.api.conftest define two Api classes.
    base = getattr(api_or_runtime, "base", None) or api_or_runtime.url
    body = {"agent_code": code, "name": "Agen Uji", "phone": "0813-1000-2000", "home_regency": "3273", **overrides}
    response = requests.post(f"{base}/v1/agents", json=body, headers=headers, timeout=30)
    assert response.status_code in (200, 201, 409), response.text
    if response.status_code == 409 or response.json()["status"] != "active":  # registered by an earlier test
        response = requests.post(f"{base}/v1/agents/{code}/reactivate", headers=headers, timeout=30)
        assert response.status_code == 200, response.text
    return dict(response.json())


def partner_key(
    runtime: Any,
    partner_id: str,
    scopes: list[Scope],
    *,
    channel: Channel = "retailer",
    usage_plan: UsagePlan = "standard",
) -> tuple[dict[str, str], Any]:
    """A new key for a test partner: (Authorization headers, stored key record)."""
    from perisai.partners.repository import PartnerKeyRepository
    from perisai.partners.service import issue_key

    key, record = issue_key(
        PartnerKeyRepository(runtime.outputs()["PartnersTableName"]),
        partner_id=partner_id,
        partner_name=partner_id,
        channel=channel,
        scopes=scopes,
        usage_plan=usage_plan,
    )
    return {"Authorization": f"Bearer {key}"}, record


def scan_all(runtime: Any, **scan: Any) -> list[dict[str, Any]]:
    """Every raw item of the participants table matching ``scan`` (test inspection only)."""
    client = runtime.cloud.client("dynamodb")
    kwargs: dict[str, Any] = {"TableName": runtime.outputs()["ParticipantsTableName"], **scan}
    items: list[dict[str, Any]] = []
    while True:
        page = client.scan(**kwargs)
        items += page["Items"]
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def make_lapsed(runtime: Any, participant_id: str) -> None:
    """Put a participant in status lapsed directly (the lapse job is not built yet)."""
    runtime.cloud.client("dynamodb").update_item(
        TableName=runtime.outputs()["ParticipantsTableName"],
        Key={"pk": {"S": f"PARTICIPANT#{participant_id}"}, "sk": {"S": "PROFILE"}},
        UpdateExpression="SET #s = :lapsed",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":lapsed": {"S": "lapsed"}},
    )


class Api:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = requests.Session()

    def get(self, path: str, headers: dict[str, str] | None = None, **kwargs: Any) -> requests.Response:
        return self.http.get(self.base + path, headers=headers or {}, timeout=30, **kwargs)

    def post(
        self, path: str, body: Any = None, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> requests.Response:
        return self.http.post(self.base + path, json=body, headers=headers or {}, timeout=30, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> requests.Response:
        return self.http.put(self.base + path, json=body, timeout=30, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> requests.Response:
        return self.http.delete(self.base + path, timeout=30, **kwargs)

    def enroll(
        self, body: dict[str, Any], headers: dict[str, str] | None = None, key: str | None = None
    ) -> requests.Response:
        return self.post(
            "/v1/participants", body, headers={**(headers or PARTNER), "Idempotency-Key": key or str(uuid.uuid4())}
        )


@pytest.fixture(scope="session")
def api(runtime: LocalRuntime) -> Api:
    return Api(runtime.url)


@pytest.fixture
def frozen_clock(api: Api) -> Iterator[Callable[[str], None]]:
    """Move the runtime's clock for one test; real time again afterwards."""

    def move(instant: str) -> None:
        assert api.put("/_local/clock", {"now": instant}).status_code == 200

    yield move
    api.delete("/_local/clock")


def pay_by_midtrans(
    api: Api, participant_id: str, months: int = 1, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Open an order for the participant's next ``months`` (as the partner of ``headers``, by
    default the demo partner) and settle it as Midtrans would (signature computed here with the
    local server key); returns the order."""
    import hashlib

    order = api.post(
        f"/v1/participants/{participant_id}/payment-orders", {"months": months}, headers=headers or PARTNER
    )
    assert order.status_code in (200, 201), order.text
    body = dict(order.json())
    gross = f"{body['amount']}.00"
    signature = hashlib.sha512(f"{body['order_id']}200{gross}local-midtrans-server-key".encode()).hexdigest()
    paid = api.post(
        "/v1/payments/midtrans",
        {
            "transaction_status": "settlement",
            "status_code": "200",
            "transaction_id": f"tx-{body['order_id']}",
            "order_id": body["order_id"],
            "gross_amount": gross,
            "payment_type": "cstore",
            "store": "indomaret",
            "signature_key": signature,
        },
    )
    assert paid.json()["outcome"] == "credited", paid.text
    return body


def standing_at_month_end(view: dict[str, Any], month: str) -> str:
    """The README's definition of a participant's standing at the end of ``month``, from what
    GET /v1/participants/{id} shows then: active when paid through the month."""
    if view["status"] == "ended":
        return "ended"
    if view.get("covered_through") and view["covered_through"] >= month:
        return "active"
    return "arrears" if view["status"] == "active" else str(view["status"])


def run_status_job(api: Api, at: str) -> None:
    """The daily lapse-detection job at ``at``, through the local schedule and the real handlers."""
    response = api.http.post(f"{api.base}/_local/schedules/lapse-detection/run", json={"at": at}, timeout=300)
    assert response.status_code == 200, response.text
    assert response.json()["succeeded"], response.text
