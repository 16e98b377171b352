"""``hawk list ...`` and ``hawk transcript`` on a warehouse imported from a real log, in all three formats."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from inspect_ai import eval as inspect_eval

from hawk_dagster.cli.main import cli
from hawk_dagster.cli.state import remember_eval_set
from hawk_dagster.evals.warehouse_import import import_eval_set_logs
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import Submission, write_submission
from hawk_dagster.warehouse.engine import create_warehouse_engine
from tests.grids import EXAMPLES


@pytest.fixture
def warehouse(tmp_path: Path, make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> str:
    spec = importlib.util.spec_from_file_location(
        "example_arithmetic_cli", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_dir = tmp_path / "evals" / "es-cli"
    inspect_eval(
        module.addition(n=3), model="hawk-mock/half", model_args={"accuracy": 0.5}, log_dir=str(log_dir),
        display="none",
    )  # fmt: skip
    # Submitted as every entry point submits, imported as the eval_warehouse step imports: the submission's name,
    # submitter, tags and metadata reach the warehouse with the logs.
    config = "name: cli grid\ntags: [nightly, math]\nmetadata: {team: evals}\ntasks:\n  - package: inspect-ai\n    items: [{name: addition}]\n"
    storage = StorageRoot(str(tmp_path))
    write_submission(
        storage, Submission.new("es-cli", config, source="grid.yaml", base_dir=None, created_by="tester")
    )
    url = make_database()
    engine = create_warehouse_engine(url)
    report = import_eval_set_logs(engine, storage, "es-cli")
    engine.dispose()
    assert report.samples == 3
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", url)
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path))
    return url


def hawk(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_list_eval_sets_in_three_formats(warehouse: str) -> None:
    table = hawk("list", "eval-sets")
    assert table.exit_code == 0 and "es-cli" in table.output and "cli grid" in table.output
    (row,) = json.loads(hawk("list", "eval-sets", "--format", "json").output)
    assert row["eval_set_id"] == "es-cli" and row["samples"] == 3 and row["created_by"] == "tester"
    assert row["tags"] == ["nightly", "math"] and "nightly, math" in table.output
    (found,) = json.loads(hawk("list", "eval-sets", "--search", "NIGHTLY", "--format", "json").output)
    assert found["eval_set_id"] == "es-cli"
    assert json.loads(hawk("list", "eval-sets", "--search", "weekly", "--format", "json").output) == []
    rows = list(csv.DictReader(io.StringIO(hawk("list", "eval-sets", "--format", "csv").output)))
    assert (
        rows[0]["eval_set_id"] == "es-cli" and rows[0]["tasks"] == "1" and rows[0]["tags"] == "nightly, math"
    )


def test_list_evals_and_samples(warehouse: str) -> None:
    (ev,) = json.loads(hawk("list", "evals", "es-cli", "--format", "json").output)
    assert (ev["task"], ev["model"], ev["samples"], ev["errors"]) == ("addition", "hawk-mock/half", 3, 0)
    # the run table's names: the agent, and the headline as <score>/<metric>
    assert (ev["agent"], ev["headline_metric"]) == ("generate", "match/accuracy")
    assert "match/accuracy" in hawk("list", "evals", "es-cli").output
    samples = json.loads(hawk("list", "samples", "es-cli", "--sort", "id", "--format", "json").output)
    assert [s["id"] for s in samples] == ["+1", "+2", "+3"]
    assert {s["score"] for s in samples} <= {0.0, 1.0}
    correct = json.loads(hawk("list", "samples", "es-cli", "--score-min", "1", "--format", "json").output)
    assert all(s["score"] == 1.0 for s in correct)
    everything = list(
        csv.DictReader(io.StringIO(hawk("list", "samples", "es-cli", "--all", "--format", "csv").output))
    )
    assert len(everything) == 3 and "is_invalid" in everything[0]  # every listing column
    page_csv = hawk(
        "list", "samples", "es-cli", "--sort", "id", "--limit", "2", "--offset", "1", "--format", "csv"
    )
    page = list(csv.DictReader(io.StringIO(page_csv.output)))
    assert [r["id"] for r in page] == ["+2", "+3"]
    assert list(page[0]) == [
        "uuid", "task", "model", "id", "epoch", "status", "score", "total_tokens", "completed_at", "error",
    ]  # fmt: skip
    assert (
        page[0]["completed_at"].endswith("+00:00") and "T" in page[0]["completed_at"]
    )  # as the export writes it
    assert {r["uuid"]: r["completed_at"] for r in everything}[page[0]["uuid"]] == page[0]["completed_at"]
    assert "Samples 1-3 of 3" in hawk("list", "samples", "es-cli").output


def test_default_eval_set_is_the_last_one_run(
    warehouse: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    remember_eval_set(StorageRoot.from_env().uri, "es-cli")
    assert len(json.loads(hawk("list", "samples", "--format", "json").output)) == 3
    assert "Evals of es-cli" in hawk("list", "evals").output


def test_unknown_ids_exit_2(warehouse: str) -> None:
    for args in (("list", "evals", "nope"), ("list", "samples", "nope"), ("transcript", "no-such-uuid")):
        result = CliRunner().invoke(cli, list(args))
        assert result.exit_code == 2, args
        assert "nope" in result.output or "no-such-uuid" in result.output
    bad_sort = CliRunner().invoke(cli, ["list", "samples", "es-cli", "--sort", "pk"])
    assert bad_sort.exit_code == 2 and "sortable columns" in bad_sort.output


def test_an_unknown_scorer_exits_2_naming_the_scorers_there_are(warehouse: str) -> None:
    result = CliRunner().invoke(cli, ["list", "samples", "es-cli", "--scorer", "accuracy"])
    assert result.exit_code == 2
    assert "no scorer 'accuracy' in es-cli; scorers there: match" in result.output
    known = hawk("list", "samples", "es-cli", "--scorer", "match", "--format", "json")
    assert known.exit_code == 0 and len(json.loads(known.output)) == 3


def test_empty_pages_say_why(warehouse: str) -> None:
    assert hawk("list", "samples", "es-cli", "--search", "no such text").output.strip() == "No samples"
    past = hawk("list", "samples", "es-cli", "--limit", "2", "--offset", "4").output.strip()
    assert past == "page 3 is past the end: 3 samples, 2 pages of 2"
    assert hawk("list", "samples", "es-cli", "--offset", "7").output.strip() == (
        "offset 7 is past the end: 3 samples, 1 page of 50"
    )
    assert "Samples 3-3 of 3" in hawk("list", "samples", "es-cli", "--limit", "2", "--offset", "2").output
    assert json.loads(hawk("list", "samples", "es-cli", "--offset", "9", "--format", "json").output) == []


def test_page_titles() -> None:
    from hawk_dagster.cli.results import page_title

    assert page_title(0, 0, 0, 50) == "No samples"
    assert page_title(0, 20, 40, 20) == "Samples 1-20 of 40"
    assert page_title(20, 20, 40, 20) == "Samples 21-40 of 40"
    assert page_title(100, 0, 40, 50) == "page 3 is past the end: 40 samples, 1 page of 50"
    assert page_title(40, 0, 40, 20) == "page 3 is past the end: 40 samples, 2 pages of 20"
    assert page_title(5, 0, 1, 50) == "offset 5 is past the end: 1 sample, 1 page of 50"


def test_transcript_markdown_and_raw(warehouse: str) -> None:
    (sample,) = json.loads(hawk("list", "samples", "es-cli", "--limit", "1", "--format", "json").output)
    md = hawk("transcript", sample["uuid"]).output
    assert md.startswith("# Sample ") and f"`{sample['uuid']}`" in md and "- model: hawk-mock/half" in md
    assert "## Messages" in md and "## Scores" in md
    raw = json.loads(hawk("transcript", sample["uuid"], "--raw").output)
    assert raw["uuid"] == sample["uuid"] and raw["messages"]


# Run a command in a fresh interpreter and report which of these top-level packages it imported.
_IMPORTS_PROBE = """
import contextlib, io, json, runpy, sys
sys.argv = ["hawk", *sys.argv[1:]]
with contextlib.redirect_stdout(io.StringIO()):
    try:
        runpy.run_module("hawk_dagster.cli", run_name="__main__")
    except SystemExit as exit:
        code = exit.code
print(json.dumps({"code": code, "modules": sorted({m.split(".")[0] for m in sys.modules})}))
"""
HEAVY = {"dagster", "inspect_ai", "inspect_scout", "alembic", "hawk_runner", "fsspec", "upath", "psutil"}


def _imported(*args: str) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORTS_PROBE, *args], capture_output=True, text=True, timeout=120, check=True
    )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["code"] in (0, None), (args, proc.stderr)
    return set(report["modules"])


def test_commands_import_only_what_they_use(warehouse: str) -> None:
    """Listing, transcripts, validation and --help never load Dagster or Inspect (seconds of imports each)."""
    (sample,) = json.loads(hawk("list", "samples", "es-cli", "--limit", "1", "--format", "json").output)
    for args in (
        ("list", "eval-sets"),
        ("list", "evals", "es-cli"),
        ("list", "samples", "es-cli", "--limit", "20"),
        ("list", "scans"),
        ("transcript", sample["uuid"]),
    ):
        assert not _imported(*args) & HEAVY, args
    for args in (("web", "es-cli", "--print"), ("view-sample", sample["uuid"], "--print")):
        assert not _imported(*args) & (HEAVY | {"fastapi", "starlette", "uvicorn"}), args
    assert not _imported("--help") & (HEAVY | {"sqlalchemy", "pydantic", "fastapi", "starlette", "uvicorn"})
    validating = _imported("validate", str(EXAMPLES / "simple.eval-set.yaml"))
    assert not validating & (HEAVY - {"hawk_runner"} | {"sqlalchemy"})


def test_list_samples_of_one_task_id(warehouse: str) -> None:
    from sqlalchemy import text

    engine = create_warehouse_engine(warehouse)
    with engine.connect() as conn:
        task_id = conn.execute(text("SELECT task_id FROM eval WHERE eval_set_id = 'es-cli'")).scalar_one()
    engine.dispose()
    chosen = json.loads(hawk("list", "samples", "es-cli", "--task-id", task_id, "--format", "json").output)
    assert len(chosen) == 3
    assert hawk("list", "samples", "es-cli", "--task-id", "no-such-task").output.strip() == "No samples"
    unknown_scorer = CliRunner().invoke(
        cli, ["list", "samples", "es-cli", "--task-id", "no-such-task", "--scorer", "nope"]
    )
    assert unknown_scorer.exit_code == 2 and "--task-id no-such-task" in unknown_scorer.output
