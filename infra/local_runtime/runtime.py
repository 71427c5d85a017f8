"""The local runtime: synthesized stack + embedded moto + the real handlers, behind one HTTP port."""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TYPE_CHECKING, Any

import moto.sqs.models as moto_sqs
from moto.core.common_models import BaseModel
from moto.dynamodb.models import DynamoDBBackend

from local_runtime import template as stack_template
from local_runtime.cloud import LocalCloud, MotoServer
from local_runtime.delivery import Delivery
from local_runtime.functions import Functions
from local_runtime.gateway import ApiGateway, HttpResponse
from local_runtime.patching import MethodPatch
from local_runtime.transactions import journaled

if TYPE_CHECKING:
    from perisai.partners.models import Channel, Scope

ROOT = Path(__file__).resolve().parents[2]

# Fixed local keys (never valid anywhere else): the README's curl examples use them.
DEMO_PARTNERS: tuple[tuple[str, str, str, Channel, list[Scope]], ...] = (
    ("demo-partner-key", "demo-partner", "Demo Agen Perisai network", "agent_network", ["enroll", "pay", "claims"]),
    (
        "demo-backoffice-key",
        "demo-backoffice",
        "Demo back office",
        "back_office",
        ["enroll", "pay", "claims", "backoffice"],
    ),
    ("demo-pemda-key", "demo-pemda", "Demo Pemda (local government)", "local_government", ["enroll", "pay"]),
    ("demo-sponsor-key", "demo-sponsor", "Demo SERTAKAN sponsor", "sponsor", ["enroll", "pay"]),
)
# An HTTP method is a token (RFC 9110 5.6.2); anything else is a malformed request line.
_METHOD_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")


class _HttpServer(ThreadingHTTPServer):
    # socketserver listens with a backlog of 5: a burst of simultaneous connections (20 partners'
    # retries at once) overflows it and some are reset. API Gateway does not refuse connections.
    request_queue_size = 128
    daemon_threads = True


class LocalRuntime:
    def __init__(
        self, *, port: int = 3000, host: str = "127.0.0.1", template: dict[str, Any], state_file: Path | None = None
    ) -> None:
        self.model = stack_template.load(template)
        self._template = template
        self._host = host
        self._port = port
        self._state_file = state_file
        self.moto = MotoServer()
        self.cloud: LocalCloud | None = None
        self.functions: Functions | None = None
        self.delivery: Delivery | None = None
        self.gateway: ApiGateway | None = None
        self._http: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._sqs_clock = MethodPatch(moto_sqs, "unix_time_millis", _on_local_clock)
        # The local clock moves back as well as forward; a message sent at a shifted time must not
        # count as past its retention period once the clock is back (moto would then stop
        # delivering it, and every message behind it). Locally nothing expires from a queue.
        self._sqs_retention = MethodPatch(
            moto_sqs.SQSBackend, "is_message_valid_based_on_retention_period", _always_retained
        )
        # moto keeps every model instance it ever made (for its reset): copies of items and
        # stream shards would pile up over a test run. The runtime never resets moto, so its
        # DynamoDB models (tables, items, stream shards and iterators) are not tracked.
        self._table_copies = MethodPatch(BaseModel, "__new__", _untracked_dynamodb_models)
        # moto backs up whole tables for each transaction's rollback, a cost that grows with the
        # table: the runtime journals only the items a transaction names (local_runtime.transactions).
        self._journaled = MethodPatch(DynamoDBBackend, "transact_write_items", journaled)

    @property
    def url(self) -> str:
        if self._http is None:
            raise RuntimeError("the local runtime is not started")
        host, port = self._http.server_address[:2]
        return f"http://{host}:{port}"

    def outputs(self) -> dict[str, Any]:
        if self.cloud is None:
            raise RuntimeError("the local runtime is not started")
        resolved = {}
        for name, output in self._template.get("Outputs", {}).items():
            try:
                resolved[name] = self.cloud.resolve(output["Value"])
            except KeyError:
                continue  # e.g. the deployed API URL: locally it is this runtime's URL
        resolved["ApiUrl"] = self.url + "/"
        return resolved

    def start(self, *, seed: bool = True, background_delivery: bool = True) -> None:
        self.moto.start()
        # Queue delays and visibility follow the local clock, so a message held until 08:00
        # (quiet hours) comes back when PUT /_local/clock reaches 08:00, as it would in AWS.
        self._sqs_clock.install()
        self._sqs_retention.install()
        self._table_copies.install()
        self._journaled.install()
        self.cloud = LocalCloud(self.model, self.moto.endpoint)
        self.cloud.configure_process()
        from perisai import aws

        aws.reset()
        self.cloud.provision()
        self.cloud.apply_redrive_policies()
        self.functions = Functions(self.model, self.cloud, ROOT)
        self.functions.configure_environment()
        self.delivery = Delivery(self.model, self.cloud, self.functions)
        self.delivery.wire()
        self.gateway = ApiGateway(self.model, self.functions)
        self._http = _HttpServer((self._host, self._port), _handler_for(self))
        if seed:
            self.seed_partners()
        self._thread = threading.Thread(target=self._http.serve_forever, name="http", daemon=True)
        self._thread.start()
        if background_delivery:
            self.delivery.start()
        if self._state_file:
            self._state_file.parent.mkdir(parents=True, exist_ok=True)
            self._state_file.write_text(
                json.dumps(
                    {"runtime_url": self.url, "aws_endpoint": self.moto.endpoint, "outputs": self.outputs()}, indent=1
                )
            )

    def seed_partners(self) -> None:
        from perisai.partners.repository import PartnerKeyRepository
        from perisai.partners.service import issue_key

        repository = PartnerKeyRepository(self.outputs()["PartnersTableName"])
        for key, partner_id, name, channel, scopes in DEMO_PARTNERS:
            # The bulk plan: demos, fuzzing and load tests should not trip the standard 20 req/s.
            issue_key(
                repository,
                partner_id=partner_id,
                partner_name=name,
                channel=channel,
                scopes=scopes,
                key=key,
                usage_plan="bulk",
            )

    def stop(self) -> None:
        if self.delivery:
            self.delivery.stop()
        if self.functions:
            self.functions.roles.uninstall()
            self.functions.interleaver.uninstall()
        if self._http:
            self._http.shutdown()
            self._http.server_close()
        self.moto.stop()
        self._sqs_clock.uninstall()
        self._sqs_retention.uninstall()
        self._table_copies.uninstall()
        self._journaled.uninstall()
        if self._state_file and self._state_file.exists():
            self._state_file.unlink()
        from perisai.clock import clock

        clock.reset()

    # -- local-only control routes -------------------------------------------

    def control(self, method: str, path: str, body: bytes) -> HttpResponse:
        from perisai.clock import clock

        if self.delivery is None or self.functions is None or self.gateway is None:
            raise RuntimeError("the local runtime is not started")
        if method == "GET" and path == "/_local/schedules":
            return _json(
                200,
                [
                    {
                        "name": s.name,
                        "expression": s.expression,
                        "timezone": s.timezone,
                        "target": self.functions.name_of(s.target),
                        "enabled": s.enabled,
                    }
                    for s in self.model.schedules.values()
                ],
            )
        run = re.fullmatch(r"/_local/schedules/([^/]+)/run", path)
        if method == "POST" and run:
            name = run.group(1)
            if name not in self.model.schedules:
                return _error(404, "not_found", f"no schedule named {name}")
            at = _instant(body, "at")
            if isinstance(at, str):
                return _error(422, "validation_error", at, field="at")
            clock.move_to(at)
            return _json(200, self.delivery.run_schedule(name, at))
        if path == "/_local/clock":
            if method == "PUT":
                now = _instant(body, "now")
                if isinstance(now, str):
                    return _error(422, "validation_error", now, field="now")
                clock.move_to(now)
            elif method == "DELETE":
                clock.reset()
            elif method != "GET":
                return _error(405, "method_not_allowed", "use GET, PUT or DELETE")
            return _json(200, {"now": clock.now().isoformat(), "shifted": clock.shifted})
        if method == "GET" and path == "/_local/sms":
            return _json(200, self.delivery.sms())
        if method == "DELETE" and path == "/_local/authorizer-cache":
            self.gateway.flush_authorizer_cache()
            return _json(200, {"flushed": True})
        if method == "POST" and path == "/_local/drain":
            return _json(200, {"delivered": self.delivery.drain()})
        return _error(404, "not_found", f"no local route {method} {path}")


def _untracked_dynamodb_models(original: Any) -> Any:
    def new(cls: Any, *args: Any, **kwargs: Any) -> Any:
        if not cls.__module__.startswith(("moto.dynamodb", "moto.dynamodbstreams")):
            return original(cls, *args, **kwargs)
        return object.__new__(cls)

    return new


def _always_retained(_original: Any) -> Any:
    def retained(_backend: Any, _queue_name: str, _message: Any) -> bool:
        return True

    return retained


def _on_local_clock(original: Any) -> Any:
    def unix_time_millis(dt: datetime | None = None) -> float:
        from perisai.clock import clock

        return float(original(dt)) if dt is not None else clock.now().timestamp() * 1000

    return unix_time_millis


def _instant(body: bytes, field: str) -> datetime | str:
    """The instant in the body's `field`, or what is wrong with the body."""
    from perisai.clock import JAKARTA

    try:
        payload = json.loads(body or b"{}")
        raw = payload[field]
        value = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return f'body must be {{"{field}": "<ISO-8601 time>"}}'
    if value.tzinfo is None:
        value = value.replace(tzinfo=JAKARTA)  # business time when no offset is given
    return value


def _json(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(status, {"Content-Type": "application/json"}, json.dumps(payload).encode())


def _error(status: int, code: str, message: str, field: str | None = None) -> HttpResponse:
    fields = [{"field": field, "message": message}] if field else []
    return _json(status, {"error": code, "message": message, "fields": fields})


class _BadRequest(Exception):
    pass


def _handler_for(runtime: LocalRuntime) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "perisai-local"

        def __getattr__(self, name: str) -> Any:
            # http.server answers a method without a do_<METHOD> with its HTML 501; API Gateway
            # decides about every method name here (gateway.py: unknown ones meet the ANY mock).
            if name.startswith("do_"):
                return self._serve
            raise AttributeError(name)

        def _serve(self) -> None:
            try:
                if not _METHOD_TOKEN.fullmatch(self.command):
                    response = _error(400, "bad_request", "malformed request method")
                else:
                    response = self._respond(self._body())
            except _BadRequest as exc:
                response = _error(400, "bad_request", str(exc))
                self.close_connection = True  # the rest of the body is still on the wire
            except Exception as exc:  # the runtime itself failed: say so, keep serving
                response = _error(500, "local_runtime_error", f"{type(exc).__name__}: {exc}")
            self._send(response)

        def _body(self) -> bytes:
            if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
                chunks = []
                while True:
                    size_line = self.rfile.readline(65537).split(b";", 1)[0].strip()
                    try:
                        size = int(size_line, 16)
                    except ValueError:
                        raise _BadRequest("malformed chunked body") from None
                    if size == 0:
                        while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                            pass  # trailers
                        return b"".join(chunks)
                    chunks.append(self.rfile.read(size))
                    self.rfile.readline(3)
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise _BadRequest("malformed Content-Length") from None
            if length < 0:
                raise _BadRequest("malformed Content-Length")
            return self.rfile.read(length) if length else b""

        def _respond(self, body: bytes) -> HttpResponse:
            path = self.path.split("?", 1)[0]
            if path.startswith("/_local/"):
                return runtime.control(self.command, path.rstrip("/"), body)
            if runtime.gateway is None:
                raise RuntimeError("the local runtime is not started")
            headers = {k: v for k, v in self.headers.items()}
            return runtime.gateway.handle(self.command, self.path, headers, body, self.client_address[0])

        def _send(self, response: HttpResponse) -> None:
            self.send_response(response.status)
            for key, value in response.headers.items():
                if key.lower() not in ("content-length", "connection"):
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(response.body)))
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(response.body)

        def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
            # http.server's own refusals (malformed request line, headers too large, ...): JSON, not HTML.
            try:
                phrase = HTTPStatus(code).phrase
            except ValueError:
                phrase = "Error"
            self.close_connection = True
            # A request line it could not read leaves the version at HTTP/0.9: no status line, no headers.
            self.request_version = "HTTP/1.1"
            self.send_response(code)
            body = json.dumps(
                {
                    "error": re.sub(r"\W+", "_", phrase.lower()).strip("_"),
                    "message": message or explain or phrase,
                    "fields": [],
                }
            ).encode()
            self.send_header("Content-Type", "application/json")
            self.send_header("Connection", "close")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if getattr(self, "command", None) != "HEAD" and code >= 200 and code not in (204, 304):
                self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            # Query strings can carry a NIK (GET /v1/participants?nik=): log the path only.
            line = re.sub(r"\?[^ ]*", "?…", format % args)
            print(f"[http] {self.address_string()} {line}")

    return Handler
