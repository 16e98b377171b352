"""Two ``hawk edit-samples`` processes on one log: both wait on the log's edit lock at the same time, and both
requests end up in the log, the warehouse and the audit table."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
import time
from pathlib import Path

from inspect_ai.log import read_eval_log

from hawk_dagster.edits.audit import list_edits
from tests.edits.test_apply import warehouse_samples
from tests.edits_fixtures import EVAL_SET, EditedEvalSet


def _waiters(lock: Path) -> int:
    """Processes blocked on ``lock``'s flock (``/proc/locks`` lists waiters with ``->``)."""
    inode = os.stat(lock).st_ino
    lines = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in lines if "->" in line and line.split()[-3].endswith(f":{inode}"))


def test_two_processes_editing_one_log_lose_nothing(eval_set: EditedEvalSet, tmp_path: Path) -> None:
    samples = sorted(read_eval_log(str(eval_set.log)).samples or [], key=lambda s: str(s.id))
    first = tmp_path / "first.jsonl"
    first.write_text(
        json.dumps({"sample_uuid": samples[0].uuid, "type": "score_edit", "scorer": "match", "value": "C",
                    "reason": "first request"})
    )  # fmt: skip
    second = tmp_path / "second.json"
    second.write_text(
        json.dumps(
            [
                {"sample_uuid": samples[1].uuid, "type": "invalidate_sample", "reason": "second request"},
                {
                    "sample_uuid": samples[2].uuid,
                    "type": "score_edit",
                    "scorer": "match",
                    "value": "I",
                    "explanation": "x",
                    "reason": "second request",
                },
            ]
        )
    )
    lock = eval_set.log.parent / f".{eval_set.log.name}.edit-lock"
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)  # both processes will queue behind us, then run one after the other
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "hawk_dagster.cli",
                "edit-samples",
                str(path),
                "--yes",
                "--format",
                "json",
            ],
            env=dict(os.environ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in (first, second)
    ]
    try:
        deadline = time.monotonic() + 120
        while _waiters(lock) < 2:
            assert time.monotonic() < deadline, "the edit processes never reached the log's lock"
            assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
            time.sleep(0.1)
    finally:
        os.close(fd)
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    reports = [json.loads(out) for out, _ in outputs]
    assert [r["logs"][0]["applied"] for r in reports] == [1, 2]

    after = {s.uuid: s for s in read_eval_log(str(eval_set.log)).samples or []}
    assert after[samples[0].uuid].scores["match"].value == "C"  # type: ignore[index]
    assert after[samples[1].uuid].invalidation is not None
    third = after[samples[2].uuid].scores["match"]  # type: ignore[index]
    assert (third.value, third.explanation) == ("I", "x") and len(third.history) == 2
    rows = warehouse_samples(eval_set.engine)
    assert rows[samples[0].uuid]["value"] == "C" and rows[samples[1].uuid]["is_invalid"]
    assert rows[samples[2].uuid]["explanation"] == "x"
    audit = list_edits(eval_set.engine, eval_set_id=EVAL_SET)
    assert sorted(r["reason"] for r in audit) == ["first request", "second request", "second request"]
