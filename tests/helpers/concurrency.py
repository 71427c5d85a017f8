"""Start calls at the same instant and collect their results in order.

A thread pool alone does not make calls overlap: the first task may finish before the last
thread starts. Here every call waits on a barrier until all N threads are ready, then they
are released together.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

BARRIER_TIMEOUT_SECONDS = 30.0


def fire_all(calls: Sequence[Callable[[], T]], timeout: float = BARRIER_TIMEOUT_SECONDS) -> list[T]:
    """Run every zero-argument callable on its own thread, all released at once; results in
    the order of ``calls``. If any call raised, the first such exception (in that order) is
    re-raised once every thread has finished."""
    if not calls:
        return []
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    errors: list[BaseException | None] = [None] * len(calls)

    def run(index: int, call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout)
            results[index] = call()
        except BaseException as exc:  # reported to the caller below
            errors[index] = exc
            barrier.abort()  # a thread that cannot start must not leave the others waiting

    threads = [
        threading.Thread(target=run, args=(i, call), name=f"fire-{i}", daemon=True) for i, call in enumerate(calls)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for error in errors:
        if error is not None and not isinstance(error, threading.BrokenBarrierError):
            raise error
    for error in errors:
        if error is not None:
            raise error
    return results


def fire(n: int, fn: Callable[..., T], *args: Any, **kwargs: Any) -> list[T]:
    """``fn(*args, **kwargs)`` n times at once; the n results in order."""
    return fire_all([lambda: fn(*args, **kwargs) for _ in range(n)])
