"""Edits of a log on S3 (moto's server): the conditional write loses nothing to a writer that got in between, a
runner's live lease refuses the edit, and the warehouse follows."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
import s3fs
from inspect_ai.log import EvalLog, read_eval_log
from sqlalchemy import text

from hawk_dagster.access.principal import LOCAL_ADMIN
from hawk_dagster.edits.log_edits import EvalRunningError, apply_to_log
from hawk_dagster.edits.log_file import rewrite_log, runner_holding
from hawk_dagster.edits.request import Edit, parse_request
from hawk_dagster.edits.service import apply_plan
from hawk_dagster.edits.targets import plan_edits
from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.ingest.importer import import_eval_set


@pytest.fixture
def s3_log(moto_s3: str, template_log: Path, request: pytest.FixtureRequest) -> str:
    folder = f"{moto_s3}/edits-{request.node.name[:40]}-{time.time_ns()}"
    location = f"{folder}/{template_log.name}"
    s3fs.S3FileSystem().pipe_file(location, template_log.read_bytes())
    return location


def _uuids(location: str) -> list[str]:
    return sorted(str(s.uuid) for s in read_eval_log(location).samples or [])


def test_a_write_in_between_is_not_lost(s3_log: str) -> None:
    first, second = _uuids(s3_log)[:2]
    when = datetime.now(UTC)
    rounds: list[int] = []

    def edits_of(uuid: str, reason: str) -> list[Edit]:
        return list(
            parse_request(
                json.dumps([{"sample_uuid": uuid, "type": "invalidate_sample", "reason": reason}])
            ).edits
        )

    def intruder(log: EvalLog) -> tuple[EvalLog | None, None]:
        new, _ = apply_to_log(log, edits_of(second, "intruder"), author="bob", request_id="r2", now=when)
        return new, None

    def ours(log: EvalLog) -> tuple[EvalLog | None, int]:
        rounds.append(1)
        if len(rounds) == 1:  # another writer rewrites the log after we read it
            rewrite_log(s3_log, intruder)
        new, _ = apply_to_log(log, edits_of(first, "ours"), author="ann", request_id="r1", now=when)
        return new, len(rounds)

    assert rewrite_log(s3_log, ours) == 2  # the first conditional write failed (412), the second round won
    samples = {str(s.uuid): s for s in read_eval_log(s3_log).samples or []}
    assert samples[first].invalidation is not None and samples[first].invalidation.reason == "ours"
    assert samples[second].invalidation is not None and samples[second].invalidation.reason == "intruder"


def test_a_live_runner_lease_refuses_and_the_warehouse_follows(
    s3_log: str, make_database: Callable[..., str]
) -> None:
    fs = s3fs.S3FileSystem()
    folder = s3_log.rsplit("/", 1)[0]
    engine = create_warehouse_engine(make_database())
    try:
        assert import_eval_set(engine, folder, "es-s3").ok
        uuid = _uuids(s3_log)[0]
        request = parse_request(json.dumps([{"sample_uuid": uuid, "type": "score_edit", "scorer": "match",
                                             "value": "C", "explanation": "s3", "reason": "r"}]))  # fmt: skip
        plan = plan_edits(engine, request, LOCAL_ADMIN)
        lease = f"{folder}/.hawk-runner.lock"
        fs.pipe_file(lease, json.dumps({"pid": 1, "host": "pod-x", "expires": time.time() + 60}).encode())
        assert runner_holding(s3_log) == "a runner (pid 1 on pod-x)"
        with pytest.raises(EvalRunningError, match="pod-x"):
            apply_plan(engine, plan, LOCAL_ADMIN)
        fs.pipe_file(lease, json.dumps({"pid": 1, "host": "pod-x", "expires": time.time() - 1}).encode())
        assert runner_holding(s3_log) is None  # an expired lease: its runner is gone
        result = apply_plan(engine, plan, LOCAL_ADMIN)
        assert result.ok and result.logs[0].imported is not None
        with engine.connect() as conn:
            row = conn.execute(
                text("SELECT value #>> '{}', explanation FROM score WHERE sample_uuid = :u"), {"u": uuid}
            ).one()
        assert tuple(row) == ("C", "s3")
        score = next(s for s in read_eval_log(s3_log).samples or [] if s.uuid == uuid).scores["match"]  # type: ignore[union-attr]
        assert score.explanation == "s3" and len(score.history) == 2
    finally:
        engine.dispose()
