from __future__ import annotations

import os
from typing import Any

from aws_cdk import App, Environment, Validations
from cdk_nag import AwsSolutionsChecks, ServerlessChecks

from perisai_infra.stack import PerisaiStack

STACK_NAME = "Perisai"


def build_app(outdir: str | None = None, context: dict[str, Any] | None = None) -> App:
    app = App(outdir=outdir, context=context)
    PerisaiStack(
        app,
        STACK_NAME,
        env=Environment(
            account=os.getenv("CDK_DEFAULT_ACCOUNT"),
            region=os.getenv("CDK_DEFAULT_REGION"),
        ),
        description="Perisai: BPU social-security enrollment, dues, reminders and claims",
    )
    Validations.of(app).add_plugins(AwsSolutionsChecks(app), ServerlessChecks(app))
    return app
