"""An in-memory AWS for the handler-overhead measurement.

The HTTP exchange of every client (``URLLib3Session.send``) is replaced: while ``recording``,
real answers from moto are kept per API target (``X-Amz-Target``, all services used here speak
JSON); while ``replaying``, the kept answer is returned without any network or moto work. Botocore
still builds, signs and parses every request, which is CPU the Lambda function pays for, so it
stays inside the measured handler overhead; only the time AWS itself takes is gone.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


class FakeAws:
    def __init__(self) -> None:
        self.answers: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self._original: Any = None
        self._mode = "off"
        self.replayed = 0

    def install(self) -> None:
        from botocore.httpsession import URLLib3Session

        self._original = URLLib3Session.send
        fake = self

        def send(session: Any, request: Any) -> Any:
            return fake._send(session, request)

        URLLib3Session.send = send  # type: ignore[method-assign,assignment]  # monkeypatch (loose stand-in signature), undone by uninstall()

    def uninstall(self) -> None:
        from botocore.httpsession import URLLib3Session

        if self._original is not None:
            URLLib3Session.send = self._original  # type: ignore[method-assign]  # restores the original
            self._original = None

    @contextlib.contextmanager
    def recording(self) -> Iterator[None]:
        self._mode = "record"
        try:
            yield
        finally:
            self._mode = "off"

    @contextlib.contextmanager
    def replaying(self) -> Iterator[None]:
        self._mode = "replay"
        try:
            yield
        finally:
            self._mode = "off"

    def _send(self, session: Any, request: Any) -> Any:
        target = _target(request)
        if self._mode == "replay":
            from botocore.awsrequest import AWSResponse

            if target not in self.answers:
                raise RuntimeError(f"bench: no recorded answer for {target}; record a real request first")
            status, headers, body = self.answers[target]
            self.replayed += 1
            return AWSResponse(request.url, status, headers, _Raw(body))
        response = self._original(session, request)
        if self._mode == "record" and target and response.status_code == 200:
            self.answers[target] = (response.status_code, dict(response.headers.items()), response.content)
        return response


def _target(request: Any) -> str:
    value = request.headers.get("X-Amz-Target") or b""
    return value.decode() if isinstance(value, bytes) else str(value)
