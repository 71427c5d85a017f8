"""Concurrent enrollment interleavings (hypothesis): small schedules of attempts for 1-3 NIKs
from 1-2 partners, with Idempotency-Keys from a small pool and bodies that sometimes differ,
each batch fired at once through the local runtime over HTTP.

Invariants, whatever the interleaving:

- every answer is 200, 201, 409 (already_enrolled, request_in_progress) or 422
  (idempotency_key_reused); never a 5xx;
- a NIK that got any 201 has exactly one participant (and one NIK item pointing at it); a NIK
  that got none has none;
- every (partner, Idempotency-Key) answers with one participant id across all its 201s, and
  creates at most one participant;
- a key reused with another body never creates anything: once a key has been used with one
  body, another body under that key gets 422 idempotency_key_reused (or, overlapping the first,
  409 request_in_progress), never a 201.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import PARTNER, Api, enrollment, partner_key, scan_all
from tests.helpers.concurrency import fire_all

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

KEY_POOL = 3
ALLOWED = {
    200: {None},  # reactivation (not generated here, but a legitimate answer)
    201: {None},
    409: {"already_enrolled", "request_in_progress"},
    422: {"idempotency_key_reused"},
}
SECOND_PARTNER = "interleave-retail"


@dataclass(frozen=True)
class Attempt:
    nik: int  # index into this example's NIKs
    partner: int  # 0: demo-partner, 1: SECOND_PARTNER
    key: int  # index into this example's key pool
    variant: int  # 0: the NIK's base body, 1: the same worker with another occupation


@st.composite
def schedules(draw: st.DrawFn) -> list[list[Attempt]]:
    niks = draw(st.integers(1, 3))
    partners = draw(st.integers(1, 2))
    attempt = st.builds(
        Attempt,
        nik=st.integers(0, niks - 1),
        partner=st.integers(0, partners - 1),
        key=st.integers(0, KEY_POOL - 1),
        variant=st.sampled_from([0, 0, 1]),  # differing bodies now and then
    )
    return draw(st.lists(st.lists(attempt, min_size=1, max_size=6), min_size=1, max_size=3))


@pytest.fixture(scope="module")
def partners(runtime: LocalRuntime) -> list[tuple[str, dict[str, str]]]:
    return [("demo-partner", PARTNER), (SECOND_PARTNER, partner_key(runtime, SECOND_PARTNER, ["enroll"])[0])]


@pytest.fixture(scope="module")
def nik_secret(runtime: LocalRuntime) -> bytes:
    from perisai.settings import EnrollEnv

    secret = runtime.cloud.client("secretsmanager").get_secret_value(SecretId=EnrollEnv.load().nik_hmac_secret_arn)
    return secret["SecretString"].encode()


def _table_items(runtime: LocalRuntime, nik_hashes: list[str], request_ids: list[str]) -> list[dict[str, Any]]:
    """Every item of these NIKs or made under these requests (a filtered scan: all items are seen)."""
    values: dict[str, Any] = {}
    for prefix, strings in (("h", nik_hashes), ("n", [f"NIK#{h}" for h in nik_hashes]), ("r", request_ids)):
        values |= {f":{prefix}{i}": {"S": v} for i, v in enumerate(strings)}

    def among(prefix: str) -> str:
        return "(" + ", ".join(k for k in values if k.startswith(f":{prefix}")) + ")"

    return scan_all(
        runtime,
        FilterExpression=f"nik_hash IN {among('h')} OR pk IN {among('n')} OR enrollment_request IN {among('r')}",
        ExpressionAttributeValues=values,
    )


def _request_id(partner_id: str, key: str) -> str:
    # functions/enroll/handler.enrollment_request_id: what a participant records as its enrolling request
    return hashlib.sha256(f"{partner_id}:{key}".encode()).hexdigest()[:32]


@settings(
    max_examples=20,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(schedule=schedules())
def test_concurrent_enrollment_interleavings_keep_the_invariants(
    runtime: LocalRuntime, partners: list[tuple[str, dict[str, str]]], nik_secret: bytes, schedule: list[list[Attempt]]
) -> None:
    url = runtime.url + "/v1/participants"
    bases = [enrollment() for _ in range(3)]  # fresh NIKs for every example
    bodies = {(n, v): {**bases[n], **({"occupation": "pedagang pasar"} if v else {})} for n in range(3) for v in (0, 1)}
    run = uuid.uuid4().hex[:12]
    keys = [f"ilv-{run}-{k}" for k in range(KEY_POOL)]

    def send(attempt: Attempt) -> tuple[int, dict[str, Any]]:
        _, headers = partners[attempt.partner]
        response = requests.post(
            url,
            json=bodies[(attempt.nik, attempt.variant)],
            headers={**headers, "Idempotency-Key": keys[attempt.key]},
            timeout=60,
        )
        return response.status_code, response.json()

    log: list[tuple[int, Attempt, int, dict[str, Any]]] = []  # (batch, attempt, status, body)
    for batch_no, batch in enumerate(schedule):
        answers = fire_all([lambda a=a: send(a) for a in batch])
        log += [(batch_no, a, status, body) for a, (status, body) in zip(batch, answers, strict=True)]

    # Every answer is an expected one; never a 5xx.
    for _, attempt, status, body in log:
        assert status in ALLOWED, (attempt, status, body)
        assert body.get("error") in ALLOWED[status], (attempt, status, body)

    hashes = [hmac.new(nik_secret, base["nik"].encode(), hashlib.sha256).hexdigest() for base in bases]
    request_ids = [_request_id(partner_id, key) for partner_id, _ in partners for key in keys]
    items = _table_items(runtime, hashes, request_ids)
    for n in {a.nik for b in schedule for a in b}:
        nik_hash = hashes[n]
        stored = [i for i in items if i.get("entity", {}).get("S") == "participant" and i["nik_hash"]["S"] == nik_hash]
        nik_items = [i for i in items if i["pk"]["S"] == f"NIK#{nik_hash}"]
        created = {body["participant_id"] for _, a, status, body in log if a.nik == n and status == 201}
        if created:
            # One participant per NIK, whoever asked and however often.
            assert len(created) == 1, (n, created)
            assert len(stored) == 1 and len(nik_items) == 1, (n, len(stored), len(nik_items))
            assert stored[0]["participant_id"]["S"] == nik_items[0]["participant_id"]["S"] == next(iter(created))
        else:
            assert stored == [] and nik_items == [], (n, stored, nik_items)

    for p, (partner_id, _) in enumerate(partners):
        for k, key in enumerate(keys):
            uses = [(batch_no, a, status, body) for batch_no, a, status, body in log if (a.partner, a.key) == (p, k)]
            if not uses:
                continue
            # One key, one participant, across all its 201s.
            ids = {body["participant_id"] for _, _, status, body in uses if status == 201}
            assert len(ids) <= 1, (partner_id, key, ids)
            by_request = [
                i
                for i in items
                if i.get("entity", {}).get("S") == "participant"
                and i.get("enrollment_request", {}).get("S") == _request_id(partner_id, key)
            ]
            assert len(by_request) <= 1, (partner_id, key, len(by_request))
            # A key reused with another body creates nothing: what the key created (if anything) is
            # a body it was first used with (its earliest batch), and later uses with another body
            # are refused, or at most replay the key's answer.
            first_batch = min(batch_no for batch_no, *_ in uses)
            first_bodies = {(a.nik, a.variant) for batch_no, a, *_ in uses if batch_no == first_batch}
            if by_request:
                made = by_request[0]
                made_from = {
                    (n, v)
                    for (n, v), body in bodies.items()
                    if made["occupation"]["S"] == body["occupation"] and made["nik_hash"]["S"] == hashes[n]
                }
                assert made_from & first_bodies, (partner_id, key, "reused key created", made_from, first_bodies, log)
            for batch_no, a, status, body in uses:
                if batch_no > first_batch and (a.nik, a.variant) not in first_bodies:
                    assert status in (409, 422) or body.get("participant_id") in ids, (partner_id, key, a, body)


def test_a_key_refused_as_already_enrolled_stays_used(api: Api) -> None:
    """The sequence hypothesis found: key K is refused (409 already_enrolled, the NIK is taken);
    K is then sent with another worker's body. It must get 422 idempotency_key_reused (README:
    "with another body it gets 422"), not enroll the other worker; the same body replays 409."""
    taken = enrollment()
    assert api.enroll(taken).status_code == 201
    key = f"ilv-{uuid.uuid4().hex}"
    refused = api.enroll(taken, key=key)
    assert refused.status_code == 409 and refused.json()["error"] == "already_enrolled"
    other = api.enroll(enrollment(), key=key)
    assert other.status_code == 422, other.text
    assert other.json()["error"] == "idempotency_key_reused"
    again = api.enroll(taken, key=key)
    assert again.status_code == 409 and again.json()["error"] == "already_enrolled"
