"""Who may call what: every route x every kind of caller, from ONE table, over HTTP through the
emulated API Gateway (authorizer, its cache, gateway responses) and the real handlers.

Callers (columns):
- no key, unknown key, revoked key (revoked after it had been used and cached, then the
  authorizer cache flushed, as `partner revoke` does);
- a key with exactly one scope: enroll, pay, claims (all three keys belong to one partner,
  "matrix-agent", which enrolled the participant these requests refer to) and backoffice
  (another partner, which sees every partner's participants);
- "other partner": a key with scope enroll of partner "matrix-other", whose requests refer to a
  participant that demo-partner enrolled.

Expected: missing/unknown/revoked key -> 401 JSON; a key without the route's scope -> 403 JSON;
otherwise the route's normal answer. A test checks the table against the scopes the served OpenAPI
document declares per operation, so the table cannot drift from the contract.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests

from tests.api.conftest import BACKOFFICE, PARTNER, Api, enrollment, partner_key

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime
    from perisai.partners.models import Scope

CALLERS = ("no key", "unknown key", "revoked key", "enroll", "pay", "claims", "backoffice", "other partner")
SCOPE_CALLERS = ("enroll", "pay", "claims", "backoffice")
KEYLESS_CALLERS = ("no key", "unknown key", "revoked key")

# fmt: off
# route                                            no key unknown revoked enroll  pay claims backoffice other partner
MATRIX: dict[tuple[str, str], tuple[int, ...]] = {
    ("GET",  "/health"):                              (200,  200,  200,   200,  200,  200,  200,  200),
    ("GET",  "/v1/openapi.json"):                     (200,  200,  200,   200,  200,  200,  200,  200),
    ("POST", "/v1/participants"):                     (401,  401,  401,   201,  403,  403,  201,  409),
    ("GET",  "/v1/participants"):                     (401,  401,  401,   403,  200,  403,  200,  403),
    ("GET",  "/v1/participants/{participant_id}"):    (401,  401,  401,   200,  200,  200,  200,  404),
    ("POST", "/v1/participants/{participant_id}/sms-opt-out"):
                                                      (401,  401,  401,   200,  200,  403,  200,  404),
    ("POST", "/v1/participants/{participant_id}/sms-opt-in"):
                                                      (401,  401,  401,   200,  200,  403,  200,  404),
    ("GET",  "/v1/dues/quote"):                       (401,  401,  401,   200,  200,  403,  200,  200),
    ("POST", "/v1/claims"):                           (401,  401,  401,   403,  403,  201,  201,  403),
    ("GET",  "/v1/claims/{claim_id}"):                (401,  401,  401,   403,  403,  200,  200,  403),
    ("GET",  "/v1/participants/{participant_id}/claims"):
                                                      (401,  401,  401,   403,  403,  200,  200,  403),
    ("POST", "/v1/claims/{claim_id}/documents"):      (401,  401,  401,   403,  403,  201,  201,  403),
    # Back office only; on a claim that does not exist.
    ("POST", "/v1/claims/{claim_id}/decision"):       (401,  401,  401,   403,  403,  403,  404,  403),
    ("POST", "/v1/claims/{claim_id}/payout"):         (401,  401,  401,   403,  403,  403,  404,  403),
    ("POST", "/v1/participants/{participant_id}/payment-orders"):
                                                      (401,  401,  401,   403,  201,  403,  201,  403),
    ("GET",  "/v1/payment-orders/{order_id}"):        (401,  401,  401,   403,  200,  403,  200,  403),
    ("GET",  "/v1/participants/{participant_id}/contributions"):
                                                      (401,  401,  401,   200,  200,  200,  200,  404),
    # Payers: the worker's payer is set/stopped as demo-sponsor (a payer the agent's keys are not:
    # 404, as for any other partner; the back office may act for it); a payer's list and statement
    # (the agent's keys ask for their own partner id: an agent is no payer, 404 as for bulk orders;
    # the back office reads demo-sponsor's).
    ("PUT",  "/v1/participants/{participant_id}/payer"):
                                                      (401,  401,  401,   404,  404,  403,  200,  404),
    ("DELETE", "/v1/participants/{participant_id}/payer"):
                                                      (401,  401,  401,   404,  404,  403,  200,  404),
    # A bulk order (scope pay): the agent's keys are no payer (404); the back office names a
    # worker demo-sponsor does not pay for (422: past every authorization check).
    ("POST", "/v1/payers/{payer_id}/payment-orders"): (401,  401,  401,   403,  404,  403,  422,  403),
    ("GET",  "/v1/payers/{payer_id}/participants"):   (401,  401,  401,   404,  404,  403,  200,  404),
    ("GET",  "/v1/payers/{payer_id}/statement"):      (401,  401,  401,   404,  404,  403,  200,  404),
    ("GET",  "/v1/reconciliation"):                   (401,  401,  401,   403,  403,  403,  200,  403),
    ("POST", "/v1/reconciliation/{item_id}/resolve"): (401,  401,  401,   403,  403,  403,  404,  403),
    # Agents (scope enroll): each cell registers a new code of its own partner; the agent read,
    # deactivated and reactivated is matrix-agent's AG-MATRIX (another partner: 404, as absent).
    ("POST", "/v1/agents"):                           (401,  401,  401,   201,  403,  403,  201,  201),
    ("GET",  "/v1/agents/{agent_code}"):              (401,  401,  401,   200,  403,  403,  200,  404),
    ("POST", "/v1/agents/{agent_code}/deactivate"):   (401,  401,  401,   200,  403,  403,  200,  404),
    ("POST", "/v1/agents/{agent_code}/reactivate"):   (401,  401,  401,   200,  403,  403,  200,  404),
    # Agent reports for January 2026: a partner lists its own agents, the back office everyone's;
    # matrix-agent's AG-MATRIX's performance and statement (another partner: 404, as absent); the
    # coverage report (scope enroll or pay: a partner's own participants, the back office's scheme).
    ("GET",  "/v1/agents"):                           (401,  401,  401,   200,  403,  403,  200,  200),
    ("GET",  "/v1/agents/{agent_code}/performance"):  (401,  401,  401,   200,  403,  403,  200,  404),
    ("GET",  "/v1/agents/{agent_code}/statement"):    (401,  401,  401,   200,  403,  403,  200,  404),
    ("GET",  "/v1/reports/coverage"):                 (401,  401,  401,   200,  200,  403,  200,  200),
    # Public: each provider authenticates itself (its signature, token or HMAC), whatever partner key
    # comes along. Correctly authenticated, for an order that does not exist: 404 for every caller.
    ("POST", "/v1/payments/midtrans"):                (404,  404,  404,   404,  404,  404,  404,  404),
    ("POST", "/v1/payments/xendit"):                  (404,  404,  404,   404,  404,  404,  404,  404),
    ("POST", "/v1/payments/channel"):                 (404,  404,  404,   404,  404,  404,  404,  404),
}
# fmt: on

ERROR_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "already_enrolled",
    422: "validation_error",
    501: "not_implemented",
}
# What a lookup by NIK may tell any partner with scope pay or enroll (cashiers collect dues by NIK).
LOOKUP_FIELDS = {"participant_id", "status"}
PROFILE_FIELDS = {
    "partner_id",
    "agent_code",
    "enrolled_at",
    "programs",
    "sector",
    "next_dues",
    "covered_through",
    "sms_opt_out",
}


def _issue(runtime: LocalRuntime, partner_id: str, scopes: list[Scope]) -> tuple[dict[str, str], Any]:
    return partner_key(runtime, partner_id, scopes)


@dataclass(frozen=True)
class Participant:
    participant_id: str
    body: dict[str, Any]


@dataclass(frozen=True)
class World:
    headers: dict[str, dict[str, str]]  # caller -> headers
    own: Participant  # enrolled by matrix-agent (the partner of the enroll/pay/claims keys)
    foreign: Participant  # enrolled by demo-partner (another partner, for the "other partner" column)
    order_id: str  # a payment order matrix-agent opened for its participant
    claim_id: str  # a claim matrix-agent filed for its participant
    agent: str  # matrix-agent's partner id (the partner of the enroll/pay/claims keys)


@pytest.fixture(scope="module")
def world(api: Api, runtime: LocalRuntime) -> Iterator[World]:
    suffix = uuid.uuid4().hex[:6]
    agent = f"matrix-agent-{suffix}"
    headers: dict[str, dict[str, str]] = {
        "no key": {},
        "unknown key": {"Authorization": f"Bearer unknown-{uuid.uuid4().hex}"},
    }
    for scope in ("enroll", "pay", "claims"):
        headers[scope] = _issue(runtime, agent, [scope])[0]
    headers["backoffice"] = _issue(runtime, f"matrix-backoffice-{suffix}", ["backoffice"])[0]
    headers["other partner"] = _issue(runtime, f"matrix-other-{suffix}", ["enroll"])[0]

    # Revoked: the key worked (so API Gateway cached an Allow policy for it), then was revoked.
    revoked, record = _issue(runtime, f"matrix-revoked-{suffix}", ["enroll", "pay", "claims"])
    assert api.get("/v1/dues/quote?monthly_income=1500000&sector=other", headers=revoked).status_code == 200
    from perisai.partners.repository import PartnerKeyRepository

    PartnerKeyRepository(runtime.outputs()["PartnersTableName"]).revoke(record.partner_id, record.key_id)
    assert api.delete("/_local/authorizer-cache").status_code == 200
    headers["revoked key"] = revoked

    registered = api.post(
        "/v1/agents",
        {"agent_code": MATRIX_AGENT, "name": "Agen Matrix", "phone": "0813-1000-2000", "home_regency": "3273"},
        headers=headers["enroll"],
    )
    assert registered.status_code == 201, registered.text
    own_body = enrollment()
    own = api.enroll(own_body, headers=headers["enroll"])
    assert own.status_code == 201, own.text
    foreign_body = enrollment()
    foreign = api.enroll(foreign_body, headers=PARTNER)
    assert foreign.status_code == 201, foreign.text
    # Twelve months: the payment-orders cells bill one month, another order.
    order = api.post(
        f"/v1/participants/{own.json()['participant_id']}/payment-orders", {"months": 12}, headers=headers["pay"]
    )
    assert order.status_code == 201, order.text
    claim = api.post(
        "/v1/claims",
        {
            "participant_id": own.json()["participant_id"],
            "type": "JKK",
            "incident_date": "2026-01-02",
            "accident": {"kind": "medical"},
        },
        headers={**headers["claims"], "Idempotency-Key": str(uuid.uuid4())},
    )
    assert claim.status_code == 201, claim.text
    yield World(
        headers=headers,
        own=Participant(own.json()["participant_id"], own_body),
        foreign=Participant(foreign.json()["participant_id"], foreign_body),
        order_id=order.json()["order_id"],
        claim_id=claim.json()["claim_id"],
        agent=agent,
    )
    # Let the enrollments' events (welcome SMS, whose claim items land in the participants table)
    # settle here rather than during the next module's tests.
    runtime.delivery.drain()


def _request(world: World, method: str, path: str, caller: str) -> tuple[str, str, dict[str, Any]]:
    """(method, concrete path, requests kwargs) for one cell; a participant route refers to the
    caller's own partner's participant, or, for "other partner", to demo-partner's."""
    target = world.foreign if caller == "other partner" else world.own
    headers = dict(world.headers[caller])
    kwargs: dict[str, Any] = {}
    if (method, path) == ("POST", "/v1/participants"):
        # Another partner's participant: the same NIK again. Everyone else: a new worker.
        kwargs["json"] = dict(target.body) if caller == "other partner" else enrollment()
        headers["Idempotency-Key"] = str(uuid.uuid4())
    elif (method, path) == ("GET", "/v1/participants"):
        kwargs["params"] = {"nik": target.body["nik"]}
    elif path == "/v1/dues/quote":
        kwargs["params"] = {"monthly_income": 1_500_000, "sector": "other"}
    elif path == "/v1/participants/{participant_id}/payment-orders":
        # The back office bills demo-partner's participant: each cell opens its own order (201).
        target = world.foreign if caller in ("other partner", "backoffice") else world.own
        kwargs["json"] = {"months": 1}
    elif path == "/v1/participants/{participant_id}/payer":
        # The next dues month (Asia/Jakarta): unpaid, so a payer may take it over or stop from it.
        from datetime import UTC, datetime

        from perisai.domain.months import DuesMonth

        next_month = str(DuesMonth.of(datetime.now(UTC)).next())
        if method == "PUT":
            kwargs["json"] = {"payer_id": "demo-sponsor", "from_month": next_month}
        else:
            kwargs["params"] = {"from_month": next_month}
    elif path.startswith("/v1/payers/{payer_id}/"):
        payer = "demo-sponsor" if caller == "backoffice" else world.agent
        path = path.replace("{payer_id}", payer)
        if path.endswith("/statement"):
            kwargs["params"] = {"month": "2026-01"}
        if path.endswith("/payment-orders"):
            kwargs["json"] = {"months": 1, "participant_ids": [target.participant_id]}
    elif (method, path) == ("POST", "/v1/agents"):
        kwargs["json"] = {
            "agent_code": f"MX-{uuid.uuid4().hex[:8]}",
            "name": "Agen Matrix",
            "phone": "0813-1000-2000",
            "home_regency": "3273",
        }
    elif path.startswith("/v1/agents/{agent_code}"):
        # matrix-agent's agent; the back office names its partner; another partner names it too.
        kwargs["params"] = {"month": "2026-01"} if path.endswith(("/performance", "/statement")) else {}
        path = path.replace("{agent_code}", MATRIX_AGENT)
        if caller in ("backoffice", "other partner"):
            kwargs["params"]["partner_id"] = world.agent
    elif (method, path) == ("GET", "/v1/agents"):
        kwargs["params"] = {"month": "2026-01"}
    elif path == "/v1/reports/coverage":
        kwargs["params"] = {"month": "2026-01", "by": "agent"}
    elif path == "/v1/reconciliation/{item_id}/resolve":
        kwargs["json"] = {"note": "authorization matrix"}
    elif (method, path) == ("POST", "/v1/claims"):
        # A new incident for each cell: one claim per participant, type and incident.
        kwargs["json"] = {
            "participant_id": target.participant_id,
            "type": "JKK",
            "incident_date": f"2026-02-{CALLERS.index(caller) + 1:02d}",
            "accident": {"kind": "medical", "medical_costs": 100_000},
        }
        headers["Idempotency-Key"] = str(uuid.uuid4())
    elif path == "/v1/claims/{claim_id}/documents":
        kwargs["json"] = {"kind": "medical_bill", "content_type": "application/pdf"}
    elif path == "/v1/claims/{claim_id}/decision":
        kwargs["json"] = {"decision": "approve", "reason": "authorization matrix"}
    elif path == "/v1/claims/{claim_id}/payout":
        kwargs["json"] = {"transfer_reference": "matrix", "paid_at": "2026-03-01T10:00:00+07:00"}
    elif path.startswith("/v1/payments/"):
        kwargs["data"], provider_headers = _provider_callback(path.rsplit("/", 1)[-1])
        headers.update(provider_headers)
    elif method == "POST":
        kwargs["json"] = {}
    concrete = (
        path.replace("{participant_id}", target.participant_id)
        .replace("{claim_id}", "CLM-NOSUCHCLAIM" if path.endswith(("/decision", "/payout")) else world.claim_id)
        .replace("{order_id}", world.order_id)
        .replace("{item_id}", NO_RECONCILIATION_ITEM)
    )
    kwargs["headers"] = headers
    return method, concrete, kwargs


MATRIX_AGENT = "AG-MATRIX"
NO_RECONCILIATION_ITEM = "RCN-20260101000000-0123456789ab"
NO_ORDER = "ORD-MATRIX00000000"


def _provider_callback(provider: str) -> tuple[bytes, dict[str, str]]:
    """A callback the provider authenticates with the local secrets (issue 10 fixes them), signed
    here independently, for an order that does not exist."""
    import hashlib
    import hmac
    import json
    import time

    from stdnum import damm

    if provider == "midtrans":
        amount = "336000.00"
        signature = hashlib.sha512(f"{NO_ORDER}200{amount}local-midtrans-server-key".encode()).hexdigest()
        body = {
            "transaction_time": "2026-01-09 18:21:34",
            "transaction_status": "settlement",
            "transaction_id": f"tx-{uuid.uuid4()}",
            "status_code": "200",
            "signature_key": signature,
            "payment_type": "cstore",
            "order_id": NO_ORDER,
            "gross_amount": amount,
            "currency": "IDR",
            "store": "indomaret",
        }
        return json.dumps(body).encode(), {"Content-Type": "application/json"}
    if provider == "xendit":
        body = {
            "id": f"inv-{uuid.uuid4().hex}",
            "external_id": NO_ORDER,
            "status": "PAID",
            "amount": 336000,
            "paid_amount": 336000,
            "payment_channel": "ALFAMART",
            "paid_at": "2026-01-09T11:21:34.000Z",
            "updated": "2026-01-09T11:21:34.000Z",
            "currency": "IDR",
        }
        headers = {"Content-Type": "application/json", "x-callback-token": "local-xendit-callback-token"}
        return json.dumps(body).encode(), headers
    # A well-formed code (Damm check digit) that no order has.
    code_body = "9" + str(uuid.uuid4().int)[:12]
    body = {
        "payment_code": code_body + damm.calc_check_digit(code_body),
        "amount": 336000,
        "paid_at": "2026-01-09T18:21:34+07:00",
        "channel_reference": f"matrix-{uuid.uuid4().hex}",
    }
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    mac = hmac.new(b"local-channel-secret", timestamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Channel-Id": "demo-channel",
        "X-Timestamp": timestamp,
        "X-Signature": f"sha256={mac}",
    }
    return raw, headers


CELLS = [
    pytest.param(method, path, caller, status, id=f"{method} {path} | {caller}")
    for (method, path), statuses in MATRIX.items()
    for caller, status in zip(CALLERS, statuses, strict=True)
]


@pytest.mark.parametrize(("method", "path", "caller", "expected"), CELLS)
def test_route_answers_each_caller_as_the_table_says(
    api: Api, world: World, method: str, path: str, caller: str, expected: int
) -> None:
    method, concrete, kwargs = _request(world, method, path, caller)
    response = api.http.request(method, api.base + concrete, timeout=30, **kwargs)
    assert response.status_code == expected, f"{method} {concrete} as {caller}: {response.status_code} {response.text}"
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    body = response.json()
    if expected >= 400:
        assert body["error"] == ERROR_CODES[expected], body
        assert isinstance(body["message"], str)
    if path.startswith("/v1/payments/"):
        # Authenticated (not 401) and parsed (not 400): the order is what does not exist.
        assert body["message"] == "payment order not found", body
    if expected in (401, 403) and method == "POST" and path == "/v1/participants":
        # A refused enrollment wrote nothing: the back office cannot find the NIK.
        nik = kwargs["json"]["nik"]
        assert api.get("/v1/participants", headers=BACKOFFICE, params={"nik": nik}).status_code == 404
    if caller == "other partner":
        _assert_reveals_nothing_of(world.foreign, response)


def _assert_reveals_nothing_of(participant: Participant, response: requests.Response) -> None:
    """What another partner learns of a participant: at most its id and status, by NIK lookup."""
    body = response.json()
    if isinstance(body, dict) and body.get("participant_id") == participant.participant_id:
        assert set(body) == LOOKUP_FIELDS, f"another partner read {sorted(set(body) - LOOKUP_FIELDS)}"
    elif response.request.url and "/v1/participants" in response.request.url:
        assert participant.participant_id not in response.text, response.text
    for value in (participant.body["nik"], participant.body["full_name"], "81234567890"):
        assert value not in response.text


def test_the_table_matches_the_scopes_of_the_served_document(api: Api) -> None:
    document = api.get("/v1/openapi.json").json()
    operations = {
        (method.upper(), path): operation
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    }
    assert set(MATRIX) == set(operations), "the table must list every documented operation, and only those"
    for route, statuses in MATRIX.items():
        expected = dict(zip(CALLERS, statuses, strict=True))
        security = operations[route].get("security", document.get("security", []))
        public = security == []
        scopes = {scope for requirement in security for scope in requirement.get("PartnerKey", [])}
        for caller in KEYLESS_CALLERS:
            assert (expected[caller] == 401) != public, (route, caller, expected[caller])
        for caller in SCOPE_CALLERS:
            opened = public or caller == "backoffice" or caller in scopes
            assert (expected[caller] == 403) != opened, (route, caller, expected[caller], sorted(scopes))
            assert expected[caller] != 401
        documented = set(operations[route]["responses"])
        assert {str(s) for s in statuses} <= documented, (route, sorted(documented))


def test_no_other_partner_reads_a_participant_by_any_route(api: Api, runtime: LocalRuntime, world: World) -> None:
    """demo-partner's participant, asked for by another partner holding every non-back-office scope."""
    target = world.foreign
    nosy = _issue(runtime, f"matrix-nosy-{uuid.uuid4().hex[:6]}", ["enroll", "pay", "claims"])[0]
    absent = api.get("/v1/participants/PST-000000000000", headers=nosy)

    view = api.get(f"/v1/participants/{target.participant_id}", headers=nosy)
    assert view.status_code == 404
    assert view.json() == absent.json(), "another partner's participant must look exactly like no participant"

    found = api.get("/v1/participants", headers=nosy, params={"nik": target.body["nik"]})
    assert found.status_code == 200
    assert found.json() == {"participant_id": target.participant_id, "status": "pending_payment"}

    again = api.enroll(dict(target.body), headers=nosy)
    assert again.status_code == 409 and again.json()["error"] == "already_enrolled"
    assert target.participant_id not in again.text

    for response in (view, found, again):
        assert not PROFILE_FIELDS & set(response.json()), response.text
        for value in (target.body["nik"], target.body["full_name"], "81234567890"):
            assert value not in response.text

    # The enrolling partner and the back office do see it.
    for headers in (PARTNER, BACKOFFICE, world.headers["backoffice"]):
        own = api.get(f"/v1/participants/{target.participant_id}", headers=headers)
        assert own.status_code == 200, own.text
        assert own.json()["partner_id"] == "demo-partner"
