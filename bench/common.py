"""Paths, statistics and output plumbing shared by the bench sections."""

from __future__ import annotations

import contextlib
import math
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LAYER_SOURCE = ROOT / "layers" / "common"
LAYER_BUILD = ROOT / "build" / "layer"
FUNCTIONS = ROOT / "functions"
RESULTS = ROOT / "bench" / "results.json"
DOC = ROOT / "docs" / "BENCHMARKS.md"
PRICES = ROOT / "bench" / "prices.json"

# Function folder -> handler attribute (the stack's Handler is handler.<attribute>).
FUNCTION_HANDLERS = {
    "enroll": "handler",
    "authorizer": "handler",
    "payment_callback": "handler",
    "claims": "handler",
    "reminders": "run_job",
    "outbox_relay": "handler",
    "notifier": "handler",
}
# The functions API Gateway invokes (the first-request-after-restore budget applies to these).
API_FUNCTIONS = ("enroll", "authorizer", "payment_callback", "claims")

_STARTED = time.perf_counter()


def progress(message: str) -> None:
    """Progress goes to stderr: stdout is reserved for the table (and captures the handlers' logs)."""
    print(f"[bench {time.perf_counter() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else float("nan")


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (p99 of 1,000 samples is the 990th smallest)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


class StdoutSink:
    """Redirects file descriptor 1 (the handlers' JSON logs and EMF metrics) into a temporary file,
    so the terminal shows only the table and the log volume per request can be measured."""

    def __init__(self) -> None:
        # Held open for the sink's whole life (closed in __exit__), so not a `with` block.
        self._file = tempfile.TemporaryFile()  # noqa: SIM115
        self._saved: int | None = None

    def __enter__(self) -> StdoutSink:
        sys.stdout.flush()
        self._saved = os.dup(1)
        os.dup2(self._file.fileno(), 1)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.stdout.flush()
        assert self._saved is not None
        os.dup2(self._saved, 1)
        os.close(self._saved)
        self._file.close()

    def bytes_written(self) -> int:
        sys.stdout.flush()
        return os.fstat(self._file.fileno()).st_size

    @contextlib.contextmanager
    def measure(self) -> Iterator[list[int]]:
        """``with sink.measure() as out:`` leaves the bytes logged inside the block in ``out[0]``."""
        before = self.bytes_written()
        out = [0]
        yield out
        out[0] = self.bytes_written() - before
