"""``hawk serve`` as a user starts it: a real process on a loopback port, logging each request with its id."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import httpx

from hawk_dagster.storage.root import StorageRoot
from tests.api.conftest import EVAL_SETS, Deployment, free_port


def test_hawk_serve_answers_and_logs_request_ids(deployment: Deployment, storage: StorageRoot) -> None:
    port = free_port()
    env = {**os.environ, "HAWK_STORAGE_ROOT": storage.uri, "HAWK_WAREHOUSE_URL": deployment.warehouse_url}
    for name in [n for n in env if n.startswith("HAWK_OIDC_")]:
        del env[name]
    proc = subprocess.Popen(
        [sys.executable, "-m", "hawk_dagster.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "hawk serve did not answer"
            time.sleep(0.2)
        listing = httpx.get(f"{base}/api/v1/eval-sets", headers={"X-Request-ID": "e2e-request-1"})
        assert listing.status_code == 200 and listing.headers["x-request-id"] == "e2e-request-1"
        assert {r["eval_set_id"] for r in listing.json()["items"]} == set(
            EVAL_SETS
        )  # local mode: the administrator
        assert httpx.get(f"{base}/docs").status_code == 200
    finally:
        proc.terminate()
        _, stderr = proc.communicate(timeout=30)
    assert "local mode: loopback only" in stderr
    (line,) = [ln for ln in stderr.splitlines() if "[e2e-request-1]" in ln]
    assert "GET /api/v1/eval-sets 200" in line and "hawk_dagster.api.access" in line


_PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["hawk", "serve", "--help"]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("hawk_dagster.cli", run_name="__main__")
    except SystemExit:
        pass
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules})))
"""


def test_serve_help_imports_no_server() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=120, check=True
    )
    modules = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert not modules & {"fastapi", "starlette", "uvicorn", "sqlalchemy", "dagster", "inspect_ai"}
