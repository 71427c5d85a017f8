"""Administer partner API keys: ``make partner ARGS="create|revoke|list ..."``.

Targets: ``--local`` (the runtime started by ``make dev``, read from ``.perisai/local.json``) or a
deployed stack (``--stack Perisai``, outputs read with CloudFormation through the normal AWS
credential chain). Output is JSON on stdout; errors go to stderr with exit status 1 (2 for usage).

The clear key is printed once, by ``create``; only its SHA-256 is stored. ``revoke`` marks the key
revoked and flushes the API's authorizer cache so the key stops working at once (on AWS this needs
``apigateway:DELETE`` on ``/restapis/<id>/stages/<stage>/cache/authorizers``).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import urllib.error
import urllib.request
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol, get_args

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    NoRegionError,
)

from perisai.errors import DependencyUnavailable, NotFound
from perisai.partners.keys import key_id as _key_id
from perisai.partners.models import Channel, PartnerKey, Scope
from perisai.partners.repository import PartnerKeyRepository
from perisai.partners.service import issue_key

ROOT = Path(__file__).resolve().parents[2]
LOCAL_STATE = ROOT / ".perisai" / "local.json"
# perisai_infra.app.STACK_NAME, not imported: that module loads aws_cdk (a Node.js process).
STACK_NAME = "Perisai"

CHANNELS: tuple[str, ...] = get_args(Channel)
SCOPES: tuple[str, ...] = get_args(Scope)
PARTNER_ID = re.compile(
    next(m.pattern for m in PartnerKey.model_fields["partner_id"].metadata if getattr(m, "pattern", None))
)
KEY_ID = re.compile(rf"[0-9a-f]{{{len(_key_id('x'))}}}")
API_URL = re.compile(
    r"https://(?P<api>[a-z0-9]+)\.execute-api\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/(?P<stage>[^/]+)/?"
)
_CLIENT_CONFIG = Config(retries={"max_attempts": 3, "mode": "standard"}, connect_timeout=3, read_timeout=10)
LISTED_FIELDS = {"key_id", "partner_name", "channel", "scopes", "usage_plan", "status", "created_at", "revoked_at"}


class CliError(Exception):
    """A failure the operator can act on: printed to stderr, exit status 1."""


class Target(Protocol):
    name: str

    def repository(self) -> PartnerKeyRepository: ...

    def flush_authorizer_cache(self) -> None: ...

    def register_usage(self, key: PartnerKey) -> None: ...

    def disable_usage(self, key: PartnerKey) -> None: ...


# -- targets -------------------------------------------------------------------


class LocalTarget:
    """The local runtime (``make dev``): moto as AWS, the emulated API Gateway on ``runtime_url``."""

    def __init__(self, state_file: Path, table: str | None) -> None:
        if not state_file.is_file():
            raise CliError(
                f"no local runtime state at {state_file}: start the local runtime with `make dev` "
                "(in another terminal) first"
            )
        try:
            state = json.loads(state_file.read_text())
            self.runtime_url = str(state["runtime_url"]).rstrip("/")
            self.aws_endpoint = str(state["aws_endpoint"])
            outputs = state.get("outputs") or {}
            self.table = table or str(outputs["PartnersTableName"])
        except (ValueError, KeyError, TypeError) as exc:
            raise CliError(f"{state_file} is not a local runtime state file ({exc}); restart `make dev`") from exc
        self.name = f"local runtime at {self.runtime_url}"

    def repository(self) -> PartnerKeyRepository:
        from local_runtime.cloud import CREDENTIALS, REGION

        client = boto3.session.Session(
            aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            region_name=REGION,
        ).client("dynamodb", endpoint_url=self.aws_endpoint, config=_CLIENT_CONFIG)
        return PartnerKeyRepository(self.table, dynamodb=client)

    def flush_authorizer_cache(self) -> None:
        url = f"{self.runtime_url}/_local/authorizer-cache"
        if not url.startswith(("http://", "https://")):
            raise CliError(f"the local runtime URL {self.runtime_url} is not http(s); restart `make dev`")
        request = urllib.request.Request(url, method="DELETE")  # noqa: S310  # http(s) only, checked above
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # http(s) only, checked above
                response.read()
        except (urllib.error.URLError, OSError) as exc:
            raise CliError(f"could not flush the local authorizer cache at {self.runtime_url}: {exc}") from exc

    def register_usage(self, key: PartnerKey) -> None:
        """Nothing to do: the local runtime meters by the plan the authorizer names."""

    def disable_usage(self, key: PartnerKey) -> None:
        """Nothing to do locally (a revoked key never gets past the authorizer)."""


class StackTarget:
    """A deployed stack: its outputs name the partners table and the API."""

    def __init__(self, stack: str, table: str | None, region: str | None) -> None:
        self.stack = stack
        self.name = f"stack {stack}"
        self._table = table
        self._session = boto3.session.Session(region_name=region)

    @cached_property
    def outputs(self) -> dict[str, str]:
        try:
            stacks = self._session.client("cloudformation", config=_CLIENT_CONFIG).describe_stacks(
                StackName=self.stack
            )["Stacks"]
        except ClientError as exc:
            raise CliError(f"cannot read stack {self.stack}: {exc}") from exc
        return {o["OutputKey"]: o["OutputValue"] for o in (stacks[0].get("Outputs") or [])}

    def _output(self, name: str) -> str:
        try:
            return self.outputs[name]
        except KeyError:
            raise CliError(f"stack {self.stack} has no output {name}; is it a Perisai stack?") from None

    def repository(self) -> PartnerKeyRepository:
        table = self._table or self._output("PartnersTableName")
        return PartnerKeyRepository(table, dynamodb=self._session.client("dynamodb", config=_CLIENT_CONFIG))

    def flush_authorizer_cache(self) -> None:
        api_url = self._output("ApiUrl")
        found = API_URL.fullmatch(api_url)
        if not found:
            raise CliError(f"output ApiUrl of stack {self.stack} is not an execute-api URL: {api_url}")
        client = self._session.client("apigateway", region_name=found["region"], config=_CLIENT_CONFIG)
        client.flush_stage_authorizers_cache(restApiId=found["api"], stageName=found["stage"])

    def register_usage(self, key: PartnerKey) -> None:
        """An API Gateway API key with the key's usage value, in the usage plan of its tier."""
        client = self._session.client("apigateway", config=_CLIENT_CONFIG)
        plan_id = self._output(f"{key.usage_plan.title()}UsagePlanId")
        try:
            api_key = client.create_api_key(
                name=f"{key.partner_id}-{key.key_id}",
                value=key.usage_key,
                enabled=True,
                description=f"usage metering of partner {key.partner_id} key {key.key_id}",
            )
            client.create_usage_plan_key(usagePlanId=plan_id, keyId=api_key["id"], keyType="API_KEY")
        except ClientError as exc:
            raise CliError(f"key stored, but registering it in usage plan {key.usage_plan} failed: {exc}") from exc

    def disable_usage(self, key: PartnerKey) -> None:
        client = self._session.client("apigateway", config=_CLIENT_CONFIG)
        for item in client.get_api_keys(nameQuery=f"{key.partner_id}-{key.key_id}").get("items", []):
            client.update_api_key(
                apiKey=item["id"], patchOperations=[{"op": "replace", "path": "/enabled", "value": "false"}]
            )


def target_of(args: argparse.Namespace) -> Target:
    if args.local or args.state_file:
        return LocalTarget(args.state_file or LOCAL_STATE, args.table)
    return StackTarget(args.stack or STACK_NAME, args.table, args.region)


# -- commands --------------------------------------------------------------------


def create(args: argparse.Namespace, target: Target) -> int:
    clear, key = issue_key(
        target.repository(),
        partner_id=args.partner_id,
        partner_name=args.name,
        channel=args.channel,
        scopes=args.scopes,
        usage_plan=args.plan,
    )
    target.register_usage(key)
    _out(
        {
            "key": clear,
            "key_id": key.key_id,
            "partner_id": key.partner_id,
            "partner_name": key.partner_name,
            "channel": key.channel,
            "scopes": key.scopes,
            "usage_plan": key.usage_plan,
            "created_at": key.model_dump(mode="json")["created_at"],
        }
    )
    print(
        f"Created on {target.name}. The key is shown only this once: hand it to the partner now. "
        f"Revoke it by key id {key.key_id}.",
        file=sys.stderr,
    )
    return 0


def revoke(args: argparse.Namespace, target: Target) -> int:
    key = target.repository().revoke(args.partner_id, args.key_id)
    try:
        target.disable_usage(key)
        target.flush_authorizer_cache()
        flushed, problem = True, ""
    except (CliError, ClientError, BotoCoreError) as exc:
        flushed, problem = False, str(exc)
    _out({"partner_id": key.partner_id, "key_id": key.key_id, "status": "revoked", "authorizer_cache_flushed": flushed})
    if not flushed:
        print(
            f"error: key {key.key_id} is revoked, but flushing the authorizer cache failed ({problem}); "
            "requests already authorized with it keep working until their cached authorization expires. "
            "Run the same revoke again to retry the flush.",
            file=sys.stderr,
        )
        return 1
    return 0


def list_keys(args: argparse.Namespace, target: Target) -> int:
    keys = sorted(target.repository().list_keys(args.partner_id), key=lambda k: k.created_at)
    # Whitelisted fields: never the key (not stored) nor its hash (the authorizer's lookup key).
    _out(
        {
            "partner_id": args.partner_id,
            "keys": [k.model_dump(mode="json", include=LISTED_FIELDS, exclude_none=True) for k in keys],
        }
    )
    return 0


def _out(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


# -- arguments -------------------------------------------------------------------


def _partner_id(raw: str) -> str:
    if not PARTNER_ID.fullmatch(raw):
        raise argparse.ArgumentTypeError(
            f"{raw!r} is not a partner id: 2-63 characters, lowercase letters, digits and '-', not starting with '-'"
        )
    return raw


def _key_id(raw: str) -> str:
    if not KEY_ID.fullmatch(raw):
        raise argparse.ArgumentTypeError(f"{raw!r} is not a key id (the key_id printed by create and list)")
    return raw


def _name(raw: str) -> str:
    if not raw.strip():
        raise argparse.ArgumentTypeError("the partner name must not be empty")
    return raw.strip()


def _scopes(raw: str) -> list[str]:
    values = [s.strip() for s in raw.split(",") if s.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"give at least one scope of {','.join(SCOPES)}")
    unknown = [s for s in values if s not in SCOPES]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scope {', '.join(unknown)}; choose from {','.join(SCOPES)}")
    return sorted(set(values), key=SCOPES.index)


def build_parser() -> argparse.ArgumentParser:
    target = argparse.ArgumentParser(add_help=False)
    where = target.add_argument_group(f"target (default: the deployed stack {STACK_NAME})")
    where.add_argument("--local", action="store_true", help="the local runtime started by `make dev`")
    where.add_argument("--stack", metavar="NAME", help=f"deployed CloudFormation stack (default {STACK_NAME})")
    where.add_argument(
        "--state-file", type=Path, metavar="PATH", help=f"local runtime state (implies --local; default {LOCAL_STATE})"
    )
    where.add_argument("--table", metavar="NAME", help="partners table name (instead of the stack output)")
    where.add_argument("--region", help="AWS region of the stack (default: the AWS configuration)")

    partner = argparse.ArgumentParser(add_help=False)
    partner.add_argument("--partner-id", required=True, type=_partner_id, metavar="ID")

    parser = argparse.ArgumentParser(
        prog="perisai_admin.partner_cli",
        description='Administer Perisai partner API keys (run it as make partner ARGS="...").',
        epilog="e.g. make partner ARGS=\"create --partner-id agen-jabar --name 'Agen Jabar' --channel agent_network "
        '--scopes enroll,pay --local"',
        allow_abbrev=False,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="{create,revoke,list}")
    new = commands.add_parser(
        "create", parents=[partner, target], help="issue a key (printed once)", allow_abbrev=False
    )
    new.add_argument("--name", required=True, type=_name, help="partner's display name")
    new.add_argument("--channel", required=True, choices=CHANNELS)
    new.add_argument("--scopes", required=True, type=_scopes, metavar=",".join(SCOPES), help="comma-separated")
    new.add_argument(
        "--plan",
        default="standard",
        choices=("trial", "standard", "bulk"),
        help="usage plan: rate, burst and daily quota",
    )
    new.set_defaults(run=create)
    gone = commands.add_parser(
        "revoke", parents=[partner, target], help="revoke a key and flush the authorizer cache", allow_abbrev=False
    )
    gone.add_argument("--key-id", required=True, type=_key_id, metavar="KEYID")
    gone.set_defaults(run=revoke)
    listing = commands.add_parser(
        "list", parents=[partner, target], help="a partner's keys (never the keys themselves)", allow_abbrev=False
    )
    listing.set_defaults(run=list_keys)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        if args.stack and (args.local or args.state_file):
            parser.error("--stack names a deployed stack; it cannot be combined with --local or --state-file")
    except SystemExit as exc:  # usage errors (2) and --help (0)
        return exc.code if isinstance(exc.code, int) else 2
    local = bool(args.local or args.state_file)
    try:
        return int(args.run(args, target_of(args)))
    except (CliError, NotFound) as exc:
        print(f"error: {exc}", file=sys.stderr)
    except DependencyUnavailable as exc:
        cause = f": {exc.__cause__}" if exc.__cause__ else ""
        print(f"error: {exc}{cause}", file=sys.stderr)
    except EndpointConnectionError as exc:
        hint = " (is `make dev` still running? its state file may be stale)" if local else ""
        print(f"error: {exc}{hint}", file=sys.stderr)
    except (NoCredentialsError, NoRegionError) as exc:
        print(
            f"error: {exc}: credentials and region come from the AWS configuration (AWS_PROFILE, "
            "AWS_REGION or --region); use --local for the local runtime",
            file=sys.stderr,
        )
    except (ClientError, BotoCoreError) as exc:
        print(f"error: AWS call failed: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
