"""One runner per output folder at a time.

Two runners on one eval set's log folder (a rerun while a killed run's runner still writes, or two launches of the
same config) would both resume the same tasks and write rival logs. The folder's holder keeps an exclusive ``flock``
on ``.hawk-runner.lock`` inside it for as long as the process lives: the kernel releases it when the holder exits,
however it exits, so a crash never leaves a stale lock. The file also says who holds it, for the refusal message.

Object stores have no such lock; there, runs launched by the deployment are serialised per eval set by the run
queue (see ``docs/ARCHITECTURE.md``).
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_FILE = ".hawk-runner.lock"
RUN_ID_ENV = "HAWK_DAGSTER_RUN_ID"


class OutputFolderBusyError(RuntimeError):
    """Another live runner holds the folder; the message names it and says what to do."""


def is_local(location: str) -> bool:
    return "://" not in location or location.startswith("file://")


@contextmanager
def hold_output_folder(location: str, what: str) -> Iterator[None]:
    """Hold ``location`` (a local folder; object stores pass through) for the duration of the block.

    ``what`` names the folder in the refusal, e.g. "eval set simple-x's log folder".
    """
    if not is_local(location):
        yield
        return
    folder = Path(location.removeprefix("file://"))
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise OutputFolderBusyError(
                f"{what} ({folder}) is in use by another runner ({_describe(_read_holder(fd))}); wait for it to "
                "finish, or stop that process if it is stuck, then run again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(_holder()).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def _holder() -> dict[str, object]:
    holder: dict[str, object] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if os.environ.get(RUN_ID_ENV):
        holder["dagster_run"] = os.environ[RUN_ID_ENV]
    return holder


def _read_holder(fd: int) -> dict[str, object]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, object]) -> str:
    if not holder:
        return "a runner that has not said who it is yet"
    parts = [f"pid {holder.get('pid')} on {holder.get('host')}"]
    if holder.get("dagster_run"):
        parts.append(f"Dagster run {holder['dagster_run']}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return ", ".join(parts)
