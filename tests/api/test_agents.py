"""The Agen Perisai registry over HTTP through the local runtime: registration, codes unique per
partner whatever their case, who sees which agent, deactivation and reactivation, enrollments
naming agents, and the daily inactivity job at chosen instants. Each test uses partners of its
own, so what a partner sees is exactly what the test did."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from tests.api.conftest import BACKOFFICE, Api, enrollment, partner_key

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime


def _partner(runtime: LocalRuntime) -> tuple[str, dict[str, str]]:
    partner_id = f"agen-{uuid.uuid4().hex[:8]}"
    headers, _ = partner_key(runtime, partner_id, ["enroll", "pay"], channel="agent_network")
    return partner_id, headers


def _agent(code: str, **overrides: Any) -> dict[str, Any]:
    return {
        "agent_code": code,
        "name": "Dewi Lestari",
        "phone": "0812-7000-3001",
        "home_regency": "3273",
        "cooperative": "Koperasi Maju Bersama",
        **overrides,
    }


def _item(runtime: LocalRuntime, partner_id: str, code: str) -> dict[str, Any] | None:
    from perisai.dynamo import from_item

    item = (
        runtime.cloud.client("dynamodb")
        .get_item(
            TableName=runtime.outputs()["ParticipantsTableName"],
            Key={"pk": {"S": "AGENTS"}, "sk": {"S": f"{partner_id}#{code}"}},
        )
        .get("Item")
    )
    return from_item(item) if item else None


def _run_inactivity(api: Api, at: str) -> dict[str, Any]:
    response = api.http.post(f"{api.base}/_local/schedules/agent-inactivity/run", json={"at": at}, timeout=300)
    assert response.status_code == 200, response.text
    result = dict(response.json())
    assert result["succeeded"] and all(i["ok"] for i in result["invocations"]), result
    return result


def _activity(runtime: LocalRuntime, partner_id: str, code: str, month: str) -> None:
    """What the aggregator does when a recruit of the agent is acquired or pays."""
    from perisai.agents.repository import AgentRepository

    table = runtime.outputs()["ParticipantsTableName"]
    AgentRepository(table, dynamodb=runtime.cloud.client("dynamodb")).activity_update(partner_id, code, month)


# -- registration ------------------------------------------------------------------------------


def test_a_partner_registers_an_agent_as_active_stored_as_the_contract_says(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2027-01-31T23:30:00+07:00")  # still January in Jakarta (16:30 UTC)
    partner_id, headers = _partner(runtime)
    response = api.post("/v1/agents", _agent("Agen-Bdg-01"), headers=headers)
    assert response.status_code == 201, response.text
    view = response.json()
    assert view == {
        "agent_code": "Agen-Bdg-01",
        "partner_id": partner_id,
        "name": "Dewi Lestari",
        "phone": "+62812*****001",
        "home_regency": "3273",
        "cooperative": "Koperasi Maju Bersama",
        "status": "active",
        "status_reason": "registered",
        "status_note": None,
        "registered_at": view["registered_at"],
        "updated_at": view["registered_at"],
        "last_activity_month": "2027-01",
    }
    assert view["registered_at"].startswith("2027-01-31T16:30")
    item = _item(runtime, partner_id, "AGEN-BDG-01")
    assert item is not None
    assert item["entity"] == "agent" and item["agent_code"] == "Agen-Bdg-01"
    assert item["phone"] == "+6281270003001"  # E.164, as enrollment stores phones
    assert (item["gsi1pk"], item["gsi1sk"]) == ("AGENTLAST#2027-01", f"{partner_id}#AGEN-BDG-01")
    assert (item["gsi3pk"], item["gsi3sk"]) == ("AGENTCODE#AGEN-BDG-01", f"{partner_id}#AGEN-BDG-01")
    assert (item["status"], item["version"]) == ("active", 1)

    # The same registration again (a retry) answers the agent as registered, and writes nothing.
    again = api.post("/v1/agents", _agent("Agen-Bdg-01"), headers=headers)
    assert again.status_code == 200, again.text
    assert again.json() == view
    assert _item(runtime, partner_id, "AGEN-BDG-01") == item


def test_codes_are_unique_per_partner_whatever_their_case(api: Api, runtime: LocalRuntime) -> None:
    partner_id, headers = _partner(runtime)
    other_id, other = _partner(runtime)
    assert api.post("/v1/agents", _agent("AG-7"), headers=headers).status_code == 201
    for body in (_agent("ag-7"), _agent("Ag-7", name="Someone Else"), _agent("AG-7", phone="0813-5555-0001")):
        taken = api.post("/v1/agents", body, headers=headers)
        assert taken.status_code == 409, taken.text
        assert taken.json()["error"] == "agent_exists"
    assert _item(runtime, partner_id, "AG-7")["name"] == "Dewi Lestari"  # type: ignore[index]  # registered above
    # Another partner may use the same code for its own agent.
    theirs = api.post("/v1/agents", _agent("ag-7", name="Rudi"), headers=other)
    assert theirs.status_code == 201, theirs.text
    assert theirs.json()["partner_id"] == other_id


def test_an_agent_is_seen_by_its_partner_and_the_back_office_only(api: Api, runtime: LocalRuntime) -> None:
    partner_id, headers = _partner(runtime)
    _, nosy = _partner(runtime)
    assert api.post("/v1/agents", _agent("POS-12"), headers=headers).status_code == 201
    own = api.get("/v1/agents/pos-12", headers)  # any case
    assert own.status_code == 200 and own.json()["agent_code"] == "POS-12"
    absent = api.get("/v1/agents/NO-SUCH-AGENT", nosy)
    for response in (
        api.get("/v1/agents/POS-12", nosy),
        api.get("/v1/agents/POS-12", nosy, params={"partner_id": partner_id}),
        api.post(f"/v1/agents/POS-12/deactivate?partner_id={partner_id}", headers=nosy),
        api.post(f"/v1/agents/POS-12/reactivate?partner_id={partner_id}", headers=nosy),
    ):
        assert response.status_code == 404, response.text
        assert response.json() == {**absent.json(), "message": response.json()["message"]}
        assert "Dewi" not in response.text
    assert absent.json()["error"] == "not_found"
    by_backoffice = api.get("/v1/agents/POS-12", BACKOFFICE, params={"partner_id": partner_id})
    assert by_backoffice.status_code == 200 and by_backoffice.json() == own.json()
    assert _item(runtime, partner_id, "POS-12")["status"] == "active"  # type: ignore[index]  # registered above


def test_the_back_office_naming_a_code_alone_gets_the_one_partner_that_has_it(api: Api, runtime: LocalRuntime) -> None:
    code = f"BK-{uuid.uuid4().hex[:8].upper()}"
    first, first_headers = _partner(runtime)
    assert api.post("/v1/agents", _agent(code), headers=first_headers).status_code == 201
    seen = api.get(f"/v1/agents/{code.lower()}", BACKOFFICE)
    assert seen.status_code == 200 and seen.json() == api.get(f"/v1/agents/{code}", first_headers).json()
    performance = api.get(f"/v1/agents/{code}/performance", BACKOFFICE, params={"month": "2026-12"})
    assert performance.status_code == 200 and performance.json()["agent_code"] == code
    statement = api.get(f"/v1/agents/{code}/statement", BACKOFFICE, params={"month": "2026-12"})
    assert statement.status_code == 200 and statement.json()["partner_id"] == first
    deactivated = api.post(f"/v1/agents/{code}/deactivate", headers=BACKOFFICE)
    assert deactivated.status_code == 200 and deactivated.json()["status"] == "inactive"
    assert _item(runtime, first, code)["status"] == "inactive"  # type: ignore[index]  # registered above
    assert api.post(f"/v1/agents/{code}/reactivate", headers=BACKOFFICE).json()["status"] == "active"

    # Codes are unique per partner only: once two partners have it, the back office names one.
    second, second_headers = _partner(runtime)
    assert api.post("/v1/agents", _agent(code), headers=second_headers).status_code == 201
    for response in (
        api.get(f"/v1/agents/{code}", BACKOFFICE),
        api.get(f"/v1/agents/{code}/performance", BACKOFFICE, params={"month": "2026-12"}),
        api.post(f"/v1/agents/{code}/deactivate", headers=BACKOFFICE),
    ):
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["fields"]] == ["partner_id"]
    named = api.get(f"/v1/agents/{code}", BACKOFFICE, params={"partner_id": second})
    assert named.status_code == 200 and named.json()["partner_id"] == second
    assert _item(runtime, first, code)["status"] == "active"  # type: ignore[index]  # the refusal changed nothing
    assert api.get(f"/v1/agents/NO-{code}", BACKOFFICE).status_code == 404


def test_the_back_office_registers_an_agent_for_a_partner_it_names(api: Api, runtime: LocalRuntime) -> None:
    partner_id, headers = _partner(runtime)
    registered = api.post("/v1/agents", {**_agent("BO-1"), "partner_id": partner_id}, headers=BACKOFFICE)
    assert registered.status_code == 201, registered.text
    assert registered.json()["partner_id"] == partner_id
    assert api.get("/v1/agents/BO-1", headers).json() == registered.json()
    unknown = api.post("/v1/agents", {**_agent("BO-2"), "partner_id": "no-such-partner-x"}, headers=BACKOFFICE)
    assert unknown.status_code == 422 and [f["field"] for f in unknown.json()["fields"]] == ["partner_id"]
    # A partner registers only its own agents.
    for_another = api.post("/v1/agents", {**_agent("BO-3"), "partner_id": "demo-partner"}, headers=headers)
    assert for_another.status_code == 422 and [f["field"] for f in for_another.json()["fields"]] == ["partner_id"]
    assert _item(runtime, "no-such-partner-x", "BO-2") is None and _item(runtime, "demo-partner", "BO-3") is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (_agent("AG 1"), "agent_code"),
        (_agent("AG_1"), "agent_code"),
        (_agent("A" * 33), "agent_code"),
        (_agent("AG"), "agent_code"),
        (_agent("AG-1", name="   "), "name"),
        (_agent("AG-1", phone="12345"), "phone"),
        (_agent("AG-1", phone="021-555-1234"), "phone"),  # a Jakarta landline
        (_agent("AG-1", home_regency="9999"), "home_regency"),
        (_agent("AG-1", home_regency="32730"), "home_regency"),
        (_agent("AG-1", home_regency=3273), "home_regency"),
        (_agent("AG-1", cooperative=""), "cooperative"),
        (_agent("AG-1", partner_id="Not A Partner"), "partner_id"),
        ({"name": "Dewi", "phone": "0812-7000-3001", "home_regency": "3273"}, "agent_code"),
    ],
)
def test_bad_input_is_422_naming_the_field_and_writes_nothing(
    api: Api, runtime: LocalRuntime, body: dict[str, Any], field: str
) -> None:
    partner_id, headers = _partner(runtime)
    response = api.post("/v1/agents", body, headers=headers)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["fields"]] == [field]
    assert _item(runtime, partner_id, "AG-1") is None


def test_a_bad_code_or_body_on_the_other_routes_is_422_naming_it(api: Api, runtime: LocalRuntime) -> None:
    _, headers = _partner(runtime)
    assert api.post("/v1/agents", _agent("AG-5"), headers=headers).status_code == 201
    for response, field in (
        (api.get("/v1/agents/AG_5", headers), "agent_code"),
        (api.get("/v1/agents/AG-5", headers, params={"partner_id": "Bad Partner"}), "partner_id"),
        (api.post("/v1/agents/AG_5/deactivate", headers=headers), "agent_code"),
        (api.post("/v1/agents/AG-5/deactivate", {"reason": ""}, headers=headers), "reason"),
        (api.post("/v1/agents/AG-5/reactivate", [{}], headers=headers), "body"),
    ):
        assert response.status_code == 422, response.text
        assert [f["field"] for f in response.json()["fields"]] == [field]
    assert api.get("/v1/agents/AG-5", headers).json()["status"] == "active"


# -- deactivation and reactivation -------------------------------------------------------------


def test_deactivation_and_reactivation_are_idempotent_and_move_the_agent_in_and_out_of_the_index(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2027-02-10T10:00:00+07:00")
    partner_id, headers = _partner(runtime)
    assert api.post("/v1/agents", _agent("AG-9"), headers=headers).status_code == 201

    off = api.post("/v1/agents/ag-9/deactivate", {"reason": "moved to Jakarta"}, headers=headers)
    assert off.status_code == 200, off.text
    assert (off.json()["status"], off.json()["status_reason"], off.json()["status_note"]) == (
        "inactive",
        "deactivated",
        "moved to Jakarta",
    )
    item = _item(runtime, partner_id, "AG-9")
    assert item is not None and item["version"] == 2 and "gsi1pk" not in item and "gsi1sk" not in item
    again = api.post("/v1/agents/AG-9/deactivate", headers=headers)  # no body
    assert again.status_code == 200 and again.json() == off.json()
    assert _item(runtime, partner_id, "AG-9") == item  # nothing written

    frozen_clock("2027-07-03T10:00:00+07:00")
    on = api.post("/v1/agents/AG-9/reactivate", {}, headers=headers)
    assert on.status_code == 200, on.text
    # The inactivity clock starts again: the last activity month is the reactivation month.
    assert (on.json()["status"], on.json()["status_reason"], on.json()["last_activity_month"]) == (
        "active",
        "reactivated",
        "2027-07",
    )
    item = _item(runtime, partner_id, "AG-9")
    assert item is not None and item["version"] == 3 and item["gsi1pk"] == "AGENTLAST#2027-07"
    assert api.post("/v1/agents/AG-9/reactivate", headers=headers).json() == on.json()
    assert _item(runtime, partner_id, "AG-9") == item
    assert api.post("/v1/agents/NOPE-1/deactivate", headers=headers).status_code == 404


# -- enrollments name registered, active agents -------------------------------------------------


def test_an_enrollment_names_only_an_active_agent_of_its_partner(api: Api, runtime: LocalRuntime) -> None:
    partner_id, headers = _partner(runtime)
    _, other = _partner(runtime)
    assert api.post("/v1/agents", _agent("Agen-42"), headers=other).status_code == 201  # another partner's

    for code in ("AGEN-404", "AGEN-42"):  # unknown; registered by another partner only
        body = enrollment(agent_code=code)
        refused = api.enroll(body, headers=headers)
        assert refused.status_code == 422, refused.text
        assert [f["field"] for f in refused.json()["fields"]] == ["agent_code"]
        assert api.get("/v1/participants", BACKOFFICE, params={"nik": body["nik"]}).status_code == 404

    assert api.post("/v1/agents", _agent("AGEN-42"), headers=headers).status_code == 201
    enrolled = api.enroll(enrollment(agent_code="agen-42"), headers=headers)  # any case
    assert enrolled.status_code == 201, enrolled.text
    assert enrolled.json()["agent_code"] == "AGEN-42"

    assert api.post("/v1/agents/AGEN-42/deactivate", headers=headers).status_code == 200
    body = enrollment(agent_code="AGEN-42")
    inactive = api.enroll(body, headers=headers)
    assert inactive.status_code == 422 and [f["field"] for f in inactive.json()["fields"]] == ["agent_code"]
    assert "inactive" in inactive.json()["fields"][0]["message"]
    assert api.get("/v1/participants", BACKOFFICE, params={"nik": body["nik"]}).status_code == 404
    assert _item(runtime, partner_id, "AGEN-42")["status"] == "inactive"  # type: ignore[index]  # registered above


def test_a_retried_enrollment_is_answered_as_first_even_after_its_agent_was_deactivated(
    api: Api, runtime: LocalRuntime
) -> None:
    _, headers = _partner(runtime)
    assert api.post("/v1/agents", _agent("AG-R"), headers=headers).status_code == 201
    body = enrollment(agent_code="AG-R")
    key = str(uuid.uuid4())
    first = api.enroll(body, headers=headers, key=key)
    assert first.status_code == 201, first.text
    assert api.post("/v1/agents/AG-R/deactivate", headers=headers).status_code == 200
    retried = api.enroll(body, headers=headers, key=key)
    assert retried.status_code == 201 and retried.json() == first.json()


# -- the daily inactivity job -------------------------------------------------------------------


def test_the_job_flags_agents_after_three_whole_months_without_activity_and_not_before(
    api: Api, runtime: LocalRuntime, frozen_clock: Callable[[str], None]
) -> None:
    frozen_clock("2031-01-20T10:00:00+07:00")
    partner_id, headers = _partner(runtime)
    for code in ("QUIET-1", "BUSY-1", "LATE-1", "OFF-1"):
        assert api.post("/v1/agents", _agent(code), headers=headers).status_code == 201
    assert api.post("/v1/agents/OFF-1/deactivate", headers=headers).status_code == 200
    _activity(runtime, partner_id, "BUSY-1", "2031-03")  # a recruit paid in March
    _activity(runtime, partner_id, "BUSY-1", "2031-02")  # a late event: the month never moves back
    _activity(runtime, partner_id, "OFF-1", "2031-02")  # inactive: the month only, never the index
    _activity(runtime, partner_id, "NOBODY-1", "2031-02")  # no such agent: nothing happens
    busy = _item(runtime, partner_id, "BUSY-1")
    assert busy is not None and (busy["last_activity_month"], busy["gsi1pk"], busy["version"]) == (
        "2031-03",
        "AGENTLAST#2031-03",
        2,
    )
    off = _item(runtime, partner_id, "OFF-1")
    assert off is not None and off["last_activity_month"] == "2031-02" and "gsi1pk" not in off
    assert _item(runtime, partner_id, "NOBODY-1") is None

    def statuses() -> dict[str, tuple[str, str]]:
        found = {}
        for code in ("QUIET-1", "BUSY-1", "LATE-1", "OFF-1"):
            item = _item(runtime, partner_id, code)
            assert item is not None
            found[code] = (item["status"], item["status_reason"])
        return found

    # January's last activity: February, March and April must all pass. On 30 April they have not.
    _run_inactivity(api, "2031-04-30T01:00:00+07:00")
    assert statuses()["QUIET-1"] == ("active", "registered")
    # LATE-1 recruits someone on the last day of April, before the 1 May run.
    _activity(runtime, partner_id, "LATE-1", "2031-04")

    _run_inactivity(api, "2031-05-01T01:00:00+07:00")
    assert statuses() == {
        "QUIET-1": ("inactive", "no_activity"),
        "BUSY-1": ("active", "registered"),
        "LATE-1": ("active", "registered"),
        "OFF-1": ("inactive", "deactivated"),  # deactivated by its partner: left as it is
    }
    quiet = _item(runtime, partner_id, "QUIET-1")
    assert quiet is not None and "gsi1pk" not in quiet and quiet["version"] == 2
    # A flagged agent may not be named by enrollments; a second run the same day changes nothing.
    refused = api.enroll(enrollment(agent_code="QUIET-1"), headers=headers)
    assert refused.status_code == 422 and refused.json()["fields"][0]["field"] == "agent_code"
    _run_inactivity(api, "2031-05-01T01:00:00+07:00")
    assert _item(runtime, partner_id, "QUIET-1") == quiet

    # BUSY-1 (March): flagged on 1 July, not on 30 June.
    _run_inactivity(api, "2031-06-30T01:00:00+07:00")
    assert statuses()["BUSY-1"] == ("active", "registered")
    # A run missed for months is caught up: LATE-1 (April) qualifies from 1 August.
    _run_inactivity(api, "2031-09-14T01:00:00+07:00")
    assert statuses()["BUSY-1"] == ("inactive", "no_activity")
    assert statuses()["LATE-1"] == ("inactive", "no_activity")

    # Reactivated, the agent gets a fresh three months from the reactivation month.
    frozen_clock("2031-09-14T09:00:00+07:00")
    assert api.post("/v1/agents/QUIET-1/reactivate", headers=headers).json()["last_activity_month"] == "2031-09"
    _run_inactivity(api, "2031-12-31T01:00:00+07:00")
    assert statuses()["QUIET-1"] == ("active", "reactivated")
    _run_inactivity(api, "2032-01-01T01:00:00+07:00")
    assert statuses()["QUIET-1"] == ("inactive", "no_activity")


def test_the_schedule_is_defined_by_the_stack(api: Api) -> None:
    schedules = {s["name"]: s for s in api.get("/_local/schedules").json()}
    schedule = schedules["agent-inactivity"]
    assert schedule["expression"] == "cron(0 1 * * ? *)"
    assert schedule["timezone"] == "Asia/Jakarta" and schedule["enabled"]
