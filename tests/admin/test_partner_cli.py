"""The partner-key CLI against the real local runtime: keys it creates and revokes are seen by the
emulated API Gateway (TOKEN authorizer with its result cache) on the very next request."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from perisai_admin import partner_cli
from perisai_admin.partner_cli import main

QUOTE = "/v1/dues/quote?monthly_income=1500000&sector=other"


@pytest.fixture(scope="module")
def local(runtime: Any) -> tuple[Any, Path]:
    """The session's local runtime (tests/conftest.py) and the local.json it wrote, as `make dev` does.

    One runtime per test process: moto's backends are process-wide, so a second LocalRuntime in the
    same process fails creating tables that already exist."""
    state_file = runtime._state_file  # a tmp path, never the repo's .perisai/local.json
    assert state_file is not None and state_file.is_file()
    return runtime, state_file


def _document(out: str) -> Any:
    """The CLI's JSON document: indented, so its first line is a lone ``{``. The runtime shares this
    process, so its access log and handler logs (one line each) may surround it on stdout."""
    lines = out.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.rstrip() == "{":
            return json.JSONDecoder().raw_decode("".join(lines[i:]))[0]
    return None


@pytest.fixture
def cli(local: tuple[Any, Path], capsys: pytest.CaptureFixture[str]) -> Any:
    _, state_file = local

    def run(*args: str) -> tuple[int, Any, str]:
        capsys.readouterr()  # drop what the runtime logged before this command
        code = main([*args, "--local", "--state-file", str(state_file)])
        captured = capsys.readouterr()
        run.stdout = captured.out  # type: ignore[attr-defined]  # the last command's raw stdout, for tests that read it
        return code, _document(captured.out), captured.err

    return run


def create(cli: Any, partner_id: str, scopes: str, channel: str = "agent_network") -> dict[str, Any]:
    code, out, err = cli(
        "create",
        "--partner-id",
        partner_id,
        "--name",
        f"Partner {partner_id}",
        "--channel",
        channel,
        "--scopes",
        scopes,
    )
    assert code == 0, err
    return out


def quote(runtime: Any, key: str) -> tuple[int, Any]:
    request = urllib.request.Request(runtime.url + QUOTE, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())  # every error of the API has a JSON body


def scan_partners(runtime: Any) -> list[dict[str, Any]]:
    client = runtime.cloud.client("dynamodb")
    return client.scan(TableName=runtime.outputs()["PartnersTableName"])["Items"]


@pytest.mark.parametrize("scopes", ["enroll", "pay", "pay,enroll,claims"])
def test_created_key_calls_a_route_its_scopes_allow(local: tuple[Any, Path], cli: Any, scopes: str) -> None:
    from perisai.partners.keys import key_hash, key_id

    runtime, _ = local
    partner_id = f"agen-{scopes.replace(',', '-')}"
    created = create(cli, partner_id, scopes)

    key = created["key"]
    assert key.startswith("psk_")
    assert created["key_id"] == key_id(key)
    assert created["partner_id"] == partner_id
    assert created["channel"] == "agent_network"
    assert created["scopes"] == sorted(scopes.split(","))
    status, body = quote(runtime, key)
    assert status == 200, body
    # Only the hash is stored: no item holds the clear key, the lookup item is keyed by its hash.
    items = scan_partners(runtime)
    assert key not in json.dumps(items)
    assert {"S": f"KEY#{key_hash(key)}"} in [item["pk"] for item in items]


def test_key_without_enroll_or_pay_scope_is_forbidden(local: tuple[Any, Path], cli: Any) -> None:
    runtime, _ = local
    created = create(cli, "klaim-only", "claims", channel="back_office")

    status, body = quote(runtime, created["key"])

    assert status == 403
    assert body["error"] == "forbidden"
    assert body["message"]


def test_revoked_key_stops_at_once_other_keys_of_the_partner_keep_working(local: tuple[Any, Path], cli: Any) -> None:
    runtime, _ = local
    revoked = create(cli, "agen-bekasi", "enroll,pay")
    kept = create(cli, "agen-bekasi", "enroll,pay")
    assert quote(runtime, revoked["key"])[0] == 200  # the authorizer's allow is now cached
    assert quote(runtime, kept["key"])[0] == 200

    code, out, err = cli("revoke", "--partner-id", "agen-bekasi", "--key-id", revoked["key_id"])

    assert code == 0, err
    assert out == {
        "partner_id": "agen-bekasi",
        "key_id": revoked["key_id"],
        "status": "revoked",
        "authorizer_cache_flushed": True,
    }
    status, body = quote(runtime, revoked["key"])
    assert status == 401
    assert body["error"] == "unauthorized"
    assert quote(runtime, kept["key"])[0] == 200


def test_revoking_without_the_flush_would_leave_the_key_working(local: tuple[Any, Path], cli: Any) -> None:
    """Control for the test above: the emulated authorizer cache is real, so the flush is what matters."""
    from perisai.partners.repository import PartnerKeyRepository

    runtime, _ = local
    created = create(cli, "agen-cache", "pay")
    assert quote(runtime, created["key"])[0] == 200

    PartnerKeyRepository(runtime.outputs()["PartnersTableName"]).revoke("agen-cache", created["key_id"])

    assert quote(runtime, created["key"])[0] == 200  # still the cached allow
    runtime.gateway.flush_authorizer_cache()
    assert quote(runtime, created["key"])[0] == 401


def test_list_shows_status_and_never_the_key_or_its_hash(local: tuple[Any, Path], cli: Any) -> None:
    from perisai.partners.keys import key_hash

    first = create(cli, "kantor-pos-depok", "enroll", channel="post_office")
    second = create(cli, "kantor-pos-depok", "enroll,pay", channel="post_office")
    assert cli("revoke", "--partner-id", "kantor-pos-depok", "--key-id", first["key_id"])[0] == 0

    code, out, err = cli("list", "--partner-id", "kantor-pos-depok")

    assert code == 0, err
    assert out["partner_id"] == "kantor-pos-depok"
    by_id = {k["key_id"]: k for k in out["keys"]}
    assert set(by_id) == {first["key_id"], second["key_id"]}
    assert by_id[first["key_id"]]["status"] == "revoked"
    assert by_id[first["key_id"]]["revoked_at"]
    assert by_id[second["key_id"]]["status"] == "active"
    assert by_id[second["key_id"]]["scopes"] == ["enroll", "pay"]
    assert all(k["created_at"] for k in out["keys"])
    printed = cli.stdout + err
    for created in (first, second):
        assert created["key"] not in printed
        assert key_hash(created["key"]) not in printed
    assert all("key_hash" not in k and "key" not in k for k in out["keys"])


def test_list_of_a_partner_without_keys_is_empty(cli: Any) -> None:
    assert cli("list", "--partner-id", "nobody-here")[:2] == (0, {"partner_id": "nobody-here", "keys": []})


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--channel", "telegram", "--scopes", "enroll"], "--channel"),
        (["--channel", "retailer", "--scopes", "enroll,admin"], "unknown scope admin"),
        (["--channel", "retailer", "--scopes", ","], "at least one scope"),
    ],
)
def test_unknown_channel_or_scope_is_a_usage_error(cli: Any, args: list[str], complaint: str) -> None:
    code, out, err = cli("create", "--partner-id", "indomaret", "--name", "Indomaret", *args)

    assert code == 2
    assert out is None
    assert complaint in err


@pytest.mark.parametrize("partner_id", ["Agen_Jabar", "-agen", "a", "x" * 64])
def test_partner_id_follows_the_stored_pattern(cli: Any, partner_id: str) -> None:
    code, out, err = cli("list", f"--partner-id={partner_id}")

    assert (code, out) == (2, None)
    assert "not a partner id" in err


def test_revoking_an_unknown_key_fails(cli: Any) -> None:
    create(cli, "alfamart", "pay", channel="retailer")

    code, out, err = cli("revoke", "--partner-id", "alfamart", "--key-id", "0123456789ab")

    assert (code, out) == (1, None)
    assert "0123456789ab" in err and "not found" in err


def test_malformed_key_id_is_a_usage_error(cli: Any) -> None:
    code, _, err = cli("revoke", "--partner-id", "alfamart", "--key-id", "psk_secret")

    assert code == 2
    assert "not a key id" in err


def test_missing_local_state_tells_to_run_make_dev(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["list", "--partner-id", "alfamart", "--local", "--state-file", str(tmp_path / "local.json")])

    captured = capsys.readouterr()
    assert (code, _document(captured.out)) == (1, None)
    assert "make dev" in captured.err


def test_local_and_stack_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--partner-id", "alfamart", "--local", "--stack", "Perisai"]) == 2
    assert "--stack" in capsys.readouterr().err


def test_default_stack_is_the_app_stack(template_json: dict[str, Any]) -> None:
    from perisai_infra.app import STACK_NAME

    assert partner_cli.STACK_NAME == STACK_NAME
    assert {"ApiUrl", "PartnersTableName"} <= set(template_json["Outputs"])


def test_stack_target_flushes_the_stage_named_by_the_api_url() -> None:
    """AWS side without AWS: outputs from describe_stacks, the flush call built from ApiUrl."""
    import boto3

    session = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x", region_name="ap-southeast-3")
    cloudformation = session.client("cloudformation")
    apigateway = session.client("apigateway", region_name="ap-southeast-3")
    target = partner_cli.StackTarget("Perisai", table=None, region="ap-southeast-3")
    clients = {"cloudformation": cloudformation, "apigateway": apigateway}
    target._session = type("Session", (), {"client": lambda self, name, **_: clients[name]})()

    with Stubber(cloudformation) as cfn, Stubber(apigateway) as apigw:
        cfn.add_response(
            "describe_stacks",
            {
                "Stacks": [
                    {
                        "StackName": "Perisai",
                        "CreationTime": "2025-01-01T00:00:00Z",
                        "StackStatus": "UPDATE_COMPLETE",
                        "Outputs": [
                            {"OutputKey": "PartnersTableName", "OutputValue": "Perisai-Partners-1"},
                            {
                                "OutputKey": "ApiUrl",
                                "OutputValue": "https://abc123defg.execute-api.ap-southeast-3.amazonaws.com/live/",
                            },
                        ],
                    }
                ]
            },
            {"StackName": "Perisai"},
        )
        apigw.add_response("flush_stage_authorizers_cache", {}, {"restApiId": "abc123defg", "stageName": "live"})

        target.flush_authorizer_cache()
        assert target.outputs["PartnersTableName"] == "Perisai-Partners-1"
        apigw.assert_no_pending_responses()
