"""The personal-data guard swaps sys.stdout/stderr at every test phase while the local runtime's
threads print (Powertools metrics) at any moment. CPython 3.11's print() writes through a borrowed
reference to sys.stdout, so a stream freed at a phase boundary crashes the interpreter."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_CHURN = textwrap.dedent(
    """
    import io, sys, threading
    from tests import pii_guard

    stop = threading.Event()

    def metrics_printer():
        while not stop.is_set():
            try:
                print("x" * 512)
            except ValueError:  # a closed capture stream: an error, not a crash
                pass

    threads = [threading.Thread(target=metrics_printer) for _ in range(4)]
    first = sys.stdout = io.TextIOWrapper(io.BytesIO())
    for thread in threads:
        thread.start()
    for _ in range(30_000):
        sys.stdout = io.TextIOWrapper(io.BytesIO())  # what pytest's capsys does to each test
        with pii_guard._teeing():
            pass
    stop.set()
    for thread in threads:
        thread.join()
    sys.stdout = sys.__stdout__
    print("survived")
    """
)


def test_phase_boundaries_survive_threads_that_print() -> None:
    done = subprocess.run(
        [sys.executable, "-X", "faulthandler", "-c", _CHURN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("survived")
