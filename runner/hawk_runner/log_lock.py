"""One runner per output folder at a time.

Two runners on one eval set's log folder (a rerun while a killed run's runner still writes, or two launches of the
same config) would both resume the same tasks and write rival logs. The folder's holder keeps an exclusive ``flock``
on ``.hawk-runner.lock`` inside it for as long as the process lives: the kernel releases it when the holder exits,
however it exits, so a crash never leaves a stale lock. The file also says who holds it, for the refusal message.

Object stores have no ``flock``; there the holder keeps a lease instead: ``.hawk-runner.lock`` is created only if
absent (S3's conditional write, ``If-None-Match: *``), says until when it holds, and is renewed every
:data:`RENEW_SECONDS` with ``If-Match`` on its own version. A holder that died stops renewing; once its lease has
expired the next runner takes the object over, again conditionally, so of two contenders only one wins.
"""

from __future__ import annotations

import datetime
import fcntl
import json
import os
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # fsspec is imported only for object stores
    from fsspec import AbstractFileSystem

LOCK_FILE = ".hawk-runner.lock"
RUN_ID_ENV = "HAWK_DAGSTER_RUN_ID"
LEASE_SECONDS = 90.0
"""How long an object-store lease holds without renewal: how long a crashed holder keeps others out."""
RENEW_SECONDS = 30.0


class OutputFolderBusyError(RuntimeError):
    """Another live runner holds the folder; the message names it and says what to do."""


def is_local(location: str) -> bool:
    return "://" not in location or location.startswith("file://")


@contextmanager
def hold_output_folder(location: str, what: str) -> Iterator[None]:
    """Hold ``location`` (a local folder or an object-store prefix) for the duration of the block.

    ``what`` names the folder in the refusal, e.g. "eval set simple-x's log folder".
    """
    if not is_local(location):
        with _hold_by_lease(location, what):
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


@contextmanager
def _hold_by_lease(location: str, what: str) -> Iterator[None]:
    from fsspec.core import url_to_fs

    fs, folder = url_to_fs(location)
    path = f"{folder.rstrip('/')}/{LOCK_FILE}"
    etag = _acquire_lease(fs, path, f"{what} ({location})")
    held = {"etag": etag}
    stop = threading.Event()
    renewer = threading.Thread(
        target=_renew_lease, args=(fs, path, held, stop), name="hawk-runner-lease", daemon=True
    )
    renewer.start()
    try:
        yield
    finally:
        stop.set()
        renewer.join(timeout=10)
        bucket, key, _ = fs.split_path(path)
        try:  # only our own version: a lease lost to another runner is theirs now
            fs.call_s3("delete_object", Bucket=bucket, Key=key, IfMatch=held["etag"])
        except OSError:
            pass


def _lease_body() -> bytes:
    holder = _holder()
    holder["expires"] = time.time() + LEASE_SECONDS
    return json.dumps(holder).encode()


def _acquire_lease(fs: AbstractFileSystem, path: str, described: str) -> str:
    try:
        return str(fs.pipe_file(path, _lease_body(), mode="create")["ETag"])
    except FileExistsError:
        pass
    fs.invalidate_cache(path)
    try:
        etag = str(fs.info(path)["ETag"])
        holder = json.loads(fs.cat_file(path) or b"{}")
    except (FileNotFoundError, ValueError):  # released (or garbled) meanwhile: try once more from scratch
        etag, holder = "", {}
    expires = holder.get("expires") if isinstance(holder, dict) else None
    if isinstance(expires, int | float) and expires > time.time():
        until = datetime.datetime.fromtimestamp(expires, datetime.UTC).strftime("%H:%M:%S UTC")
        raise OutputFolderBusyError(
            f"{described} is in use by another runner ({_describe(holder)}; its lease runs until {until} unless "
            "renewed); wait for it to finish, or stop it if it is stuck, then run again"
        )
    try:  # expired: take it over, unless someone else changed it since we read it
        if etag:
            return str(fs.pipe_file(path, _lease_body(), IfMatch=etag)["ETag"])
        return str(fs.pipe_file(path, _lease_body(), mode="create")["ETag"])
    except OSError:
        raise OutputFolderBusyError(
            f"{described} was just taken by another runner; wait for it to finish, then run again"
        ) from None


def _renew_lease(fs: AbstractFileSystem, path: str, held: dict[str, str], stop: threading.Event) -> None:
    while not stop.wait(RENEW_SECONDS):
        try:
            held["etag"] = str(fs.pipe_file(path, _lease_body(), IfMatch=held["etag"])["ETag"])
        except OSError as ex:
            print(
                f"hawk-runner: lost the lease on {path} ({ex}); another runner may write here",
                file=sys.stderr,
            )
            return


def _holder() -> dict[str, Any]:
    holder: dict[str, Any] = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "since": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
    }
    if os.environ.get(RUN_ID_ENV):
        holder["dagster_run"] = os.environ[RUN_ID_ENV]
    return holder


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        data = json.loads(os.pread(fd, 4096, 0) or b"{}")
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _describe(holder: dict[str, Any]) -> str:
    if not holder:
        return "a runner that has not said who it is yet"
    parts = [f"pid {holder.get('pid')} on {holder.get('host')}"]
    if holder.get("dagster_run"):
        parts.append(f"Dagster run {holder['dagster_run']}")
    if holder.get("since"):
        parts.append(f"since {holder['since']}")
    return ", ".join(parts)
