"""The embedded server's watchdog: stops it once nothing has used it for the idle period, then exits.

Started (detached) by whoever starts or joins the server without a watchdog; one per data directory (it holds
``<pgdata>.watchdog`` locked for its lifetime). Every few seconds it looks at what uses the server: processes
registered with it that are still alive (SIGKILLed ones no longer count: the library's list of the processes that
started it, and :func:`~hawk_dagster.warehouse.embedded.register_user`'s), client connections (the postmaster's
children serving ``[local]`` sessions) and the lease that every join touches. When none of them was seen for the
idle period it stops the server under the join lock (see :func:`hawk_dagster.warehouse.embedded.stop_if_idle`),
and it exits as soon as the server is gone, whoever stopped it.

Run as ``python -m hawk_dagster.warehouse.embedded_watchdog PGDATA``.
"""

from __future__ import annotations

import fcntl
import json
import logging
import sys
import time
from pathlib import Path

import psutil

from hawk_dagster.warehouse.embedded import (
    control_file,
    idle_stop_seconds,
    pid_alive,
    postmaster_status,
    registered_users,
    stop_if_idle,
)

logger = logging.getLogger(__name__)


def users(pgdata: Path, postmaster_pid: int) -> int:
    """Live registered processes plus connected clients: anything that is using the server right now."""
    try:
        pids = json.loads((pgdata / ".handle_pids.json").read_text() or "[]")
    except (OSError, ValueError):
        pids = []
    registered = sum(1 for pid in pids if isinstance(pid, int) and pid_alive(pid)) + registered_users(pgdata)
    try:
        children = psutil.Process(postmaster_pid).children()
    except psutil.NoSuchProcess:
        return registered
    clients = 0
    for child in children:
        try:
            clients += "[local]" in " ".join(child.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return registered + clients


def watch(pgdata: Path, idle_for: float, poll: float) -> None:
    last_busy = time.time()
    while True:
        time.sleep(poll)
        server = postmaster_status(pgdata)
        if server is None or not pid_alive(server.pid):
            return  # stopped by someone else
        busy = users(pgdata, server.pid) > 0
        if busy:
            last_busy = time.time()
        elif time.time() - last_busy >= idle_for and stop_if_idle(pgdata, idle_for):
            return


def main(argv: list[str]) -> int:
    pgdata = Path(argv[0]).resolve()
    idle_for = idle_stop_seconds()
    with control_file(pgdata, "watchdog").open("a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return 0  # another watchdog watches this server
        watch(pgdata, idle_for, poll=min(5.0, idle_for / 4))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
