"""Shared fixtures. The stack is synthesized once per test run (each synth costs seconds of Node.js)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from local_runtime.runtime import LocalRuntime

pytest_plugins = ["tests.pii_guard"]
ROOT = Path(__file__).resolve().parents[1]
for path in (ROOT / "layers" / "common", ROOT / "infra"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))


@pytest.fixture(scope="session")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    from perisai_infra.synth import synthesize

    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def template_json(synthesized: tuple[Path, dict[str, Any]]) -> dict[str, Any]:
    return synthesized[1]


@pytest.fixture(scope="session")
def runtime(template_json: dict[str, Any], tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    """The local runtime (moto + real handlers behind the emulated API Gateway) on a free port."""
    from local_runtime.runtime import LocalRuntime

    local = LocalRuntime(port=0, template=template_json, state_file=tmp_path_factory.mktemp("state") / "local.json")
    local.start()
    yield local
    local.stop()


@pytest.fixture(autouse=True)
def _handlers_stay_within_their_roles(request: pytest.FixtureRequest) -> Iterator[None]:
    """A handler whose AWS call its role does not allow would fail on AWS with AccessDenied,
    even where it degrades gracefully (a logged warning): fail the test that provoked it."""
    if "runtime" not in request.fixturenames:
        yield
        return
    roles = request.getfixturevalue("runtime").functions.roles
    before = len(roles.refused)
    yield
    refused = roles.refused[before:]
    assert not refused, f"handlers called AWS outside their roles (function, action): {refused}"
