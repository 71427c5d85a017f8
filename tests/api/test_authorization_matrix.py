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
    ("GET",  "/v1/dues/quote"):                       (401,  401,  401,   200,  200,  403,  200,  200),
    ("POST", "/v1/claims"):                           (401,  401,  401,   403,  403,  501,  501,  403),
    ("GET",  "/v1/claims/{claim_id}"):                (401,  401,  401,   403,  403,  501,  501,  403),
    ("POST", "/v1/payments/midtrans/notifications"):  (501,  501,  501,   501,  501,  501,  501,  501),
    ("POST", "/v1/payments/xendit/callbacks"):        (501,  501,  501,   501,  501,  501,  501,  501),
}
# fmt: on

ERROR_CODES = {
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    409: "already_enrolled",
    501: "not_implemented",
}
# What a lookup by NIK may tell any partner with scope pay or enroll (cashiers collect dues by NIK).
LOOKUP_FIELDS = {"participant_id", "status"}
PROFILE_FIELDS = {"partner_id", "agent_code", "enrolled_at", "programs", "sector", "next_dues", "covered_through"}


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

    own_body = enrollment()
    own = api.enroll(own_body, headers=headers["enroll"])
    assert own.status_code == 201, own.text
    foreign_body = enrollment()
    foreign = api.enroll(foreign_body, headers=PARTNER)
    assert foreign.status_code == 201, foreign.text
    yield World(
        headers=headers,
        own=Participant(own.json()["participant_id"], own_body),
        foreign=Participant(foreign.json()["participant_id"], foreign_body),
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
    elif method == "POST":
        kwargs["json"] = {}
    concrete = path.replace("{participant_id}", target.participant_id).replace("{claim_id}", "CLM-0001")
    kwargs["headers"] = headers
    return method, concrete, kwargs


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
