"""`make dev`: synthesize the stack, serve it on http://127.0.0.1:$PORT with moto as AWS."""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

from local_runtime.cloud import LOCAL_SECRET_VALUES
from local_runtime.runtime import DEMO_PARTNERS, ROOT, LocalRuntime


def main() -> int:
    started = time.monotonic()
    port = int(os.environ.get("PORT", "3000"))
    host = os.environ.get("HOST", "127.0.0.1")
    print("[local] synthesizing the stack (cdk-nag included)...", flush=True)
    from perisai_infra.synth import synthesize

    _, template = synthesize(ROOT / "cdk.out")
    runtime = LocalRuntime(port=port, host=host, template=template, state_file=ROOT / ".perisai" / "local.json")
    runtime.start()
    routes = "\n".join(f"    {r.method:6} {r.path}" for r in runtime.model.routes)
    keys = "\n".join(
        f"    {key:22} partner {pid} scopes {' '.join(scopes)}" for key, pid, _, _, scopes in DEMO_PARTNERS
    )
    secrets = "\n".join(f"    {name:34} {value}" for name, value in LOCAL_SECRET_VALUES.items())
    print(
        f"""
Perisai local runtime ready in {time.monotonic() - started:.1f}s on {runtime.url}
  AWS (moto) at {runtime.moto.endpoint}, region ap-southeast-3
  routes (from the synthesized stack):
{routes}
  local-only: GET /_local/schedules, POST /_local/schedules/<name>/run, PUT|DELETE /_local/clock, GET /_local/sms
  partner keys:
{keys}
  payment provider secrets (local only; sign /v1/payments/* callbacks with them):
{secrets}

  curl {runtime.url}/health
  curl -H 'Authorization: Bearer demo-partner-key' '{runtime.url}/v1/dues/quote?monthly_income=1500000&sector=transport&programs=JKK,JKM'

Ctrl-C stops it.""",
        flush=True,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    try:
        while not stopped.wait(1):
            pass
    except KeyboardInterrupt:
        pass
    print("\n[local] stopping...", flush=True)
    runtime.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
