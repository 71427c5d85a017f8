from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS = ROOT / "functions"
LAYER_SOURCE = ROOT / "layers" / "common"
# Built by `make build` (pip install --target ... --platform manylinux2014_aarch64).
LAYER_BUILD = ROOT / "build" / "layer"
