"""The local runtime's execution model: invocations interleave only at AWS requests, and each
gets its own process-wide state back (as if it ran alone in its environment, as on Lambda)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from local_runtime.environments import EnvironmentPool, Interleaver, Shared, SnapStartHookError


class Router:
    current_event: str  # like Powertools' BaseRouter: state on the class, shared by the process


class MetricsBuffer:
    metrics: dict[str, list[int]] = {}  # like Powertools' Metrics: one buffer, flushed per invocation


def _second_runs_while_first_waits_on_aws(
    interleaver: Interleaver, first: Callable[[], None], after_aws: Callable[[], None], second: Callable[[], None]
) -> None:
    """first() runs, then makes an AWS request during which second() runs whole; then after_aws()."""
    waiting, second_done = threading.Event(), threading.Event()

    def first_invocation() -> None:
        with interleaver.invocation():
            first()
            with interleaver.waiting_on_aws():
                waiting.set()
                assert second_done.wait(10)
            after_aws()

    def second_invocation() -> None:
        with interleaver.invocation():
            second()
        second_done.set()

    a = threading.Thread(target=first_invocation)
    a.start()
    assert waiting.wait(10)
    b = threading.Thread(target=second_invocation)
    b.start()
    a.join(10)
    b.join(10)
    assert second_done.is_set() and not a.is_alive()


def test_an_invocation_gets_its_state_back_after_another_ran_during_its_aws_call() -> None:
    seen: dict[str, str] = {}

    def first() -> None:
        Router.current_event = "first request"

    def second() -> None:
        Router.current_event = "second request"
        seen["second"] = Router.current_event

    def first_after_aws() -> None:
        seen["first"] = Router.current_event

    interleaver = Interleaver(state=lambda: [Shared(Router, "current_event")])
    _second_runs_while_first_waits_on_aws(interleaver, first, first_after_aws, second)
    assert seen == {"first": "first request", "second": "second request"}


def test_an_invocation_neither_sees_nor_flushes_the_metrics_of_one_waiting_on_aws() -> None:
    flushed: dict[str, dict[str, list[int]]] = {}

    def flush(name: str) -> None:
        flushed[name] = dict(MetricsBuffer.metrics)
        MetricsBuffer.metrics.clear()

    def first() -> None:
        MetricsBuffer.metrics["WelcomeSmsSent"] = [1]

    def second() -> None:
        MetricsBuffer.metrics.setdefault("ParticipantEnrolled", []).append(1)
        flush("second")

    interleaver = Interleaver(state=lambda: [Shared(MetricsBuffer, "metrics", "drain")])
    _second_runs_while_first_waits_on_aws(interleaver, first, lambda: flush("first"), second)
    assert flushed == {"first": {"WelcomeSmsSent": [1]}, "second": {"ParticipantEnrolled": [1]}}


def test_handler_code_of_two_invocations_never_runs_at_once() -> None:
    interleaver = Interleaver(state=lambda: [])
    running = 0
    overlap = []
    lock = threading.Lock()

    def invocation() -> None:
        nonlocal running
        for _ in range(200):
            with interleaver.invocation():
                with lock:
                    running += 1
                    overlap.append(running)
                with interleaver.waiting_on_aws():
                    pass
                with lock:
                    running -= 1

    threads = [threading.Thread(target=invocation) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert max(overlap) == 1


def test_a_busy_environment_is_not_shared_and_an_idle_one_is_reused(tmp_path: Path) -> None:
    (tmp_path / "functions" / "greet").mkdir(parents=True)
    (tmp_path / "functions" / "greet" / "handler.py").write_text("state = {}\n")
    pool = EnvironmentPool(tmp_path)
    with pool.environment("functions/greet", "handler") as one, pool.environment("functions/greet", "handler") as two:
        assert one is not two and one.state is not two.state
    with pool.environment("functions/greet", "handler") as again:
        assert again in (one, two)
    assert pool.started("functions/greet", "handler") == 2


def test_the_powertools_state_kept_per_invocation_exists_in_the_installed_powertools() -> None:
    # A Powertools upgrade that renames these would silently share them between invocations again.
    from local_runtime.environments import powertools_state

    state = powertools_state()
    assert {(getattr(s.owner, "__name__", type(s.owner).__name__), s.name) for s in state} >= {
        ("BaseRouter", "current_event"),
        ("Metrics", "_metrics"),
    }
    for shared in state:
        if shared.mode == "value":  # set per invocation; declared on a class before the first one
            assert hasattr(shared.owner, shared.name) or shared.name in shared.owner.__annotations__, shared
        else:
            assert isinstance(getattr(shared.owner, shared.name), dict), shared


PRIMED_HANDLER = """
from perisai import snapstart

ran = []
snapstart.register_before_snapshot(lambda: ran.append("before_snapshot"))
snapstart.register_after_restore(lambda: ran.append("after_restore"))
"""


def _handler(tmp_path: Path, name: str, source: str) -> str:
    (tmp_path / "functions" / name).mkdir(parents=True)
    (tmp_path / "functions" / name / "handler.py").write_text(source)
    return f"functions/{name}"


def test_snapstart_hooks_run_once_in_each_new_environment_before_its_first_invocation(tmp_path: Path) -> None:
    function = _handler(tmp_path, "primed", PRIMED_HANDLER)
    pool = EnvironmentPool(tmp_path)
    with pool.environment(function, "handler", snap_start=True) as one:
        assert one.ran == ["before_snapshot", "after_restore"]
        with pool.environment(function, "handler", snap_start=True) as two:
            assert two is not one
            assert two.ran == ["before_snapshot", "after_restore"]  # its own hooks, run again
    with pool.environment(function, "handler", snap_start=True) as warm:
        assert warm in (one, two)
    assert one.ran == two.ran == ["before_snapshot", "after_restore"]  # a warm invocation runs none


def test_without_snapstart_the_hooks_are_not_run_and_do_not_leak_into_another_function(tmp_path: Path) -> None:
    from perisai import snapstart

    plain = _handler(tmp_path, "plain", PRIMED_HANDLER)
    pool = EnvironmentPool(tmp_path)
    with pool.environment(plain, "handler") as module:
        assert module.ran == []
    assert snapstart.take_hooks().before_snapshot == []


def test_a_failing_hook_fails_the_invocation_loudly_and_discards_the_environment(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = _handler(
        tmp_path,
        "broken",
        "from perisai import snapstart\n"
        "def prime():\n    raise RuntimeError('priming needs the network')\n"
        "snapstart.register_before_snapshot(prime)\n",
    )
    pool = EnvironmentPool(tmp_path)
    for attempt in (1, 2):
        with (
            pytest.raises(SnapStartHookError, match="before-snapshot hook failed"),
            pool.environment(broken, "handler", snap_start=True),
        ):
            pass
        assert pool.started(broken, "handler") == attempt  # never reused: a new one each time
    logged = capsys.readouterr().err
    assert "SnapStart before-snapshot hook failed" in logged and "priming needs the network" in logged
