"""Start ``dagster-webserver`` / ``dagster dev`` on the repository's workspace for a test, talk GraphQL to it, and
always stop it.

Every server binds 127.0.0.1 on a free port, runs in its own session (``dagster dev`` backgrounded from a
non-interactive shell ignores SIGTERM, so the whole process group is signalled, then killed), and every wait is
bounded. The code location loads lazily, so "ready" means GraphQL already lists asset nodes.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import requests
import yaml

REPO = Path(__file__).resolve().parents[1]
WORKSPACE = REPO / "workspace.yaml"
BIN = Path(sys.executable).parent

# An instance that sends nothing anywhere; its storage is dagster-postgres's when given (as in the cluster).
DAGSTER_YAML = "telemetry:\n  enabled: false\n"

T = TypeVar("T")


class ServerError(RuntimeError):
    """The server exited, or did not become ready in time; the message ends with the tail of its output."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dagster_home(path: Path, storage: Mapping[str, Any] | None = None) -> Path:
    """A DAGSTER_HOME with telemetry off and ``storage`` (a ``storage:`` block, e.g. the ``dagster_storage``
    fixture's) or else Dagster's default SQLite storage."""
    path.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = yaml.safe_load(DAGSTER_YAML)
    if storage is not None:
        config["storage"] = dict(storage)
    (path / "dagster.yaml").write_text(yaml.safe_dump(config))
    return path


@dataclass
class DagsterServer:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise ServerError(f"server exited with {self.proc.returncode}:\n{self.log_tail()}")

    def graphql(
        self, query: str, variables: Mapping[str, Any] | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """POST a query; return ``data``, raising on transport or GraphQL errors."""
        response = requests.post(
            f"{self.url}/graphql", json={"query": query, "variables": dict(variables or {})}, timeout=timeout
        )
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def wait_for(self, what: str, probe: Callable[[], T | None], timeout: float, interval: float = 1.0) -> T:
        """Call ``probe`` until it returns something other than None (or the server dies, or time runs out)."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            self.check_alive()
            try:
                value = probe()
            except (requests.RequestException, ValueError) as e:  # not listening yet, or half-started
                last_error, value = e, None
            if value is not None:
                return value
            time.sleep(interval)
        raise ServerError(
            f"timed out after {timeout:.0f}s waiting for {what} (last error: {last_error!r}):\n{self.log_tail()}"
        )


ASSET_NODES = "{ assetNodes { assetKey { path } } }"


@contextmanager
def dagster_server(
    command: list[str],
    *,
    env: Mapping[str, str],
    log_path: Path,
    ready_timeout: float = 120,
    hawk_dev: bool = False,
    hawk_api: bool = False,
) -> Iterator[DagsterServer]:
    """Run ``command`` + ``-w workspace.yaml -h 127.0.0.1 -p <port>`` from the repo root until the block ends
    (with ``hawk_dev``, ``command`` is ``hawk dev`` and gets ``--host 127.0.0.1 --port <port>`` instead, and
    ``--no-api`` unless ``hawk_api``).

    Yields once ``/server_info`` answers and the code location's asset nodes are visible over GraphQL.
    """
    port = free_port()
    if hawk_dev:
        api = ["--api-port", str(free_port())] if hawk_api else ["--no-api"]
        argv = [*command, "--host", "127.0.0.1", "--port", str(port), *api]
    else:
        argv = [*command, "-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(port)]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=REPO,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = DagsterServer(proc, f"http://127.0.0.1:{port}", log_path)
    try:

        def server_info() -> bool | None:
            return True if requests.get(f"{server.url}/server_info", timeout=5).ok else None

        def asset_nodes() -> list[Any] | None:
            return server.graphql(ASSET_NODES)["assetNodes"] or None

        server.wait_for("/server_info", server_info, ready_timeout, interval=0.5)
        server.wait_for("asset nodes over GraphQL", asset_nodes, ready_timeout, interval=0.5)
        yield server
    finally:
        stop_process_group(proc)


def stop_process_group(proc: subprocess.Popen[bytes], grace: float = 20) -> None:
    """SIGTERM the server's process group, SIGKILL whatever is left after ``grace`` seconds (run workers included)."""
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        pass
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(timeout=10)
