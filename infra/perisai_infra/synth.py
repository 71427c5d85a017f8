"""Synthesize the app in-process (tests, the local runtime) and hand back the template."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from perisai_infra.app import STACK_NAME, build_app
from perisai_infra.paths import LAYER_BUILD, ROOT


def synthesize(outdir: Path | None = None) -> tuple[Path, dict[str, Any]]:
    """Run the CDK app (cdk-nag validation included) into ``outdir``; return its template."""
    os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
    os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
    outdir = outdir or ROOT / "cdk.out"
    if not LAYER_BUILD.exists():
        raise RuntimeError("the layer is not built: run `make build` first")
    build_app(outdir=str(outdir)).synth()
    template_path = outdir / f"{STACK_NAME}.template.json"
    return template_path, json.loads(template_path.read_text())
