"""One runner per output folder: a second one is refused with the holder named; a killed holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
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


def test_object_stores_pass_through() -> None:
    started = time.monotonic()
    with hold_output_folder("s3://bucket/evals/x", "the folder"):
        pass
    assert time.monotonic() - started < 1
