"""``hawk edit-samples`` and ``hawk list edits`` through the CLI: the summary, the confirmation, a malformed file that
changes nothing, the audit listing in three formats, and the edit reported to the local Dagster instance."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from inspect_ai.log import read_eval_log
from sqlalchemy import Engine, text

from hawk_dagster.cli.main import cli
from tests.edits_fixtures import EVAL_SET, EditedEvalSet


def hawk(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(cli, list(args), input=stdin)


def _rows(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(
                text(
                    "SELECT s.uuid, s.is_invalid, s.invalidation_reason, sc.value, sc.explanation, sc.updated_at "
                    "FROM sample s JOIN score sc ON sc.sample_pk = s.pk ORDER BY s.uuid, sc.scorer"
                )
            )
        ]


def _uuids(eval_set: EditedEvalSet) -> list[str]:
    return sorted(str(s.uuid) for s in read_eval_log(str(eval_set.log)).samples or [])


def test_edit_samples_summarises_asks_and_applies(eval_set: EditedEvalSet, tmp_path: Path) -> None:
    uuid, other = _uuids(eval_set)[:2]
    request = tmp_path / "edits.jsonl"
    request.write_text(
        json.dumps(
            {"sample_uuid": uuid, "type": "score_edit", "scorer": "match", "value": "C", "reason": "regrade"}
        )
        + "\n"
        + json.dumps({"sample_uuid": other, "details": {"type": "invalidate_sample", "reason": "broken"}})
    )
    original = eval_set.log.read_bytes()
    declined = hawk("edit-samples", str(request), stdin="n\n")
    assert declined.exit_code == 2 and "nothing was changed" in declined.output
    assert "2 edit(s) in 1 log(s)" in declined.output and f"{uuid} (id" in declined.output
    assert 'match: value -> "C"' in declined.output
    assert eval_set.log.read_bytes() == original

    applied = hawk("edit-samples", str(request), stdin="y\n")
    assert applied.exit_code == 0, applied.output
    assert "2 applied, 0 already applied, 0 unchanged; warehouse imported" in applied.output
    samples = json.loads(hawk("list", "samples", EVAL_SET, "--invalid", "--format", "json").output)
    assert [s["uuid"] for s in samples] == [other]

    table = hawk("list", "edits", EVAL_SET)
    assert table.exit_code == 0 and "regrade" in table.output and "broken" in table.output
    listed = json.loads(hawk("list", "edits", EVAL_SET, "--format", "json").output)
    assert {r["type"] for r in listed} == {"score_edit", "invalidate_sample"}
    score_row = next(r for r in listed if r["type"] == "score_edit")
    assert score_row["after"] == {"value": "C"} and score_row["scorer"] == "match"
    (only,) = list(
        csv.DictReader(io.StringIO(hawk("list", "edits", "--sample", other, "--format", "csv").output))
    )
    assert only["type"] == "invalidate_sample" and only["reason"] == "broken"
    assert hawk("list", "edits", "nope").exit_code == 2

    again = hawk("edit-samples", str(request), "--yes")
    assert again.exit_code == 0 and "0 applied, 2 already applied" in again.output


def test_a_malformed_file_changes_nothing(eval_set: EditedEvalSet, tmp_path: Path) -> None:
    uuid = _uuids(eval_set)[0]
    original, rows = eval_set.log.read_bytes(), _rows(eval_set.engine)
    cases = {
        "bad.jsonl": (
            json.dumps({"sample_uuid": uuid, "type": "invalidate_sample", "reason": "ok"})
            + "\n"
            + json.dumps({"sample_uuid": uuid, "type": "score_edit", "scorer": "match", "reason": "r"}),
            "line 2: a score_edit must change at least one of",
        ),
        "unknown.json": (
            json.dumps([{"sample_uuid": "no-such", "type": "invalidate_sample", "reason": "r"}]),
            "no sample with uuid 'no-such' (item 0)",
        ),
        "scorer.json": (
            json.dumps(
                [{"sample_uuid": uuid, "type": "score_edit", "scorer": "f1", "value": 1, "reason": "r"}]
            ),
            "has no scorer 'f1'; its scorers: match",
        ),
        "dup.json": (
            json.dumps([{"sample_uuid": uuid, "type": "invalidate_sample", "reason": "r"}] * 2),
            "item 1: duplicate of item 0",
        ),
    }
    for name, (content, message) in cases.items():
        path = tmp_path / name
        path.write_text(content)
        result = hawk("edit-samples", str(path), "--yes")
        assert result.exit_code == 2, (name, result.output)
        assert message in result.output and "nothing was changed" in result.output, result.output
    assert eval_set.log.read_bytes() == original and _rows(eval_set.engine) == rows
    assert "No edits" in hawk("list", "edits", EVAL_SET).output


def test_edits_show_in_dagster_as_warehouse_materialisations(eval_set: EditedEvalSet, tmp_path: Path) -> None:
    import dagster as dg

    from hawk_dagster.deployment.local_instance import local_instance

    instance = local_instance(eval_set.storage.state_dir)  # the storage root has a local instance
    uuid = _uuids(eval_set)[0]
    request = tmp_path / "edit.json"
    request.write_text(
        json.dumps(
            [{"sample_uuid": uuid, "type": "score_edit", "scorer": "match", "value": "I", "reason": "why"}]
        )
    )
    assert hawk("edit-samples", str(request), "--yes").exit_code == 0
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("eval_warehouse"), asset_partitions=[EVAL_SET]), limit=5
    ).records
    (record,) = records
    materialization = record.asset_materialization
    assert materialization is not None and materialization.partition == EVAL_SET
    metadata = {key: value.value for key, value in materialization.metadata.items()}
    assert metadata["source"] == "hawk edit-samples" and metadata["edits"] == 1 and metadata["applied"] == 1
    (listed,) = metadata["edit_list"]  # type: ignore[misc]
    assert (listed["sample_uuid"], listed["scorer"], listed["after"], listed["reason"]) == (
        uuid,
        "match",
        {"value": "I"},
        "why",
    )
    assert listed["status"] == "applied" and metadata["import_status"] == "imported"
