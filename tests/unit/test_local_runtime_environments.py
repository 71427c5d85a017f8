"""The local runtime's execution model: invocations interleave only at AWS requests, and each
gets its own process-wide state back (as if it ran alone in its environment, as on Lambda)."""

from __future__ import annotations

import threading
from pathlib import Path

from local_runtime.environments import EnvironmentPool, Interleaver


class Router:
    current_event: str  # like Powertools' BaseRouter: state on the class, shared by the process


def test_an_invocation_gets_its_state_back_after_another_ran_during_its_aws_call() -> None:
    interleaver = Interleaver(state=lambda: [(Router, "current_event")])
    second_done = threading.Event()
    seen: dict[str, str] = {}

    def first() -> None:
        with interleaver.invocation():
            Router.current_event = "first request"
            with interleaver.waiting_on_aws():
                assert second_done.wait(10)  # the other invocation runs meanwhile
            seen["first"] = Router.current_event

    def second() -> None:
        with interleaver.invocation():
            Router.current_event = "second request"
            seen["second"] = Router.current_event
        second_done.set()

    a = threading.Thread(target=first)
    a.start()
    while not hasattr(Router, "current_event"):  # first holds its AWS call open
        pass
    b = threading.Thread(target=second)
    b.start()
    a.join(10)
    b.join(10)
    assert seen == {"first": "first request", "second": "second request"}


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
    with pool.environment("functions/greet", "handler") as one:
        with pool.environment("functions/greet", "handler") as two:
            assert one is not two and one.state is not two.state
    with pool.environment("functions/greet", "handler") as again:
        assert again in (one, two)
    assert pool.started("functions/greet", "handler") == 2
