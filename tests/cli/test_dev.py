"""``hawk dev`` as a script's background job: SIGTERM stops the whole process tree."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.dagster_servers import dagster_server

pytestmark = pytest.mark.slow

# What a non-interactive shell does to `hawk dev &`: SIGINT ignored, then exec.
BACKGROUND_JOB = (
    "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
    "os.execv(sys.executable, [sys.executable, '-m', 'hawk_dagster.cli', *sys.argv[1:]])"
)


def _session_members(session: int) -> list[int]:
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == session and fields[0] != "Z":
            members.append(int(entry.name))
    return members


def _get_json(url: str) -> object | None:
    try:
        response = requests.get(url, timeout=5)
    except requests.ConnectionError:
        return None
    return response.json() if response.ok else None


def test_sigterm_stops_hawk_dev_started_with_sigint_ignored(tmp_path: Path) -> None:
    env = {**os.environ, "HAWK_STORAGE_ROOT": str(tmp_path / "root")}
    with dagster_server(
        [sys.executable, "-c", BACKGROUND_JOB, "dev"],
        env=env,
        log_path=tmp_path / "dev.log",
        hawk_dev=True,
        hawk_api=True,
    ) as server:
        # The hawk API runs beside the UI, on loopback.
        api = server.proc.args[server.proc.args.index("--api-port") + 1]  # type: ignore[union-attr]
        health = server.wait_for(
            "the hawk API",
            lambda: _get_json(f"http://127.0.0.1:{api}/healthz"),
            timeout=90,
            interval=0.5,
        )
        assert health
        session = server.proc.pid
        assert (
            len(_session_members(session)) >= 3
        )  # dagster dev, the webserver, the daemon (and code servers)
        os.kill(server.proc.pid, signal.SIGTERM)
        try:
            server.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"hawk dev ignored SIGTERM:\n{server.log_tail()}")
        deadline = time.monotonic() + 30
        while _session_members(session) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _session_members(session) == [], server.log_tail()
