"""One runner per output folder: a second one is refused with the holder named; a killed holder frees it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from hawk_runner import log_lock
from hawk_runner.log_lock import LOCK_FILE, RUN_ID_ENV, OutputFolderBusyError, hold_output_folder

HOLD_FOREVER = """
import sys, time
from hawk_runner.log_lock import hold_output_folder
with hold_output_folder(sys.argv[1], "the folder"):
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_second_holder_is_refused_with_the_first_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(RUN_ID_ENV, "run-1234")
    folder = tmp_path / "evals" / "x"
    with hold_output_folder(str(folder), "eval set x's log folder"):
        with pytest.raises(OutputFolderBusyError) as caught:
            with hold_output_folder(str(folder), "eval set x's log folder"):
                pytest.fail("two holders at once")
    message = str(caught.value)
    assert message.startswith(f"eval set x's log folder ({folder}) is in use by another runner")
    assert f"pid {os.getpid()}" in message and "Dagster run run-1234" in message and "since " in message
    # Released at the end of the block: the next runner gets it.
    with hold_output_folder(str(folder), "eval set x's log folder"):
        assert (folder / LOCK_FILE).exists()


def test_a_killed_holder_releases_the_folder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_FOREVER, str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        with pytest.raises(OutputFolderBusyError, match=f"pid {holder.pid} "):
            with hold_output_folder(str(tmp_path), "the folder"):
                pass
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with hold_output_folder(str(tmp_path), "the folder"):
        pass


# --- object stores: a lease on moto's S3 server ----------------------------------------------------------------------


def _lease(prefix: str) -> dict[str, object]:
    import fsspec

    fs, path = fsspec.core.url_to_fs(f"{prefix}/{LOCK_FILE}")
    fs.invalidate_cache()
    return json.loads(fs.cat_file(path)) if fs.exists(path) else {}


def test_an_object_store_folder_is_held_by_one_runner(moto_s3: str) -> None:
    prefix = f"{moto_s3}/{uuid.uuid4().hex[:8]}/evals/x"
    with hold_output_folder(prefix, "eval set x's log folder"):
        assert _lease(prefix)["pid"] == os.getpid()
        with pytest.raises(OutputFolderBusyError) as caught:
            with hold_output_folder(prefix, "eval set x's log folder"):
                pytest.fail("two holders at once")
        assert f"({prefix}) is in use by another runner (pid {os.getpid()} on" in str(caught.value)
        assert "its lease runs until" in str(caught.value)
    assert _lease(prefix) == {}  # released
    with hold_output_folder(prefix, "eval set x's log folder"):
        pass


def test_an_expired_lease_is_taken_over_and_a_live_one_renewed(
    moto_s3: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import fsspec

    prefix = f"{moto_s3}/{uuid.uuid4().hex[:8]}/evals/y"
    fs, path = fsspec.core.url_to_fs(f"{prefix}/{LOCK_FILE}")
    # A holder that died 10 s after its lease ran out.
    fs.pipe_file(path, json.dumps({"pid": 1, "host": "gone", "expires": time.time() - 10}).encode())
    monkeypatch.setattr(log_lock, "RENEW_SECONDS", 0.5)
    with hold_output_folder(prefix, "the folder"):
        first = _lease(prefix)
        assert first["pid"] == os.getpid()
        time.sleep(1.6)
        renewed = _lease(prefix)
        assert isinstance(renewed["expires"], float) and isinstance(first["expires"], float)
        assert renewed["expires"] > first["expires"]
    assert _lease(prefix) == {}
