"""Shared fixtures. The stack is synthesized once per test run (each synth costs seconds of Node.js)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

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
