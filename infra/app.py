"""CDK entry point (``cdk synth`` / ``cdk deploy``)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from perisai_infra.app import build_app  # noqa: E402

build_app().synth()
