"""Importing real Inspect logs (generated offline by the fixtures in conftest.py) into a real PostgreSQL."""

from __future__ import annotations

import json
import os
import shutil
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest
from hawk_runner.reporting import CellProgress
from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_sample_summaries
from sqlalchemy import Engine, func, select, text

from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.ingest.eval_zip import read_log_header
from hawk_dagster.warehouse.ingest.importer import (
    ImportReport,
    LogStatus,
    discover_logs,
    eval_set_lock_key,
    import_eval_set,
)
from hawk_dagster.warehouse.read.counts import compare_counts, log_counts, warehouse_counts
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, Sample, Score

if TYPE_CHECKING:
    from tests.warehouse.conftest import ResumedLogs

# ---------------------------------------------------------------------------------------------------------------
# helpers


def _task_ids(log_dir: Path | str) -> dict[str, str]:
    """task name -> task_id for the logs in a dir."""
    return {info.task: info.task_id for info in list_eval_logs(str(log_dir))}


def _statuses(report: ImportReport) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for log in report.logs:
        out.setdefault(log.task_id or "?", []).append(log.status.value)
    return {k: sorted(v) for k, v in out.items()}


def _dump(engine: Engine, ignore: frozenset[str] = frozenset()) -> dict[str, list[dict[str, Any]]]:
    """Every row of every warehouse table (minus ignored columns), in a stable order."""
    tables = ("eval_set", "eval", "sample", "score", "message", "sample_model", "model_role")
    with engine.connect() as conn:
        return {
            table: sorted(
                (
                    {k: v for k, v in row._mapping.items() if k not in ignore}
                    for row in conn.execute(text(f"SELECT * FROM {table}"))
                ),
                key=repr,
            )
            for table in tables
        }


_NATURAL_SQL = {
    "eval": "SELECT task_id, eval_id, status, location, file_hash, completed_samples FROM eval",
    "sample": """SELECT e.task_id, s.uuid, s.id, s.epoch, s.input, s.target, s.output, s.total_tokens,
                        s.error_message, s."limit", s.metadata
                 FROM sample s JOIN eval e ON e.pk = s.eval_pk""",
    "score": """SELECT s.uuid, c.scorer, c.key, c.value, c.value_float, c.answer, c.explanation, c.is_headline
                FROM score c JOIN sample s ON s.pk = c.sample_pk""",
    "message": """SELECT s.uuid, m.message_order, m.message_id, m.role, m.content_text, m.tool_calls
                  FROM message m JOIN sample s ON s.pk = m.sample_pk""",
    "sample_model": "SELECT s.uuid, m.model FROM sample_model m JOIN sample s ON s.pk = m.sample_pk",
}


def _natural_dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Rows keyed by natural keys only (no pks or timestamps), comparable across databases."""
    with engine.connect() as conn:
        return {
            name: sorted((tuple(r) for r in conn.execute(text(q))), key=repr)
            for name, q in _NATURAL_SQL.items()
        }


def _scalar(engine: Engine, stmt: Any) -> Any:
    with engine.connect() as conn:
        return conn.execute(stmt).scalar_one()


def _log_file(log_dir: Path, task: str) -> Path:
    (path,) = [p for p in log_dir.glob("*.eval") if f"_{task}_" in p.name]
    return path


def _corrupt_member(path: Path, member_suffix: str) -> str:
    """Overwrite the compressed bytes of one zip member in place (the header and summaries stay readable)."""
    with zipfile.ZipFile(path) as zf:
        (info,) = [i for i in zf.infolist() if i.filename.endswith(member_suffix)]
    with path.open("r+b") as f:
        f.seek(info.header_offset + 26)
        name_len = int.from_bytes(f.read(2), "little")
        extra_len = int.from_bytes(f.read(2), "little")
        data_start = info.header_offset + 30 + name_len + extra_len
        f.seek(data_start + max(0, info.compress_size // 2 - 8))
        f.write(b"\xde\xad\xbe\xef" * 4)
    return info.filename


# ---------------------------------------------------------------------------------------------------------------
# basic import


def test_import_matches_logs(warehouse_engine: Engine, eval_logs_dir: Path, eval_tasks: ModuleType) -> None:
    ids = _task_ids(eval_logs_dir)
    report = import_eval_set(
        warehouse_engine,
        str(eval_logs_dir),
        "es-basic",
        eval_set_name="basic grid",
        config_snapshot={"tasks": ["arith", "multi"]},
        created_by="tester@example.com",
        tags=["smoke"],
        metadata={"purpose": "test"},
    )

    assert report.ok, report.to_dict()
    assert _statuses(report) == {ids["arith"]: ["imported"], ids["multi"]: ["imported"]}
    assert (report.imported_count, report.skipped_count) == (2, 0)
    assert report.warehouse_description == warehouse_engine.url.render_as_string(hide_password=True)
    assert report.to_dict()["totals"] == {
        "logs": 2,
        "imported": 2,
        "skipped_unchanged": 0,
        "superseded": 0,
        "failed": 0,
        "samples": report.samples,
        "scores": report.scores,
        "messages": report.messages,
    }
    n_arith = eval_tasks.ARITH_SAMPLES
    n_multi = len(eval_tasks.MULTI_IDS) * eval_tasks.MULTI_EPOCHS
    assert report.samples == n_arith + n_multi
    assert warehouse_counts(warehouse_engine, "es-basic") == {ids["arith"]: n_arith, ids["multi"]: n_multi}
    assert log_counts(str(eval_logs_dir)) == warehouse_counts(warehouse_engine, "es-basic")
    assert _scalar(warehouse_engine, select(func.count()).select_from(Score)) == report.scores
    assert compare_counts(warehouse_engine, "es-basic", str(eval_logs_dir)).matches

    # A lost row is what the blocking asset check exists to catch: it names the task and both counts.
    with warehouse_engine.begin() as conn:
        arith_pk = conn.execute(select(Eval.pk).where(Eval.task_id == ids["arith"])).scalar_one()
        victim = conn.execute(select(Sample.pk).where(Sample.eval_pk == arith_pk).limit(1)).scalar_one()
        conn.execute(Sample.__table__.delete().where(Sample.pk == victim))
    broken = compare_counts(warehouse_engine, "es-basic", str(eval_logs_dir))
    assert not broken.matches
    assert broken.mismatched == {ids["arith"]: {"logs": n_arith, "warehouse": n_arith - 1}}
    assert broken.samples_in_logs - broken.samples_in_warehouse == 1

    with warehouse_engine.connect() as conn:
        es = conn.execute(select(EvalSet)).one()
        assert (es.eval_set_id, es.name, es.created_by, es.tags) == (
            "es-basic",
            "basic grid",
            "tester@example.com",
            ["smoke"],
        )
        assert es.config == {"tasks": ["arith", "multi"]} and es.metadata == {"purpose": "test"}
        assert es.log_dir == str(eval_logs_dir) and es.last_imported_at is not None
        evals = {row.task_name: row for row in conn.execute(select(Eval.__table__))}

    arith_log = read_eval_log(str(_log_file(eval_logs_dir, "arith")), header_only=True)
    arith = evals["arith"]
    assert arith.task_id == ids["arith"] and arith.eval_id == arith_log.eval.eval_id
    assert arith.status == "success" and arith.model == eval_tasks.MOCK_MODEL
    assert arith.total_samples == arith.completed_samples == n_arith
    assert arith.agent == "generate" and arith.task_args == {"n": n_arith} and arith.epochs == 1
    assert arith.location == _log_file(eval_logs_dir, "arith").as_uri()
    assert arith.file_hash.startswith("sha256:")
    assert arith.file_size_bytes == _log_file(eval_logs_dir, "arith").stat().st_size
    assert (arith.headline_scorer, arith.headline_metric) == ("match", "accuracy")
    assert arith.headline_value == pytest.approx((n_arith - 1) / n_arith)
    assert arith.model_usage[eval_tasks.MOCK_MODEL]["total_tokens"] == 11 * n_arith
    assert (
        arith.started_at is not None and arith.completed_at is not None and arith.log_created_at is not None
    )

    multi = evals["multi"]
    assert multi.epochs == eval_tasks.MULTI_EPOCHS and multi.agent == "multi_solver"
    assert (multi.headline_scorer, multi.headline_score) == ("parts", "exact")


def test_sample_and_score_rows(warehouse_engine: Engine, eval_logs_dir: Path, eval_tasks: ModuleType) -> None:
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-rows")
    with warehouse_engine.connect() as conn:
        samples = {row.uuid: row for row in conn.execute(select(Sample.__table__))}
        scores = [row for row in conn.execute(select(Score.__table__))]

    for task in ("arith", "multi"):
        log = read_eval_log(str(_log_file(eval_logs_dir, task)))  # a full read is fine for tiny test logs
        for expected in log.samples or []:
            row = samples[expected.uuid]
            assert (row.id, row.epoch) == (str(expected.id), expected.epoch)
            assert row.input == expected.input and row.target == expected.target
            assert row.output == (expected.output.completion if expected.output else None)
            assert row.input_tokens == sum(u.input_tokens for u in expected.model_usage.values())
            assert row.total_tokens == sum(u.total_tokens for u in expected.model_usage.values())
            assert row.message_count == len(expected.messages)
            assert row.metadata == expected.metadata
            assert row.started_at is not None and row.total_time_seconds is not None

    arith_rows = [s for s in samples.values() if s.id.startswith("add-")]
    assert {s.id: s.output for s in arith_rows}[eval_tasks.ARITH_WRONG_ID] == "7"
    say_rows = [s for s in samples.values() if not s.id.startswith("add-") and s.error_message is None]
    assert all(s.input_tokens_cache_read is not None and s.reasoning_tokens is not None for s in say_rows)
    assert all(s.input_tokens_cache_write is None for s in samples.values())

    boom = [s for s in samples.values() if s.id == str(eval_tasks.BOOM_ID)]
    assert len(boom) == eval_tasks.MULTI_EPOCHS
    assert all("boom" in s.error_message and "RuntimeError" in (s.error_traceback or "") for s in boom)
    chatty = [s for s in samples.values() if s.id == str(eval_tasks.CHATTY_ID)]
    assert {s.limit for s in chatty} == {"message"}

    by_sample: dict[str, dict[tuple[str, str], Any]] = {}
    for score in scores:
        by_sample.setdefault(score.sample_uuid, {})[(score.scorer, score.key)] = score
        assert score.sample_uuid in samples

    for s in arith_rows:
        (match_row,) = by_sample[s.uuid].values()
        assert (match_row.scorer, match_row.key, match_row.is_headline) == ("match", "", True)
        expected_value = "I" if s.id == eval_tasks.ARITH_WRONG_ID else "C"
        assert (match_row.value, match_row.value_float) == (
            expected_value,
            1.0 if expected_value == "C" else 0.0,
        )

    for s in samples.values():
        if s.id.startswith("add-"):
            continue
        rows = by_sample.get(s.uuid, {})
        if s.error_message is not None:
            assert rows == {}, "an errored sample has no scores"
            continue
        assert set(rows) == {("parts", "exact"), ("parts", "len_ok"), ("verdict", "")}
        exact, len_ok, verdict = rows[("parts", "exact")], rows[("parts", "len_ok")], rows[("verdict", "")]
        # the chatty sample's last answer echoes the extra turns, so it scores 0 (a real 0, not a NULL)
        right = s.output == s.id
        assert right == (int(s.id) != eval_tasks.CHATTY_ID)
        assert (exact.value, exact.value_float, exact.is_headline) == (float(right), float(right), True)
        assert (len_ok.value, len_ok.value_float, len_ok.is_headline) == (right, float(right), False)
        assert (
            exact.answer == s.output
            and exact.explanation.startswith("compared")
            and exact.metadata == {"target": s.id}
        )
        expected_verdict = eval_tasks.VERDICTS[int(s.id)]
        assert verdict.value == expected_verdict and verdict.is_headline is False
        assert verdict.value_float == {"C": 1.0, "P": 0.5, "N": 0.0, "maybe": None}[expected_verdict]

    n_scored = (len(eval_tasks.MULTI_IDS) - 1) * eval_tasks.MULTI_EPOCHS
    assert len(scores) == len(arith_rows) + 3 * n_scored


def test_empty_log_dir_registers_eval_set(warehouse_engine: Engine, tmp_path: Path) -> None:
    report = import_eval_set(warehouse_engine, str(tmp_path), "es-empty", eval_set_name="nothing yet")
    assert report.ok and report.logs == []
    assert (
        _scalar(warehouse_engine, select(EvalSet.name).where(EvalSet.eval_set_id == "es-empty"))
        == "nothing yet"
    )
    assert warehouse_counts(warehouse_engine, "es-empty") == {} == log_counts(str(tmp_path))


# ---------------------------------------------------------------------------------------------------------------
# idempotency


def test_reimport_unchanged_is_a_noop(warehouse_engine: Engine, eval_logs_dir: Path) -> None:
    first = import_eval_set(warehouse_engine, str(eval_logs_dir), "es-twice")
    assert {log.status for log in first.logs} == {LogStatus.IMPORTED}
    before = _dump(warehouse_engine)
    eval_set_row = before.pop("eval_set")

    second = import_eval_set(warehouse_engine, str(eval_logs_dir), "es-twice")
    assert {log.status for log in second.logs} == {LogStatus.SKIPPED_UNCHANGED}
    assert second.samples == second.scores == 0
    after = _dump(warehouse_engine)
    after_eval_set = after.pop("eval_set")
    assert after == before, "a skipped re-import must not write eval, sample or score rows"
    # the registry row records the attempt and nothing else
    ignore = {"last_imported_at", "updated_at"}
    assert [{k: v for k, v in r.items() if k not in ignore} for r in after_eval_set] == [
        {k: v for k, v in r.items() if k not in ignore} for r in eval_set_row
    ]


def test_forced_reimport_rewrites_identical_rows(warehouse_engine: Engine, eval_logs_dir: Path) -> None:
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-force")
    volatile = frozenset({"updated_at", "imported_at", "last_imported_at"})
    before = _dump(warehouse_engine, ignore=volatile)
    report = import_eval_set(warehouse_engine, str(eval_logs_dir), "es-force", force=True)
    assert {log.status for log in report.logs} == {LogStatus.IMPORTED}
    assert _dump(warehouse_engine, ignore=volatile) == before, (
        "pks, created_at and every value must be unchanged"
    )


def test_newest_log_is_the_truth_for_its_eval(warehouse_engine: Engine, eval_logs_dir: Path) -> None:
    """Rows the newest log no longer has are removed, before upserting, so UNIQUE(eval_pk, id, epoch) holds.

    Simulates an earlier log in which sample add-0 ran under another uuid (a sample re-run after an error gets a new
    uuid for the same id and epoch), plus an extra sample and a scorer the newest log does not have.
    """
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-stale")
    arith_id = _task_ids(eval_logs_dir)["arith"]
    with warehouse_engine.begin() as conn:
        eval_pk = conn.execute(select(Eval.pk).where(Eval.task_id == arith_id)).scalar_one()
        real_uuid = conn.execute(
            select(Sample.uuid).where(Sample.eval_pk == eval_pk, Sample.id == "add-0")
        ).scalar_one()
        conn.execute(text("UPDATE sample SET uuid = 'earlier-run-uuid' WHERE uuid = :u"), {"u": real_uuid})
        conn.execute(
            text("UPDATE score SET sample_uuid = 'earlier-run-uuid' WHERE sample_uuid = :u"), {"u": real_uuid}
        )
        extra_pk = conn.execute(
            text("""INSERT INTO sample (eval_pk, uuid, id, epoch, input, target)
                    VALUES (:e, 'gone-uuid', 'add-99', 1, '"x"', '"y"') RETURNING pk"""),
            {"e": eval_pk},
        ).scalar_one()
        kept = conn.execute(
            select(Sample.pk, Sample.uuid).where(Sample.eval_pk == eval_pk, Sample.id == "add-1")
        ).one()
        conn.execute(
            text("""INSERT INTO score (sample_pk, sample_uuid, scorer, key, value)
                    VALUES (:s, 'gone-uuid', 'old', '', '1'), (:t, :u, 'removed_scorer', '', '1')"""),
            {"s": extra_pk, "t": kept.pk, "u": kept.uuid},
        )
    assert warehouse_counts(warehouse_engine, "es-stale")[arith_id] == 7

    report = import_eval_set(warehouse_engine, str(eval_logs_dir), "es-stale", force=True)
    assert report.ok, report.to_dict()
    assert warehouse_counts(warehouse_engine, "es-stale") == log_counts(str(eval_logs_dir))
    with warehouse_engine.connect() as conn:
        uuids = set(conn.execute(select(Sample.uuid)).scalars())
        assert real_uuid in uuids and not uuids & {"earlier-run-uuid", "gone-uuid"}
        assert conn.execute(select(func.count()).where(Score.sample_uuid == real_uuid)).scalar_one() == 1
        stale_scores = select(func.count()).where(
            Score.scorer.in_(["old", "removed_scorer"])
            | Score.sample_uuid.in_(["earlier-run-uuid", "gone-uuid"])
        )
        assert conn.execute(stale_scores).scalar_one() == 0
        # the surviving sample kept its pk: updated in place, not re-inserted
        assert conn.execute(select(Sample.pk).where(Sample.uuid == kept.uuid)).scalar_one() == kept.pk


# ---------------------------------------------------------------------------------------------------------------
# resume: newest log per task_id wins


def test_resumed_run_newest_log_wins(
    warehouse_engine: Engine, resumed_logs: ResumedLogs, eval_tasks: ModuleType
) -> None:
    headers = [read_eval_log(info, header_only=True) for info in list_eval_logs(str(resumed_logs.log_dir))]
    started = next(h for h in headers if h.status == "started")
    finished = next(h for h in headers if h.status == "success")
    assert started.eval.task_id == finished.eval.task_id and started.eval.eval_id != finished.eval.eval_id
    started_uuids = {s.uuid for s in read_eval_log_sample_summaries(started.location)}
    finished_uuids = {s.uuid for s in read_eval_log_sample_summaries(finished.location)}
    assert started_uuids and started_uuids <= finished_uuids, "reused samples keep their uuid"

    report = import_eval_set(warehouse_engine, str(resumed_logs.log_dir), "es-resume")
    by_file = {log.file: log for log in report.logs}
    assert by_file[started.location].status == LogStatus.SUPERSEDED
    assert by_file[finished.location].status == LogStatus.IMPORTED
    assert by_file[finished.location].samples == eval_tasks.SLOW_SAMPLES

    with warehouse_engine.connect() as conn:
        ev = conn.execute(select(Eval.eval_id, Eval.status, Eval.location)).one()
        rows = conn.execute(select(Sample.uuid, Sample.id, Sample.epoch)).all()
    assert ev == (finished.eval.eval_id, "success", finished.location)
    assert len(rows) == eval_tasks.SLOW_SAMPLES
    assert len({r.uuid for r in rows}) == len({(r.id, r.epoch) for r in rows}) == len(rows)
    assert {r.uuid for r in rows} == finished_uuids
    assert warehouse_counts(warehouse_engine, "es-resume") == log_counts(str(resumed_logs.log_dir))


def test_the_runner_summary_and_the_importer_choose_the_same_log(resumed_logs: ResumedLogs) -> None:
    """Both choose through ``hawk_runner.log_choice``, so what the run reports is what the warehouse holds."""
    from hawk_runner.run import summarise_logs

    (cell,) = summarise_logs(str(resumed_logs.log_dir))
    (chosen,) = discover_logs(str(resumed_logs.log_dir)).newest.values()
    assert cell.log == chosen.name and cell.status == "success"


def test_the_run_table_and_hawk_list_evals_show_the_same_agent_and_headline(
    warehouse_engine: Engine, eval_logs_dir: Path
) -> None:
    """The runner's summary (the run table, the Dagster metadata) and the warehouse (``hawk list evals``) read the
    agent and the headline through ``hawk_runner.log_facts``, and both tables name it with one rule."""
    from hawk_runner.run import summarise_logs
    from rich.console import Console

    from hawk_dagster.cli.live_view import results_table
    from hawk_dagster.warehouse.read.headline import headline_name
    from hawk_dagster.warehouse.read.queries import list_evals

    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-facts")
    cells = {cell.task: cell for cell in summarise_logs(str(eval_logs_dir))}
    evals = {row["task"]: row for row in list_evals(warehouse_engine, "es-facts")}
    assert set(cells) == set(evals) == {"arith", "multi"}
    for task, row in evals.items():
        cell = cells[task]
        summary = (cell.agent, cell.headline_score, cell.headline_metric, cell.headline_value)
        assert summary == (row["agent"], row["headline_score"], row["headline_metric"], row["headline_value"])
    assert (cells["arith"].agent, cells["multi"].agent) == ("generate", "multi_solver")
    # one name in both tables (the run table said 'match/accuracy' where hawk list evals said 'accuracy')
    assert headline_name(cells["multi"].headline_score, cells["multi"].headline_metric) == "exact/mean"
    assert headline_name(cells["arith"].headline_score, cells["arith"].headline_metric) == "match/accuracy"

    table = results_table([asdict(cell) for cell in cells.values()])
    assert [c.header for c in table.columns][:3] == ["task", "agent", "model"]  # task x agent x model
    console = Console(record=True, width=200)
    console.print(table)
    arith_row = next(line for line in console.export_text().splitlines() if "arith" in line)
    assert "generate" in arith_row and f"match/accuracy = {cells['arith'].headline_value:.3f}" in arith_row


def _status(log: Path) -> str:
    return read_eval_log(str(log), header_only=True).status


def test_superseded_logs_are_set_aside_and_resume_still_works(
    warehouse_engine: Engine,
    resumed_logs: ResumedLogs,
    eval_tasks: ModuleType,
    copy_logs: Callable[[Path], Path],
) -> None:
    """The killed run's ``started`` log leaves the folder once the resumed log has finished; the warehouse and
    Inspect's own resume of the same eval set need nothing that moved."""
    from hawk_runner.log_dir import set_aside_superseded

    log_dir = copy_logs(resumed_logs.log_dir)
    (started,) = [log for log in log_dir.glob("*.eval") if _status(log) == "started"]
    (finished,) = [log for log in log_dir.glob("*.eval") if _status(log) == "success"]

    assert set_aside_superseded(str(log_dir)) == [started.name]
    assert [log.name for log in log_dir.glob("*.eval")] == [finished.name]
    assert list((log_dir / "superseded").iterdir()) == [log_dir / "superseded" / f"{started.name}.superseded"]
    assert list(json.loads((log_dir / "logs.json").read_text())) == [finished.name]  # Inspect view's manifest
    assert set_aside_superseded(str(log_dir)) == []  # nothing more to move

    report = import_eval_set(warehouse_engine, str(log_dir), "es-aside")
    assert [(log.file, log.status) for log in report.logs] == [(finished.as_uri(), LogStatus.IMPORTED)]
    assert warehouse_counts(warehouse_engine, "es-aside") == {
        read_eval_log(str(finished), header_only=True).eval.task_id: eval_tasks.SLOW_SAMPLES
    }

    # Inspect's eval_set on the same folder (its resume) finds the task complete and runs nothing
    written = finished.stat().st_mtime_ns
    assert eval_tasks.run_slow(str(log_dir))
    assert [log.name for log in log_dir.glob("*.eval")] == [finished.name]
    assert finished.stat().st_mtime_ns == written


def test_a_task_whose_newest_log_is_started_keeps_all_its_logs(
    resumed_logs: ResumedLogs, copy_logs: Callable[[Path], Path]
) -> None:
    """A ``started`` newest log may belong to a run that is still alive: nothing of its task moves."""
    from hawk_runner.log_dir import set_aside_superseded

    log_dir = copy_logs(resumed_logs.killed_snapshot)
    (started,) = log_dir.glob("*.eval")
    shutil.copy(started, log_dir / f"0{started.name}")  # the same header again, under a name that ranks lower
    assert set_aside_superseded(str(log_dir)) == []
    assert len(list(log_dir.glob("*.eval"))) == 2 and not (log_dir / "superseded").exists()


class _Progress:
    """A runner reporter that keeps the progress lines (what the CLI's live view and the Dagster UI show)."""

    def __init__(self) -> None:
        self.lines: list[CellProgress] = []

    def info(self, message: str) -> None:
        pass

    def warning(self, message: str) -> None:
        raise AssertionError(message)

    def progress(self, progress: CellProgress) -> None:
        self.lines.append(progress)

    def materialization(self, metadata: dict[str, Any], data_version: str) -> None:
        pass

    def check(self, name: str, passed: bool, metadata: dict[str, Any]) -> None:
        pass


def test_progress_of_a_resume_starts_from_the_reused_samples(
    resumed_logs: ResumedLogs, eval_tasks: ModuleType, copy_logs: Callable[[Path], Path]
) -> None:
    from hawk_runner.progress import reporting_progress

    log_dir = copy_logs(resumed_logs.killed_snapshot)
    (started,) = log_dir.glob("*.eval")
    finished_before = sum(1 for s in read_eval_log_sample_summaries(str(started)) if s.error is None)
    assert finished_before >= 4

    reporter = _Progress()
    with reporting_progress(reporter, str(log_dir)):
        assert eval_tasks.run_slow(str(log_dir))
    first, last = reporter.lines[0], reporter.lines[-1]
    assert (first.done, first.reused, first.total) == (
        finished_before,
        finished_before,
        eval_tasks.SLOW_SAMPLES,
    )
    assert (last.done, last.total) == (eval_tasks.SLOW_SAMPLES, eval_tasks.SLOW_SAMPLES)
    assert all(line.done <= line.total for line in reporter.lines)


def test_partial_import_then_resumed_import(
    warehouse_engine: Engine, resumed_logs: ResumedLogs, eval_tasks: ModuleType
) -> None:
    """A killed run imports as partial; after the resume the same eval row completes, reused samples keep their pk."""
    partial = import_eval_set(warehouse_engine, str(resumed_logs.killed_snapshot), "es-partial")
    (only,) = partial.logs
    assert only.status == LogStatus.IMPORTED and only.log_status == "started"
    assert only.samples == resumed_logs.flushed_before_kill
    with warehouse_engine.connect() as conn:
        ev = conn.execute(select(Eval.pk, Eval.status, Eval.completed_samples, Eval.total_samples)).one()
        pks_before = dict(conn.execute(select(Sample.uuid, Sample.pk)).all())
    assert (ev.status, ev.completed_samples) == ("started", resumed_logs.flushed_before_kill)
    assert ev.total_samples == eval_tasks.SLOW_SAMPLES

    final = import_eval_set(warehouse_engine, str(resumed_logs.log_dir), "es-partial")
    assert sorted(log.status.value for log in final.logs) == ["imported", "superseded"]
    with warehouse_engine.connect() as conn:
        ev_after = conn.execute(select(Eval.pk, Eval.status, Eval.completed_samples)).one()
        pks_after = dict(conn.execute(select(Sample.uuid, Sample.pk)).all())
    assert ev_after == (ev.pk, "success", eval_tasks.SLOW_SAMPLES)
    assert len(pks_after) == eval_tasks.SLOW_SAMPLES
    assert all(pks_after[uuid] == pk for uuid, pk in pks_before.items()), (
        "reused samples are updated in place"
    )

    with warehouse_engine.connect() as conn:
        messages = conn.execute(
            text("SELECT (SELECT count(*) FROM message), (SELECT sum(message_count) FROM sample)")
        ).one()
    assert messages[0] == messages[1] > 0, "messages of completed samples are replaced, not duplicated"

    # Importing the stale started log on its own again must not roll the eval back.
    stale_only = import_eval_set(warehouse_engine, str(resumed_logs.killed_snapshot), "es-partial")
    (stale,) = stale_only.logs
    assert stale.status == LogStatus.SUPERSEDED and "newer log" in (stale.error or "")
    assert warehouse_counts(warehouse_engine, "es-partial") == log_counts(str(resumed_logs.log_dir))


def test_header_read_equals_inspects_without_reductions(
    eval_logs_dir: Path, resumed_logs: ResumedLogs
) -> None:
    """The importer's header read (Inspect's zip header reader, skipping the per-sample reductions) gives the same
    header as read_eval_log(header_only=True), for finished logs and for a log still running (journal only)."""
    logs = [*eval_logs_dir.glob("*.eval"), *resumed_logs.killed_snapshot.glob("*.eval")]
    assert len(logs) == 3
    for log in logs:
        ours = read_log_header(str(log))
        inspects = read_eval_log(str(log), header_only=True)
        assert ours.model_dump(exclude={"reductions"}) == inspects.model_dump(exclude={"reductions"}), (
            log.name
        )
        assert ours.location == inspects.location == str(log)
    assert read_log_header(str(next(resumed_logs.killed_snapshot.glob("*.eval")))).status == "started"


# ---------------------------------------------------------------------------------------------------------------
# failures


def test_truncated_log_fails_clearly_and_others_import(
    warehouse_engine: Engine, eval_logs_dir: Path, copy_logs: Callable[[Path], Path]
) -> None:
    log_dir = copy_logs(eval_logs_dir)
    ids = _task_ids(log_dir)
    arith = _log_file(log_dir, "arith")
    data = arith.read_bytes()
    arith.write_bytes(data[: len(data) // 2])

    report = import_eval_set(warehouse_engine, str(log_dir), "es-truncated")
    assert not report.ok
    (failed,) = report.failed
    assert failed.file.endswith(arith.name) and failed.task_id == ids["arith"]
    assert failed.error is not None and failed.error.startswith(f"{arith.name}: cannot read log header:")
    assert "truncated or corrupt" in failed.error
    assert [log.task_id for log in report.imported] == [ids["multi"]]
    assert warehouse_counts(warehouse_engine, "es-truncated") == {
        ids["multi"]: log_counts(str(log_dir))[ids["multi"]]
    }


def test_unreadable_leftover_of_an_older_run_does_not_fail_the_import(
    warehouse_engine: Engine, eval_logs_dir: Path, copy_logs: Callable[[Path], Path]
) -> None:
    """A corrupt file older than a readable log of the same task (e.g. a run killed mid-write) is superseded."""
    log_dir = copy_logs(eval_logs_dir)
    ids = _task_ids(log_dir)
    arith = _log_file(log_dir, "arith")
    leftover = log_dir / f"2000-01-01T00-00-00+00-00_arith_{ids['arith']}.eval"
    leftover.write_bytes(arith.read_bytes()[:1000])

    report = import_eval_set(warehouse_engine, str(log_dir), "es-leftover")
    assert report.ok, report.to_dict()
    by_name = {Path(log.file).name: log for log in report.logs}
    assert by_name[leftover.name].status == LogStatus.SUPERSEDED
    assert by_name[leftover.name].task_id == ids["arith"]
    assert f"superseded by the newer {arith.name}" in (by_name[leftover.name].error or "")
    assert by_name[arith.name].status == LogStatus.IMPORTED
    assert warehouse_counts(warehouse_engine, "es-leftover") == log_counts(str(log_dir))


def test_failure_mid_log_rolls_back_only_that_log(
    warehouse_engine: Engine, eval_logs_dir: Path, copy_logs: Callable[[Path], Path]
) -> None:
    log_dir = copy_logs(eval_logs_dir)
    ids = _task_ids(log_dir)
    import_eval_set(warehouse_engine, str(log_dir), "es-rollback")
    before = _dump(warehouse_engine)
    before.pop("eval_set")

    # Damage the last sample: header and summaries still read, so the import gets as far as writing earlier chunks.
    arith = _log_file(log_dir, "arith")
    member = _corrupt_member(arith, "add-5_epoch_1.json")
    report = import_eval_set(warehouse_engine, str(log_dir), "es-rollback", chunk_size=2)

    statuses = {log.task_id: log.status for log in report.logs}
    assert statuses == {ids["arith"]: LogStatus.FAILED, ids["multi"]: LogStatus.SKIPPED_UNCHANGED}
    (failed,) = report.failed
    assert failed.error is not None and failed.error.startswith(f"{arith.name}: cannot import log:"), (
        failed.error
    )
    assert "SampleReadError: reading samples add-4/epoch 1, add-5/epoch 1" in failed.error, failed.error
    assert member.endswith("add-5_epoch_1.json")
    after = _dump(warehouse_engine)
    after.pop("eval_set")
    assert after == before, "the failed log's transaction must leave the earlier rows of its eval untouched"


def test_sample_uuid_owned_by_another_eval_set_fails_clearly(
    warehouse_engine: Engine, eval_logs_dir: Path, copy_logs: Callable[[Path], Path]
) -> None:
    """The same log dir imported under a second eval set id must not steal the first one's samples."""
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-owner")
    before = warehouse_counts(warehouse_engine, "es-owner")
    report = import_eval_set(warehouse_engine, str(copy_logs(eval_logs_dir)), "es-thief")
    assert len(report.failed) == 2
    assert all(
        "already belong to another eval" in (log.error or "") and "es-owner" in (log.error or "")
        for log in report.failed
    )
    assert warehouse_counts(warehouse_engine, "es-owner") == before
    assert warehouse_counts(warehouse_engine, "es-thief") == {}


def test_sample_uuid_taken_by_a_concurrent_import_fails_clearly(
    warehouse_engine: Engine, eval_logs_dir: Path
) -> None:
    """New samples are COPY'd without conflict handling: a uuid that another eval set's import commits after our
    lookup (eval sets lock separately) must still fail the log with a clear message, not a raw unique violation."""
    arith = _log_file(eval_logs_dir, "arith")
    taken = read_eval_log_sample_summaries(str(arith))[-1].uuid
    result: list[ImportReport] = []
    thread = threading.Thread(
        target=lambda: result.append(import_eval_set(warehouse_engine, str(eval_logs_dir), "es-second"))
    )
    with warehouse_engine.connect() as other:  # another import, still in its transaction
        other.execute(text("INSERT INTO eval_set (eval_set_id, model_groups) VALUES ('es-first', '{g}')"))
        eval_pk = other.execute(
            text(
                "INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location, file_hash) "
                "VALUES ('es-first', 't', 'e', 'arith', 'm', 'started', '/x', 'h') RETURNING pk"
            )
        ).scalar_one()
        other.execute(
            text(
                "INSERT INTO sample (eval_pk, uuid, id, epoch, input, target) VALUES (:e, :u, '1', 1, '1', '1')"
            ),
            {"e": eval_pk, "u": taken},
        )
        thread.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # until the import waits on our uncommitted row
            # a fresh connection each time: pg_stat_activity is a snapshot per transaction
            waiting = _scalar(
                warehouse_engine, text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
            )
            if waiting:
                break
            time.sleep(0.05)
        assert waiting, "the import should be waiting on the other transaction's uuid"
        other.commit()
    thread.join(timeout=60)
    statuses = {log.task_id: log.status for log in result[0].logs}
    ids = _task_ids(eval_logs_dir)
    assert statuses[ids["arith"]] == LogStatus.FAILED and statuses[ids["multi"]] == LogStatus.IMPORTED
    (failed,) = result[0].failed
    assert "imported into another eval meanwhile" in (failed.error or "") and taken in (failed.error or "")
    assert warehouse_counts(warehouse_engine, "es-first") == {"t": 1}


# ---------------------------------------------------------------------------------------------------------------
# concurrency


def test_concurrent_imports_end_with_the_same_rows_as_one(
    make_database: Callable[..., str], eval_logs_dir: Path
) -> None:
    concurrent_engine = create_warehouse_engine(make_database())
    single_engine = create_warehouse_engine(make_database())
    try:
        barrier = threading.Barrier(2)
        reports: list[ImportReport] = []
        errors: list[BaseException] = []

        def run() -> None:
            try:
                barrier.wait()
                reports.append(import_eval_set(concurrent_engine, str(eval_logs_dir), "es-race"))
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=run) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not errors, errors
        assert len(reports) == 2 and all(r.ok for r in reports)
        per_task: dict[str | None, list[str]] = {}
        for r in reports:
            for log in r.logs:
                per_task.setdefault(log.task_id, []).append(log.status.value)
        assert all(sorted(v) == ["imported", "skipped_unchanged"] for v in per_task.values()), per_task

        import_eval_set(single_engine, str(eval_logs_dir), "es-race")
        assert _natural_dump(concurrent_engine) == _natural_dump(single_engine)
        assert warehouse_counts(concurrent_engine, "es-race") == warehouse_counts(single_engine, "es-race")
    finally:
        concurrent_engine.dispose()
        single_engine.dispose()


def test_import_waits_for_the_eval_set_lock(warehouse_engine: Engine, eval_logs_dir: Path) -> None:
    done = threading.Event()
    result: list[ImportReport] = []

    def run() -> None:
        result.append(import_eval_set(warehouse_engine, str(eval_logs_dir), "es-locked"))
        done.set()

    with warehouse_engine.connect() as holder:
        holder.execute(select(func.pg_advisory_lock(eval_set_lock_key("es-locked"))))
        thread = threading.Thread(target=run)
        thread.start()
        assert not done.wait(1.5), "the import must block while another holder has the eval set's lock"
        assert _scalar(warehouse_engine, select(func.count()).select_from(Eval)) == 0
        holder.execute(select(func.pg_advisory_unlock(eval_set_lock_key("es-locked"))))
        holder.commit()
    thread.join(timeout=60)
    assert done.is_set() and result[0].ok and len(result[0].imported) == 2
    assert eval_set_lock_key("es-locked") != eval_set_lock_key("es-other")


# ---------------------------------------------------------------------------------------------------------------
# object storage


@pytest.fixture
def moto_s3(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A loopback moto S3 server, with AWS_ENDPOINT_URL pointing every S3 client at it."""
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    # The service-specific variable wins over the generic one in botocore: set both, or another fixture's server
    # (or a developer's real endpoint) would be used.
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", f"http://{host}:{port}")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield s3fs.S3FileSystem()
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()


def test_import_from_s3(warehouse_engine: Engine, eval_logs_dir: Path, moto_s3: Any) -> None:
    moto_s3.mkdir("hawk-test-bucket")
    prefix = "hawk-test-bucket/evals/es-s3"
    for path in eval_logs_dir.iterdir():
        if path.is_file():
            moto_s3.put(str(path), f"{prefix}/{path.name}")
    log_dir = f"s3://{prefix}"

    started = time.monotonic()
    report = import_eval_set(warehouse_engine, log_dir, "es-s3")
    assert report.ok, report.to_dict()
    assert len(report.imported) == 2
    assert (
        warehouse_counts(warehouse_engine, "es-s3") == log_counts(log_dir) == log_counts(str(eval_logs_dir))
    )
    with warehouse_engine.connect() as conn:
        rows = conn.execute(select(Eval.location, Eval.file_hash)).all()
    assert all(r.location.startswith("s3://") and r.file_hash.startswith("etag:") for r in rows)

    again = import_eval_set(warehouse_engine, log_dir, "es-s3")
    assert {log.status for log in again.logs} == {LogStatus.SKIPPED_UNCHANGED}
    assert time.monotonic() - started < 60
