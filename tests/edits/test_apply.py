"""Edit requests against a real log and a real warehouse: every type, what Inspect reads back, the warehouse equal to
the log, re-runs, access, refusal while running."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from inspect_ai.event import ScoreEditEvent
from inspect_ai.log import read_eval_log, write_eval_log
from sqlalchemy import Engine, text

from hawk_dagster.access.principal import LOCAL_ADMIN, Principal
from hawk_dagster.edits.audit import list_edits
from hawk_dagster.edits.log_edits import EvalRunningError
from hawk_dagster.edits.request import RequestError, parse_request
from hawk_dagster.edits.service import EditResult, apply_plan
from hawk_dagster.edits.targets import EditForbiddenError, plan_edits
from hawk_dagster.warehouse.ingest.importer import import_eval_set
from tests.edits_fixtures import EVAL_SET, EditedEvalSet

ANN = dataclasses.replace(LOCAL_ADMIN, subject="ann", display_name="ann")


def edit(engine: Engine, edits: list[dict[str, Any]], principal: Principal = ANN) -> EditResult:
    request = parse_request(json.dumps(edits))
    return apply_plan(engine, plan_edits(engine, request, principal), principal)


def warehouse_samples(engine: Engine) -> dict[str, dict[str, Any]]:
    query = text(
        "SELECT s.uuid, s.id, s.is_invalid, s.invalidation_author, s.invalidation_reason, sc.value, sc.answer, "
        "sc.explanation, sc.value_float FROM sample s JOIN score sc ON sc.sample_pk = s.pk AND sc.scorer = 'match'"
    )
    with engine.connect() as conn:
        return {row.uuid: dict(row._mapping) for row in conn.execute(query)}


def headline(engine: Engine) -> float:
    with engine.connect() as conn:
        return float(conn.execute(text("SELECT headline_value FROM eval")).scalar_one())


def test_every_edit_type_lands_in_the_log_and_the_warehouse(eval_set: EditedEvalSet) -> None:
    before = read_eval_log(str(eval_set.log))
    samples = sorted(before.samples or [], key=lambda s: str(s.id))
    wrong = next(s for s in samples if s.scores and s.scores["match"].value == "I")
    other = next(s for s in samples if s is not wrong)
    third = next(s for s in samples if s not in (wrong, other))
    accuracy_before = before.results.scores[0].metrics["accuracy"].value  # type: ignore[union-attr]
    # a sample invalid before the request, to un-invalidate
    edit(eval_set.engine, [{"sample_uuid": third.uuid, "type": "invalidate_sample", "reason": "first"}])

    result = edit(
        eval_set.engine,
        [
            {"sample_uuid": wrong.uuid, "type": "score_edit", "scorer": "match", "value": "C", "answer": "42",
             "explanation": "regraded by hand", "reason": "grader bug"},
            {"sample_uuid": other.uuid, "type": "invalidate_sample", "reason": "sandbox broke"},
            {"sample_uuid": third.uuid, "type": "uninvalidate_sample", "reason": "was fine"},
        ],
    )  # fmt: skip
    assert result.ok and [a.status for a in result.logs[0].outcome.edits] == ["applied"] * 3  # type: ignore[union-attr]
    assert result.logs[0].outcome.metrics_recomputed  # type: ignore[union-attr]

    after = read_eval_log(str(eval_set.log))
    by_uuid = {s.uuid: s for s in after.samples or []}
    score = by_uuid[wrong.uuid].scores["match"]  # type: ignore[index]
    assert (score.value, score.answer, score.explanation) == ("C", "42", "regraded by hand")
    # Inspect's score history: the original, then the edit with its provenance
    assert [h.value for h in score.history] == ["I", "C"]
    provenance = score.history[1].provenance
    assert provenance is not None and (provenance.author, provenance.reason) == ("ann", "grader bug")
    assert any(isinstance(e, ScoreEditEvent) and e.score_name == "match" for e in by_uuid[wrong.uuid].events)
    invalidation = by_uuid[other.uuid].invalidation
    assert invalidation is not None and (invalidation.author, invalidation.reason) == ("ann", "sandbox broke")
    assert by_uuid[third.uuid].invalidation is None and after.invalidated
    # metrics recomputed: one more correct answer
    accuracy_after = after.results.scores[0].metrics["accuracy"].value  # type: ignore[union-attr]
    assert accuracy_after == pytest.approx(accuracy_before + 1 / len(samples))

    # the warehouse equals the log
    rows = warehouse_samples(eval_set.engine)
    for sample in after.samples or []:
        row = rows[sample.uuid]  # type: ignore[index]
        assert row["value"] == sample.scores["match"].value  # type: ignore[index]
        assert row["answer"] == sample.scores["match"].answer  # type: ignore[index]
        assert row["is_invalid"] == (sample.invalidation is not None)
        assert row["invalidation_reason"] == (sample.invalidation.reason if sample.invalidation else None)
    assert headline(eval_set.engine) == pytest.approx(accuracy_after)

    # the audit trail
    audit = list_edits(eval_set.engine, eval_set_id=EVAL_SET)
    assert len(audit) == 4
    score_row = next(r for r in audit if r["type"] == "score_edit")
    original = wrong.scores["match"]  # type: ignore[index]
    assert score_row["before"] == {
        "value": "I",
        "answer": original.answer,
        "explanation": original.explanation,
    }
    assert score_row["after"] == {"value": "C", "answer": "42", "explanation": "regraded by hand"}
    assert (score_row["author"], score_row["reason"], score_row["scorer"]) == ("ann", "grader bug", "match")
    uninvalidated = next(r for r in audit if r["type"] == "uninvalidate_sample")
    assert uninvalidated["before"]["invalidation"]["reason"] == "first" and uninvalidated["after"] == {
        "invalidation": None
    }
    assert [r["sample_uuid"] for r in list_edits(eval_set.engine, sample_uuid=other.uuid)] == [other.uuid]


def test_a_rerun_applies_nothing_twice_and_a_reimport_never_undoes(eval_set: EditedEvalSet) -> None:
    uuid = str((read_eval_log(str(eval_set.log)).samples or [])[0].uuid)
    edits = [
        {"sample_uuid": uuid, "type": "score_edit", "scorer": "match", "value": "C", "reason": "r"},
        {"sample_uuid": uuid, "type": "invalidate_sample", "reason": "r"},
    ]
    first = edit(eval_set.engine, edits)
    assert first.logs[0].recorded == 2
    # the process died after the log write: the audit rows are lost
    with eval_set.engine.begin() as conn:
        conn.execute(text("DELETE FROM sample_edit"))
    written = eval_set.log.read_bytes()
    again = edit(eval_set.engine, edits)
    assert again.request_id == first.request_id
    assert [a.status for a in again.logs[0].outcome.edits] == ["already applied"] * 2  # type: ignore[union-attr]
    assert eval_set.log.read_bytes() == written  # not rewritten
    assert again.logs[0].recorded == 2  # the missing rows, with the values the log records
    (score_row,) = [r for r in list_edits(eval_set.engine, eval_set_id=EVAL_SET) if r["type"] == "score_edit"]
    assert score_row["after"] == {"value": "C"} and score_row["before"]["value"] in ("C", "I")
    assert edit(eval_set.engine, edits).logs[0].recorded == 0  # nothing duplicated
    score = (read_eval_log(str(eval_set.log)).samples or [])[0].scores["match"]  # type: ignore[index]
    assert len(score.history) == 2

    # a forced re-import reads the edited log: the edit stays
    import_eval_set(eval_set.engine, str(eval_set.log.parent), EVAL_SET, force=True)
    row = warehouse_samples(eval_set.engine)[uuid]
    assert row["value"] == "C" and row["is_invalid"]


def test_unknown_uuids_and_scorers_are_named_and_nothing_changes(eval_set: EditedEvalSet) -> None:
    uuid = str((read_eval_log(str(eval_set.log)).samples or [])[0].uuid)
    request = parse_request(
        json.dumps(
            [
                {"sample_uuid": "nope-1", "type": "invalidate_sample", "reason": "r"},
                {"sample_uuid": uuid, "type": "score_edit", "scorer": "accuracy", "value": 1, "reason": "r"},
            ]
        )
    )
    with pytest.raises(RequestError) as raised:
        plan_edits(eval_set.engine, request, ANN)
    message = str(raised.value)
    assert "no sample with uuid 'nope-1' (item 0)" in message
    assert f"item 1: sample '{uuid}' has no scorer 'accuracy'; its scorers: match" in message


def test_access_view_only_is_refused_and_invisible_is_unknown(eval_set: EditedEvalSet) -> None:
    with eval_set.engine.begin() as conn:
        conn.execute(text("UPDATE eval_set SET model_groups = ARRAY['team-a']"))
    uuid = str((read_eval_log(str(eval_set.log)).samples or [])[0].uuid)
    request = parse_request(json.dumps([{"sample_uuid": uuid, "type": "invalidate_sample", "reason": "r"}]))
    viewer = Principal("bob", frozenset({"team-a"}), frozenset(), is_admin=False, can_edit=False)
    with pytest.raises(EditForbiddenError, match=f"may view but not edit eval set {EVAL_SET}"):
        plan_edits(eval_set.engine, request, viewer)
    outsider = Principal("eve", frozenset({"team-b"}), frozenset(), is_admin=False, can_edit=True)
    with pytest.raises(RequestError, match=f"no sample with uuid '{uuid}'"):
        plan_edits(eval_set.engine, request, outsider)
    editor = dataclasses.replace(viewer, can_edit=True)
    assert plan_edits(eval_set.engine, request, editor).eval_set_ids == [EVAL_SET]


def test_refused_while_running(eval_set: EditedEvalSet) -> None:
    from hawk_runner.log_lock import hold_output_folder

    uuid = str((read_eval_log(str(eval_set.log)).samples or [])[0].uuid)
    request = parse_request(json.dumps([{"sample_uuid": uuid, "type": "invalidate_sample", "reason": "r"}]))
    plan = plan_edits(eval_set.engine, request, ANN)
    original = eval_set.log.read_bytes()
    with hold_output_folder(str(eval_set.log.parent), "test"):
        with pytest.raises(EvalRunningError, match=r"a runner \(pid \d+ on .*\) is writing its logs"):
            apply_plan(eval_set.engine, plan, ANN)
    assert eval_set.log.read_bytes() == original

    log = read_eval_log(str(eval_set.log))
    log.status = "started"
    write_eval_log(log, str(eval_set.log))
    started = eval_set.log.read_bytes()
    with pytest.raises(EvalRunningError, match="is still 'started'"):
        apply_plan(eval_set.engine, plan, ANN)
    assert eval_set.log.read_bytes() == started
    assert list_edits(eval_set.engine, eval_set_id=EVAL_SET) == []


def test_now_is_the_provenance_time(eval_set: EditedEvalSet) -> None:
    uuid = str((read_eval_log(str(eval_set.log)).samples or [])[0].uuid)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    request = parse_request(json.dumps([{"sample_uuid": uuid, "type": "invalidate_sample", "reason": "r"}]))
    apply_plan(eval_set.engine, plan_edits(eval_set.engine, request, ANN), ANN, now=when)
    sample = (read_eval_log(str(eval_set.log)).samples or [])[0]
    assert sample.invalidation is not None and sample.invalidation.timestamp == when
    (row,) = list_edits(eval_set.engine, sample_uuid=uuid)
    assert row["edited_at"] == when
