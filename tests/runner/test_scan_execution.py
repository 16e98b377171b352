"""A scan cell run by the runner itself (in-process), resumed, and imported into the warehouse."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

import pytest
from hawk_runner.__main__ import ConsoleReporter
from hawk_runner.plan import ScannerSpec, ScanPlan
from hawk_runner.scan import ScanSetupError, execute_scan
from inspect_ai import eval as inspect_eval
from sqlalchemy import Engine, text

from hawk_dagster.warehouse.ingest.importer import import_eval_set
from hawk_dagster.warehouse.ingest.scan_import import ScanRecord, import_scan_cell
from tests.grids import EXAMPLES
from tests.runner import scan_scanners


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = importlib.util.spec_from_file_location(
        "example_arithmetic_runner", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_dir = tmp_path_factory.mktemp("scan-logs") / "es-run"
    inspect_eval(module.addition(n=8), model="hawk-mock/exact", log_dir=str(log_dir), display="none")
    return log_dir


def _plan(log_dir: Path, results: Path, *scanners: ScannerSpec) -> ScanPlan:
    return ScanPlan(
        scan_id="scan-1",
        eval_set_id="es-run",
        log_dir=str(log_dir),
        results_dir=str(results),
        scanners=list(scanners),
    )


def _sample_ids(log_dir: Path) -> dict[str, str]:
    """Transcript id (sample uuid) -> dataset sample id."""
    from inspect_ai.log import list_eval_logs, read_eval_log_sample_summaries

    (info,) = list_eval_logs(str(log_dir))
    return {s.uuid: str(s.id) for s in read_eval_log_sample_summaries(info.name)}  # type: ignore[misc]


def test_resume_reruns_only_the_transcripts_that_errored(
    log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert scan_scanners.flaky  # registered by the import
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("HAWK_TEST_FLAKY_CALLS", str(calls))
    monkeypatch.setenv("HAWK_TEST_FLAKY_FAIL", "1")
    plan = _plan(
        log_dir, tmp_path / "results", ScannerSpec(key="flaky", name="hawk_example_scanners/test_flaky")
    )
    samples = _sample_ids(log_dir)
    ids = list(samples)
    failing = {t for t, sample_id in samples.items() if scan_scanners.fails(sample_id)}
    assert 0 < len(failing) < len(ids)

    first = execute_scan(plan, ConsoleReporter())
    assert not first.complete and first.errors == len(failing)
    assert sorted(calls.read_text().split()) == sorted(ids)

    calls.write_text("")
    monkeypatch.setenv("HAWK_TEST_FLAKY_FAIL", "0")
    second = execute_scan(plan, ConsoleReporter())  # the same cell again: Scout's resume
    assert second.complete and second.scan_locations == first.scan_locations
    assert sorted(calls.read_text().split()) == sorted(failing)

    calls.write_text("")
    third = execute_scan(plan, ConsoleReporter())  # complete: nothing runs
    assert third.complete and calls.read_text() == ""


def test_unknown_scanner_is_a_setup_error(log_dir: Path, tmp_path: Path) -> None:
    plan = _plan(log_dir, tmp_path / "results", ScannerSpec(key="x", name="no_such_pkg/nothing"))
    with pytest.raises(ScanSetupError, match="'no_such_pkg/nothing' is not a registered scanner"):
        execute_scan(plan, ConsoleReporter())
    bad_args = _plan(
        log_dir,
        tmp_path / "results2",
        ScannerSpec(key="l", name="hawk_example_scanners/test_labels", args={"bogus": 1}),
    )
    with pytest.raises(ScanSetupError, match="bogus"):
        execute_scan(bad_args, ConsoleReporter())


def _rows(engine: Engine, sql: str) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(sql)))


def test_import_labels_errors_links_and_reimport(
    log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, warehouse_engine: Engine
) -> None:
    assert scan_scanners.labels
    monkeypatch.setenv("HAWK_TEST_FLAKY_FAIL", "1")
    results = tmp_path / "results"
    plan = _plan(
        log_dir,
        results,
        ScannerSpec(key="labels", name="hawk_example_scanners/test_labels"),
        ScannerSpec(key="flaky", name="hawk_example_scanners/test_flaky"),
    )
    execute_scan(plan, ConsoleReporter())
    assert import_eval_set(warehouse_engine, str(log_dir), "es-run").samples == 8
    samples = _sample_ids(log_dir)
    ids = list(samples)
    failing = {t for t, sample_id in samples.items() if scan_scanners.fails(sample_id)}

    record = ScanRecord(scan_id="scan-1", name="labels test", tags=["t"])
    report = import_scan_cell(warehouse_engine, record, eval_set_id="es-run", results_dir=str(results))
    assert report.results == 2 * 8 + 8 and report.linked == report.results
    labels = _rows(
        warehouse_engine,
        "SELECT transcript_id, label, value, value_float FROM scanner_result WHERE scanner_key = 'labels' "
        "ORDER BY transcript_id, label",
    )
    assert {(r.transcript_id, r.label) for r in labels} == {
        (t, lbl) for t in ids for lbl in ("first_role", "messages")
    }
    assert {r.value for r in labels if r.label == "first_role"} == {"user"}
    assert all(r.value_float is not None and r.value_float > 0 for r in labels if r.label == "messages")
    errors = _rows(
        warehouse_engine,
        "SELECT transcript_id, value, error FROM scanner_result WHERE scanner_key = 'flaky' AND error IS NOT NULL",
    )
    assert {r.transcript_id for r in errors} == failing
    assert all(r.value is None and "flaky failure" in r.error for r in errors)
    (source,) = _rows(warehouse_engine, "SELECT eval_set_id, model, complete, transcripts FROM scan_source")
    assert (source.eval_set_id, source.model, source.complete, source.transcripts) == ("es-run", "", False, 8)

    # resume, import again: the errors are replaced by values, nothing is duplicated
    monkeypatch.setenv("HAWK_TEST_FLAKY_FAIL", "0")
    execute_scan(plan, ConsoleReporter())
    again = import_scan_cell(warehouse_engine, record, eval_set_id="es-run", results_dir=str(results))
    assert again.results == report.results
    (counts,) = _rows(
        warehouse_engine,
        "SELECT count(*) AS n, count(*) FILTER (WHERE error IS NOT NULL) AS errors, count(DISTINCT scan_source_pk) "
        "AS sources FROM scanner_result",
    )
    assert (counts.n, counts.errors, counts.sources) == (24, 0, 1)
    (source,) = _rows(warehouse_engine, "SELECT complete FROM scan_source")
    assert source.complete is True


def test_a_complete_scan_is_redone_when_the_eval_set_gained_transcripts(
    log_dir: Path, tmp_path: Path, warehouse_engine: Engine
) -> None:
    import shutil

    grown = tmp_path / "es-run"
    shutil.copytree(log_dir, grown)
    results = tmp_path / "results"
    plan = _plan(grown, results, ScannerSpec(key="labels", name="hawk_example_scanners/test_labels"))
    first = execute_scan(plan, ConsoleReporter())
    assert first.complete and first.transcripts == 8
    assert (
        execute_scan(plan, ConsoleReporter()).scan_locations == first.scan_locations
    )  # nothing new: same scan

    spec = importlib.util.spec_from_file_location(
        "example_arithmetic_grow", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    inspect_eval(module.multiplication(n=3), model="hawk-mock/exact", log_dir=str(grown), display="none")

    second = execute_scan(plan, ConsoleReporter())
    assert second.complete and second.transcripts == 11
    assert second.scan_locations != first.scan_locations
    report = import_scan_cell(
        warehouse_engine, ScanRecord(scan_id="grow"), eval_set_id="es-run", results_dir=str(results)
    )
    assert report.results == 2 * 11 and [s["location"] for s in report.sources] == second.scan_locations


def test_a_limit_that_chose_none_of_this_eval_set(log_dir: Path, tmp_path: Path) -> None:
    nothing = _plan(
        log_dir, tmp_path / "none", ScannerSpec(key="l", name="hawk_example_scanners/test_labels")
    )
    nothing = nothing.model_copy(update={"transcript_ids": []})
    outcome = execute_scan(nothing, ConsoleReporter())
    assert outcome.complete and outcome.scan_locations == [] and not (tmp_path / "none").exists()

    ids = list(_sample_ids(log_dir))
    mixed = _plan(
        log_dir,
        tmp_path / "mixed",
        ScannerSpec(key="all", name="hawk_example_scanners/test_labels"),
        ScannerSpec(
            key="chosen", name="hawk_example_scanners/test_labels", where=[{"epoch": 1}], transcript_ids=[]
        ),
        ScannerSpec(
            key="two", name="hawk_example_scanners/test_labels", where=[{"epoch": 1}], transcript_ids=ids[:2]
        ),
    )
    outcome = execute_scan(mixed, ConsoleReporter())
    assert outcome.complete
    scans = {s.key: s.scans for s in outcome.scanners}
    assert scans.get("all") == 8 and scans.get("two") == 2 and scans.get("chosen", 0) == 0


def test_a_scanners_own_filter_replaces_the_scans(log_dir: Path, tmp_path: Path) -> None:
    """transcripts.filter keeps nothing here; a scanner with a filter of its own still reads the eval set, because
    its filter replaces the scan's (conditions and limit alike) instead of narrowing it, as the README says."""
    from hawk_dagster.config.loader import load_scan_config
    from hawk_dagster.scans.planning import build_scan_plan

    config = tmp_path / "replace.scan.yaml"
    config.write_text(
        f"""
scanners:
  - package: {EXAMPLES / "packages" / "hawk-example-scanners"}
    name: hawk_example_scanners
    items:
      - {{name: test_labels, key: scan_filter}}
      - {{name: test_labels, key: own_where, filter: {{where: [{{task: addition}}]}}}}
      - {{name: test_labels, key: own_limit, filter: {{limit: 2, shuffle: 1}}}}
transcripts:
  sources: [{{eval_set_id: es-run}}]
  filter: {{where: [{{model: hawk-mock/nobody}}]}}
"""
    )
    chosen = list(_sample_ids(log_dir))[:2]  # what submission's limit would have chosen for own_limit
    plan = build_scan_plan(
        load_scan_config(config),
        scan_id="replace-1",
        eval_set_id="es-run",
        log_dir=str(log_dir),
        results_dir=str(tmp_path / "results"),
        scanner_transcript_ids={"own_limit": chosen},
    )
    assert [(s.key, s.where, s.transcript_ids) for s in plan.scanners] == [
        ("scan_filter", None, None),
        ("own_where", [{"task": "addition"}], None),
        ("own_limit", [], chosen),  # a filter of its own, though with no conditions
    ]
    outcome = execute_scan(plan, ConsoleReporter())
    assert outcome.complete
    scans = {s.key: s.scans for s in outcome.scanners}
    assert (scans.get("scan_filter", 0), scans.get("own_where"), scans.get("own_limit")) == (0, 8, 2)


@pytest.mark.parametrize("shared_buffer", [True, False])
def test_a_resume_on_a_new_pod_skips_finished_transcripts_only_with_a_shared_scan_buffer(
    log_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shared_buffer: bool
) -> None:
    """Why the Kubernetes launcher gives scan runs ``SCOUT_SCANBUFFER_DIR`` on a volume that outlives pods: Scout
    knows which transcripts a scan finished from its local buffer (local file operations only, so no ``s3://``),
    which by default is under the machine's data folder. A new pod has a new data folder, here another
    ``XDG_DATA_HOME``; the scan's results folder is the same."""
    assert scan_scanners.flaky
    calls = tmp_path / "calls.txt"
    monkeypatch.setenv("HAWK_TEST_FLAKY_CALLS", str(calls))
    if shared_buffer:
        monkeypatch.setenv("SCOUT_SCANBUFFER_DIR", str(tmp_path / "scanbuffer-volume"))
    else:
        monkeypatch.delenv("SCOUT_SCANBUFFER_DIR", raising=False)
    plan = _plan(
        log_dir, tmp_path / "results", ScannerSpec(key="flaky", name="hawk_example_scanners/test_flaky")
    )
    samples = _sample_ids(log_dir)
    failing = {t for t, sample_id in samples.items() if scan_scanners.fails(sample_id)}

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "pod-1"))
    monkeypatch.setenv("HAWK_TEST_FLAKY_FAIL", "1")
    first = execute_scan(plan, ConsoleReporter())
    assert not first.complete and first.errors == len(failing)

    calls.write_text("")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "pod-2"))
    monkeypatch.setenv("HAWK_TEST_FLAKY_FAIL", "0")
    second = execute_scan(plan, ConsoleReporter())
    assert second.complete and second.scan_locations == first.scan_locations
    rescanned = sorted(calls.read_text().split())
    assert rescanned == sorted(failing if shared_buffer else samples)
