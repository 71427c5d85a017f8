"""pytest plugin: the run fails if a participant's personal data shows up in what the code logs or
prints (NIK, phone number, full name of any participant the tests enroll).

What it records, for the whole session:
- every log record, through a handler on the root logger (Powertools loggers propagate to it; the
  handler ignores the SuppressFilter Powertools puts on root handlers, and also renders each
  record with the Powertools formatter, so keys added with `append_keys` are seen too);
- everything written to sys.stdout / sys.stderr during each test phase (a tee installed inside
  pytest's own capture, so capsys/capfd and `-s` keep working), which covers the Powertools
  StreamHandler's JSON lines, Powertools metrics and any print();
- the local runtime's own print() calls (`[http]` access lines, delivery errors), even outside
  tests and with `-s`;
- pytest's captured stdout/stderr/log sections of every test report (also catches writes made at
  file-descriptor level).

What it looks for: the values of every enrollment body the tests build or send
(`tests.api.conftest.enrollment()` and `Api.post`), namely the NIK (16 digits), the phone number in
the form sent, digits only, +62 E.164 or any spacing of those, the full name (any case and spacing),
and the heir's name and phone.

At session end it fails the run (exit status 1) and prints, per finding, the kind of value, the
source and the captured line with the value masked.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

KINDS = ("nik", "phone", "full_name")
_CONTEXT = 120  # characters of the captured line shown on each side of a finding


# -- what to look for ----------------------------------------------------------------------------


class PersonalValues:
    """The personal values of the participants used in this run, by kind, in canonical form:
    NIK as 16 digits, phone as its national significant number (0812-3456-7890 -> 81234567890),
    name lower-cased with single spaces."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: dict[str, set[str]] = {kind: set() for kind in KINDS}
        self.niks: set[str] = set()
        self.phones: set[str] = set()
        self.names: dict[str, re.Pattern[str]] = {}  # canonical name -> its regex (word bounded)

    def add(self, kind: str, value: Any) -> None:
        if kind not in self._values or not isinstance(value, str):
            return
        value = value.strip()
        with self._lock:
            if kind == "nik" and re.fullmatch(r"\d{16}", value):
                self.niks.add(value)
            elif kind == "phone" and 8 <= len(national := _national_number(value)) <= 13:
                self.phones.add(national)
            elif kind == "full_name" and 5 <= len(value) <= 150 and re.search(r"[^\W\d_]", value):
                canonical = " ".join(value.lower().split())
                words = canonical.split(" ")
                self.names[canonical] = re.compile(
                    r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)", re.IGNORECASE
                )
            else:
                return  # not a value of that kind, or too short to search for without false alarms
            self._values[kind].add(value)

    def add_enrollment(self, body: Any) -> None:
        if not isinstance(body, dict):
            return
        self.add("nik", body.get("nik"))
        self.add("full_name", body.get("full_name"))
        self.add("phone", body.get("phone"))
        heir = body.get("heir")
        if isinstance(heir, dict):
            self.add("full_name", heir.get("name"))
            self.add("phone", heir.get("phone"))

    def values(self) -> dict[str, set[str]]:
        """The values as the tests sent them."""
        with self._lock:
            return {kind: set(values) for kind, values in self._values.items()}

    def find(self, line: str) -> list[tuple[str, int, int]]:
        """(kind, start, end) of every personal value in ``line``. Linear in the line's length:
        digit runs are looked up in sets, names are searched only on a substring hit."""
        found: list[tuple[str, int, int]] = []
        if self.niks or self.phones:
            for run in _DIGIT_RUN.finditer(line):
                found.extend(self._in_digit_run(run))
        if self.names:
            lowered = line.lower()
            for canonical, pattern in list(self.names.items()):
                if canonical.split(" ", 1)[0] in lowered:
                    found.extend(("full_name", m.start(), m.end()) for m in pattern.finditer(line))
        return found

    def _in_digit_run(self, run: re.Match[str]) -> Iterator[tuple[str, int, int]]:
        # A run is digit groups joined by separators ("+62 812-3456-7890", "1500000 0812 3456 7890"):
        # try every sequence of adjacent groups, so neighbouring numbers cannot hide a value.
        groups = [(run.start() + g.start(), g.group()) for g in _DIGITS.finditer(run.group())]
        for i in range(len(groups)):
            digits = ""
            for j in range(i, min(len(groups), i + 8)):
                digits += groups[j][1]
                if len(digits) > 17:
                    break
                start, end = groups[i][0], groups[j][0] + len(groups[j][1])
                if len(digits) == 16 and digits in self.niks:
                    yield ("nik", start, end)
                if len(digits) >= 8 and _national_number(digits) in self.phones:
                    yield ("phone", start, end)


_DIGITS = re.compile(r"\d+")
_DIGIT_RUN = re.compile(r"\d+(?:[\s().\-+]{1,3}\d+)*")


def _national_number(phone: str) -> str:
    """0812-3456-7890, 6281234567890, +62 812 3456 7890 and 0062812... -> 81234567890."""
    digits = re.sub(r"\D", "", phone)
    for prefix in ("0062", "62", "0"):
        if digits.startswith(prefix):
            return digits[len(prefix) :]
    return digits


def mask(value: str) -> str:
    """Enough to recognise which value leaked, not enough to read it."""
    if len(value) <= 4:
        return "*" * len(value)
    keep = 2 if len(value) < 10 else 4
    return value[:keep] + "*" * (len(value) - 2 * keep) + value[-keep:]


# -- what was captured ---------------------------------------------------------------------------


class OutputCapture:
    """Every captured line, with where it came from. Thread-safe: handlers run on server threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: list[tuple[str, str]] = []
        self._partial: dict[str, str] = {}

    def record(self, source: str, text: str) -> None:
        if not text:
            return
        with self._lock:
            self._lines.extend((source, line) for line in text.splitlines() if line.strip())

    def write(self, source: str, chunk: str) -> None:
        """Stream writes arrive in pieces (print writes the text, then the newline): keep lines whole."""
        with self._lock:
            buffered = self._partial.get(source, "") + chunk
            *complete, rest = buffered.split("\n")
            self._partial[source] = rest
            self._lines.extend((source, line) for line in complete if line.strip())

    def mark(self) -> int:
        with self._lock:
            return len(self._lines)

    def lines(self, since: int = 0) -> list[tuple[str, str]]:
        with self._lock:
            pending = [(source, text) for source, text in self._partial.items() if text.strip()]
            return self._lines[since:] + pending

    def text(self, since: int = 0) -> str:
        return "\n".join(line for _, line in self.lines(since))


PERSONAL = PersonalValues()
CAPTURE = OutputCapture()


@dataclass(frozen=True)
class Leak:
    kind: str
    source: str
    line: str  # with the value masked

    def __str__(self) -> str:
        return f"{self.kind} in {self.source}: {self.line}"


def find_leaks(lines: Iterable[tuple[str, str]], personal: PersonalValues | None = None) -> list[Leak]:
    """Every captured line that holds a personal value (the values masked in the result)."""
    personal = personal or PERSONAL
    leaks: dict[Leak, None] = {}
    for source, line in lines:
        found = personal.find(line)
        if not found:
            continue
        masked = line
        for _, start, end in sorted(found, key=lambda f: f[1], reverse=True):
            masked = masked[:start] + mask(line[start:end]) + masked[end:]  # same length: spans stay valid
        for kind, start, end in found:
            # The captured line around the value, every personal value in it masked.
            left, right = max(0, start - _CONTEXT), min(len(line), end + _CONTEXT)
            shown = ("…" if left else "") + masked[left:right] + ("…" if right < len(line) else "")
            leaks[Leak(kind, source, shown)] = None
    return list(leaks)


def captured_lines(since: int = 0) -> list[tuple[str, str]]:
    return CAPTURE.lines(since)


def leaks_so_far(since: int = 0) -> list[Leak]:
    return find_leaks(CAPTURE.lines(since))


# -- capturing -----------------------------------------------------------------------------------


class _Tee:
    """A text stream that records what passes through it and forwards everything to ``inner``."""

    def __init__(self, inner: Any, source: str) -> None:
        self._pii_inner = inner
        self._pii_source = source

    def write(self, text: str) -> int:
        # A bare try/except, not contextlib.suppress: nothing here may raise, even at interpreter exit.
        try:  # noqa: SIM105
            CAPTURE.write(self._pii_source, text if isinstance(text, str) else str(text))
        except Exception:  # noqa: BLE001, S110  # recording must never break the code under test
            pass
        return self._pii_inner.write(text)

    def writelines(self, lines: Iterable[str]) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._pii_inner, name)


# One tee per stream for the whole session, and every stream that was ever sys.stdout/stderr at a
# phase boundary, are kept alive. CPython 3.11's print() holds a *borrowed* reference to
# sys.stdout while it writes; the local runtime's threads print (Powertools metrics) at any time,
# so a stream freed when a phase ends would be written to after it is gone (a segfault).
_TEES = {name: _Tee(None, name) for name in ("stdout", "stderr")}
_KEPT_STREAMS: dict[int, Any] = {}


def _keep_alive(stream: Any) -> None:
    _KEPT_STREAMS.setdefault(id(stream), stream)


_STANDARD_RECORD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class _RecordHandler(logging.Handler):
    """Records every log record that reaches the root logger, whatever filters others set."""

    def filter(self, record: logging.LogRecord) -> bool:
        # Powertools adds a SuppressFilter for its service to every root handler; we want them all.
        return True

    def emit(self, record: logging.LogRecord) -> None:
        try:
            parts = [f"{record.levelname} {record.name}: {record.getMessage()}"]
            extra = {k: v for k, v in vars(record).items() if k not in _STANDARD_RECORD_ATTRIBUTES}
            if extra:
                parts.append(json.dumps(extra, default=str))
            if record.exc_info:
                parts.append("".join(traceback.format_exception(*record.exc_info)))
            powertools = getattr(logging.getLogger(record.name), "powertools_handler", None)
            if powertools is not None and powertools.formatter is not None:
                parts.append(powertools.formatter.format(record))
            CAPTURE.record(f"log:{record.name}", "\n".join(parts))
        except Exception:  # noqa: BLE001, S110  # recording must never break the code under test
            pass


def _recording_print(module: str) -> Callable[..., None]:
    import builtins

    def print_(*args: Any, **kwargs: Any) -> None:
        # A bare try/except, not contextlib.suppress: nothing here may raise, even at interpreter exit.
        try:  # noqa: SIM105
            CAPTURE.record(f"print:{module}", kwargs.get("sep", " ").join(str(a) for a in args))
        except Exception:  # noqa: BLE001, S110  # recording must never break the code under test
            pass
        builtins.print(*args, **kwargs)

    return print_


_HANDLER = _RecordHandler(level=logging.NOTSET)
# The local runtime's modules that print (`local_runtime.__main__`, `make dev` only, is left alone).
_PRINTING_MODULES = ("local_runtime.runtime", "local_runtime.delivery")


def _patch_local_runtime_print() -> None:
    import importlib

    for name in _PRINTING_MODULES:
        try:
            module: Any = importlib.import_module(name)
        except ImportError:
            continue
        module.print = _recording_print(name)


def _patch_enrollment_sources(module: Any) -> None:
    """Register every enrollment body the API tests build (`enrollment()`) or send (`Api.post`).

    `tests/api/conftest.py` exists twice at run time: pytest loads it as a conftest (its `Api` is
    what the `api` fixture builds) and the test modules import it as `tests.api.conftest` (their
    `enrollment`); both copies are wrapped."""
    enrollment_fn = getattr(module, "enrollment", None)
    api_class: Any = getattr(module, "Api", None)
    if callable(enrollment_fn) and not getattr(enrollment_fn, "_pii_guard", False):

        def enrollment(**overrides: Any) -> dict[str, Any]:
            body = enrollment_fn(**overrides)
            PERSONAL.add_enrollment(body)
            return body

        marked: Any = enrollment  # function attributes are not typed
        marked._pii_guard = True
        marked.__wrapped__ = enrollment_fn
        module.enrollment = enrollment
    post_fn = getattr(api_class, "post", None)
    if callable(post_fn) and not getattr(post_fn, "_pii_guard", False):

        def post(self: Any, path: str, body: Any = None, *args: Any, **kwargs: Any) -> Any:
            if path.split("?", 1)[0].rstrip("/") == "/v1/participants":
                PERSONAL.add_enrollment(body)
            return post_fn(self, path, body, *args, **kwargs)

        marked_post: Any = post  # function attributes are not typed
        marked_post._pii_guard = True
        api_class.post = post


def _is_api_conftest(module: Any) -> bool:
    path = str(getattr(module, "__file__", "") or "").replace("\\", "/")
    return path.endswith("tests/api/conftest.py")


# -- pytest hooks --------------------------------------------------------------------------------


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    # trylast: after pytest's capture and logging plugins set up; still before collection, the
    # runtime and the handler modules.
    logging.getLogger().addHandler(_HANDLER)
    _patch_local_runtime_print()
    try:
        from tests.api import conftest as api_conftest
    except ImportError:
        pass
    else:
        _patch_enrollment_sources(api_conftest)
    if config.getoption("capture", "fd") == "no":
        # -s: nothing replaces sys.stdout/stderr, so one tee serves the whole session.
        for name in ("stdout", "stderr"):
            _keep_alive(getattr(sys, name))
            _TEES[name]._pii_inner = getattr(sys, name)
            setattr(sys, name, _TEES[name])


def pytest_plugin_registered(plugin: Any, manager: Any) -> None:
    if _is_api_conftest(plugin):
        _patch_enrollment_sources(plugin)


def pytest_unconfigure(config: pytest.Config) -> None:
    logging.getLogger().removeHandler(_HANDLER)
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        if isinstance(stream, _Tee):
            setattr(sys, name, stream._pii_inner)


@contextmanager
def _teeing() -> Iterator[None]:
    """Inside pytest's capture of one test phase: tee whatever sys.stdout/stderr are now
    (pytest's capture streams, or capsys's), and put them back afterwards."""
    installed = {}
    for name in ("stdout", "stderr"):
        stream = getattr(sys, name)
        _keep_alive(stream)
        if not isinstance(stream, _Tee):
            _TEES[name]._pii_inner = stream
            setattr(sys, name, _TEES[name])
            installed[name] = stream
    try:
        yield
    finally:
        for name in ("stdout", "stderr"):
            _keep_alive(getattr(sys, name))  # e.g. capsys's stream, dropped at its teardown
        for name, inner in installed.items():
            if getattr(sys, name) is _TEES[name]:
                setattr(sys, name, inner)


# trylast: the innermost wrappers, so pytest's capture (and capsys) are already in place.
@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    with _teeing():
        return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    with _teeing():
        return (yield)


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    with _teeing():
        return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    for title, content in report.sections:
        if title.startswith(("Captured stdout", "Captured stderr", "Captured log")):
            CAPTURE.record(f"{report.nodeid} ({title})", content)


_LEAKS = pytest.StashKey[list[Leak]]()
_STATS = pytest.StashKey[str]()
_WORKER_LEAKS_KEY = "pii_guard_leaks"
_REMOTE_LEAKS: list[Leak] = []


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """pytest-xdist controller: collect what each worker found."""
    for kind, source, line in getattr(node, "workeroutput", {}).get(_WORKER_LEAKS_KEY, []):
        _REMOTE_LEAKS.append(Leak(kind, source, line))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    started = time.perf_counter()
    lines = CAPTURE.lines()
    leaks = find_leaks(lines) + _REMOTE_LEAKS
    session.config.stash[_LEAKS] = leaks
    session.config.stash[_STATS] = (
        f"scanned {len(lines)} captured lines ({sum(len(line) for _, line in lines) / 1e6:.1f} MB) for "
        + ", ".join(f"{len(values)} {kind} values" for kind, values in PERSONAL.values().items())
        + f" in {time.perf_counter() - started:.1f}s"
    )
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:
        workeroutput[_WORKER_LEAKS_KEY] = [(leak.kind, leak.source, leak.line) for leak in leaks]
    if leaks:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    leaks = config.stash.get(_LEAKS, [])
    if not leaks:
        if config.stash.get(_STATS, None):
            terminalreporter.write_line(f"pii_guard: {config.stash[_STATS]}: no personal data found")
        return
    terminalreporter.section("personal data in logs or output (tests/pii_guard.py)", sep="=", red=True, bold=True)
    counts = {kind: sum(1 for leak in leaks if leak.kind == kind) for kind in KINDS}
    terminalreporter.write_line(
        "FAILED: " + ", ".join(f"{count} {kind}" for kind, count in counts.items() if count), red=True
    )
    for leak in leaks[:50]:
        terminalreporter.write_line(f"  {leak}")
    if len(leaks) > 50:
        terminalreporter.write_line(f"  ... and {len(leaks) - 50} more")
