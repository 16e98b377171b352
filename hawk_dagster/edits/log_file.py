"""Read-modify-write of one ``.eval`` log as a compare-and-swap, so concurrent edit requests never lose each other.

- **Local files**: an exclusive ``flock`` on ``.<log name>.edit-lock`` beside the log is held across read, edit and
  write; the new log is written into ``.hawk-edit-tmp/`` in the same folder (same file system, and not listed as a
  log) and renamed over the old one, so readers see the old bytes or the new, never half a file. A second request
  waits for the lock and then reads the first one's result.
- **Object stores (S3)**: Inspect reads the log with its ETag; the new log is written to a local temporary file
  and uploaded with ``If-Match`` on that ETag (``edits.s3_conditional``: one conditional PutObject, or for large logs
  a multipart upload whose completion is conditional), so every size is a compare-and-swap. When another writer got
  there first (HTTP 412) the whole read-and-edit is retried on the new bytes, up to :data:`S3_ATTEMPTS` times.

Also the "is it still running" signals: the log's own status (``started``) is read by the caller; here, whether a
runner holds the log folder (``hawk_runner.log_lock``: a ``flock`` locally, a lease object on S3).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, TypeVar

from hawk_runner.log_lock import LOCK_FILE, is_local

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

T = TypeVar("T")

S3_ATTEMPTS = 8
"""Read-edit-write rounds on an object store before giving up (each lost round means someone else wrote)."""
TMP_DIR = ".hawk-edit-tmp"


class LogChangedError(RuntimeError):
    """The log kept changing under us (object store): nothing of ours was written."""


def local_path(location: str) -> Path:
    return Path(location.removeprefix("file://"))


Edit = Callable[["EvalLog"], tuple["EvalLog | None", T]]
"""Given the log read, the new log (``None``: nothing to write) and a result for the caller."""


def rewrite_log(location: str, edit: Edit[T]) -> T:
    """Read the log at ``location``, let ``edit`` change it, write it back atomically; return ``edit``'s result.

    ``edit`` may run more than once on an object store (each time on the latest bytes), so it must have no side
    effects.
    """
    if is_local(location):
        with _edit_lock(local_path(location)):
            return _rewrite_local(local_path(location), edit)
    return _rewrite_remote(location, edit)


@contextmanager
def _edit_lock(path: Path) -> Iterator[None]:
    fd = os.open(path.parent / f".{path.name}.edit-lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # waits for another edit of this log to finish
        yield
    finally:
        os.close(fd)


def _rewrite_local(path: Path, edit: Edit[T]) -> T:
    from inspect_ai.log import read_eval_log, write_eval_log

    new_log, result = edit(read_eval_log(str(path)))
    if new_log is None:
        return result
    tmp_dir = path.parent / TMP_DIR
    tmp_dir.mkdir(exist_ok=True)
    tmp = tmp_dir / f"{os.getpid()}-{path.name}"  # keeps the extension: Inspect picks the format from it
    try:
        write_eval_log(new_log, str(tmp))
        with tmp.open("rb") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return result


def _rewrite_remote(location: str, edit: Edit[T]) -> T:
    import tempfile

    from inspect_ai.log import read_eval_log, write_eval_log

    from hawk_dagster.edits.s3_conditional import ObjectChangedError, ObjectGoneError, replace_if_match

    for attempt in range(S3_ATTEMPTS):
        log = read_eval_log(location)
        new_log, result = edit(log)
        if new_log is None:
            return result
        if not log.etag:
            raise LogChangedError(f"{location}: the object store gave no ETag; cannot write it conditionally")
        with tempfile.TemporaryDirectory(prefix="hawk-edit-") as tmp:
            written = (
                Path(tmp) / PurePosixPath(location).name
            )  # keeps the extension: Inspect picks the format
            write_eval_log(new_log, str(written))
            try:
                replace_if_match(written, location, log.etag)
                return result
            except ObjectGoneError as ex:
                raise LogChangedError(f"{ex}; nothing of this request was written") from None
            except ObjectChangedError:
                pass
        time.sleep(min(2.0, 0.1 * 2**attempt))  # another writer won this round: read its result and retry
    raise LogChangedError(
        f"{location} changed {S3_ATTEMPTS} times while it was being edited; nothing of this request was written "
        "to it: run the request again"
    )


def runner_holding(location: str) -> str | None:
    """Who holds the log's folder as a runner (``hawk_runner.log_lock``), or ``None`` when nobody does."""
    if is_local(location):
        lock = local_path(location).parent / LOCK_FILE
        try:
            fd = os.open(lock, os.O_RDONLY)
        except FileNotFoundError:
            return None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return _describe(os.pread(fd, 4096, 0))
            return None  # closing the descriptor drops our probe
        finally:
            os.close(fd)
    from fsspec.core import url_to_fs

    fs, path = url_to_fs(location)
    lease = f"{PurePosixPath(path).parent}/{LOCK_FILE}"
    try:
        fs.invalidate_cache(lease)
        body = fs.cat_file(lease)
    except FileNotFoundError:
        return None
    try:
        expires = json.loads(body).get("expires")
    except (ValueError, AttributeError):
        return None
    if isinstance(expires, int | float) and expires > time.time():
        return _describe(body)
    return None


def _describe(body: bytes) -> str:
    try:
        holder = json.loads(body or b"{}")
    except ValueError:
        holder = {}
    if not isinstance(holder, dict) or not holder:
        return "a runner"
    parts = [f"pid {holder.get('pid')} on {holder.get('host')}"]
    if holder.get("dagster_run"):
        parts.append(f"Dagster run {holder['dagster_run']}")
    return "a runner (" + ", ".join(parts) + ")"
