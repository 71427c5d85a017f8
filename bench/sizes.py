"""Deployment size: the built layer (build/layer) and each function's asset (functions/<name>,
without the __pycache__ and *.pyc the stack excludes), unzipped, in bytes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from bench.common import FUNCTIONS, LAYER_BUILD

LAYER_BUDGET_BYTES = 25 * 1000 * 1000  # 25 MB, counted in decimal megabytes (the stricter reading)
FORBIDDEN = ("boto3", "botocore")


def _files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]


def _zipped(root: Path, files: list[Path]) -> int:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(root))
    return buffer.tell()


def measure() -> dict[str, Any]:
    if not LAYER_BUILD.exists():
        raise RuntimeError("build/layer is missing: run `make build` (make bench does)")
    layer_files = _files(LAYER_BUILD)
    layer_bytes = sum(p.stat().st_size for p in layer_files)
    python = LAYER_BUILD / "python"
    top = sorted(p.name for p in python.iterdir()) if python.exists() else []
    forbidden = [name for name in top if name.split("-")[0].split(".")[0].lower() in FORBIDDEN]
    largest = sorted(
        (
            (sum(f.stat().st_size for f in _files(p)) if p.is_dir() else p.stat().st_size, p.name)
            for p in python.iterdir()
        ),
        reverse=True,
    )[:6]
    functions = {}
    for folder in sorted(p for p in FUNCTIONS.iterdir() if p.is_dir()):
        files = _files(folder)
        functions[folder.name] = {"bytes": sum(p.stat().st_size for p in files), "files": len(files)}
    return {
        "layer": {
            "bytes": layer_bytes,
            "files": len(layer_files),
            "zipped_bytes": _zipped(LAYER_BUILD, layer_files),
            "budget_bytes": LAYER_BUDGET_BYTES,
            "boto_packages": forbidden,
            "largest": [{"name": name, "bytes": size} for size, name in largest],
        },
        "functions": functions,
    }
