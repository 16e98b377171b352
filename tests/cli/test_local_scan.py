"""``hawk local scan``: a scan config run through Dagster over an eval set's real logs, and what it refuses."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.ingest.importer import import_eval_set
from tests.cli.conftest import HawkEnv
from tests.grids import EXAMPLES

SCAN = """
name: stars
scanners:
  - package: {package}
    name: hawk_example_scanners
    items:
      - name: keyword
        key: stars
        args: {{keyword: "*"}}
      - name: keyword
        key: plus_in_addition
        args: {{keyword: "+"}}
        filter:
          where:
            - task: addition
transcripts:
  sources:
    - eval_set_tag: example
"""


def _eval_set(root: Path, eval_set_id: str = "es-scan") -> dict[str, str]:
    """An eval set in the storage root as `hawk local eval-set` leaves it (logs + config snapshot), made directly:
    3 addition and 3 multiplication samples. Returns transcript id -> task."""
    from inspect_ai.log import list_eval_logs, read_eval_log_sample_summaries

    spec = importlib.util.spec_from_file_location(
        "example_arithmetic_scan", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_dir = root / "evals" / eval_set_id
    inspect_eval(
        [module.addition(n=3), module.multiplication(n=3)], model="hawk-mock/exact", log_dir=str(log_dir),
        display="none",
    )  # fmt: skip
    (log_dir / ".config.yaml").write_text("name: scan me\ntags: [example]\ntasks: []\n")
    tasks = {}
    for info in list_eval_logs(str(log_dir)):
        for summary in read_eval_log_sample_summaries(info.name):
            tasks[summary.uuid] = info.task
    assert len(tasks) == 6
    return tasks  # type: ignore[return-value]


@pytest.mark.slow
@pytest.mark.parametrize("direct", [True, False], ids=["direct", "fresh-venv"])
def test_local_scan_runs_each_scanner_over_its_transcripts(
    hawk_env: HawkEnv, tmp_path: Path, direct: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    tasks = _eval_set(hawk_env.root)
    engine = create_warehouse_engine(hawk_env.warehouse_url)
    assert import_eval_set(engine, str(hawk_env.root / "evals" / "es-scan"), "es-scan").samples == 6
    engine.dispose()
    package = EXAMPLES / "packages" / "hawk-example-scanners"
    config = tmp_path / "stars.scan.yaml"
    config.write_text(SCAN.format(package=package) + "scan_id: stars-1\n")

    result = hawk_env.run("local", "scan", str(config), *(["--direct"] if direct else []))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "stars" in result.stdout and "plus_in_addition" in result.stdout

    from inspect_scout import scan_list, scan_results_df

    (status,) = scan_list(str(hawk_env.root / "scans" / "stars-1" / "es-scan" / "no-model"))
    assert status.complete
    results = scan_results_df(status.location)
    stars = results.scanners["stars"]
    assert {tid: bool(v) for tid, v in zip(stars["transcript_id"], stars["value"], strict=True)} == {
        tid: task == "multiplication" for tid, task in tasks.items()
    }
    plus = results.scanners["plus_in_addition"]
    assert sorted(plus["transcript_id"]) == sorted(t for t, task in tasks.items() if task == "addition")
    assert all(bool(v) for v in plus["value"])

    resolution = json.loads((hawk_env.root / "scans" / "stars-1" / ".resolution.json").read_text())
    assert resolution["eval_set_ids"] == ["es-scan"] and resolution["transcript_ids"] is None

    # the warehouse: every result, joined to its sample (the eval set was imported first)
    (scan,) = json.loads(hawk_env.run("list", "scans", "--format", "json").stdout)
    figures = ("scan_id", "scanners", "eval_sets", "scanned", "positive", "errors")
    # 6 transcripts read by stars (3 multiplications have a '*'), 3 by plus_in_addition (all have a '+')
    assert tuple(scan[f] for f in figures) == ("stars-1", 2, 1, 9, 6, 0)
    # the run's own table counts the same way, per scanner
    rows = [[c.strip() for c in line.split("\u2502")[1:-1]] for line in result.stdout.splitlines()]
    table = {row[1]: row[3:] for row in rows if row and row[0] == "es-scan"}
    assert table == {"stars": ["6", "3", "0"], "plus_in_addition": ["3", "3", "0"]}, result.stdout
    assert scan["complete"] is True
    exported = hawk_env.run("scan", "export", "stars-1", "--scanner", "stars", "-o", "-")
    assert exported.returncode == 0, exported.stderr
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {r["transcript_id"]: (r["task"], r["value"]) for r in rows} == {
        tid: (task, "true" if task == "multiplication" else "false") for tid, task in tasks.items()
    }
    assert all(
        r["sample_id"] and r["eval_set_id"] == "es-scan" and float(r["value_float"]) in (0.0, 1.0)
        for r in rows
    )
    unknown = hawk_env.run("scan", "export", "stars-1", "--scanner", "nope", "-o", "-")
    assert (
        unknown.returncode == 2
        and "has no scanner 'nope'; its scanners: plus_in_addition, stars" in unknown.stderr
    )

    # lineage, read back through the Dagster instance the runs used: the cell's parent is its eval set's partition
    import dagster as dg
    from dagster._core.definitions.events import AssetKeyPartitionKey
    from dagster._core.definitions.partitions.context import partition_loading_context

    from hawk_dagster.definitions import build_definitions
    from hawk_dagster.deployment.local_instance import dagster_home
    from hawk_dagster.partitions import scan_cell_key

    cell = str(scan_cell_key("stars-1", "es-scan"))
    # The instance the CLI used: its storage is where HAWK_WAREHOUSE_URL points, as for the warehouse.
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", hawk_env.warehouse_url)
    instance = dg.DagsterInstance.from_config(str(dagster_home(hawk_env.root)))
    try:
        for asset in ("scan_results", "scan_warehouse"):
            records = instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[cell]), limit=1
            ).records
            assert records, asset
        graph = build_definitions(storage_root=str(hawk_env.root)).resolve_asset_graph()
        with partition_loading_context(dynamic_partitions_store=instance):
            parents = graph.get_parents_partitions(dg.AssetKey("scan_results"), cell).parent_partitions
        assert parents == {AssetKeyPartitionKey(dg.AssetKey("eval_logs"), "es-scan")}
    finally:
        instance.dispose()

    # the same scan again: the complete cell is found, not scanned twice
    again = hawk_env.run("local", "scan", str(config), "--direct")
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(scan_list(str(hawk_env.root / "scans" / "stars-1" / "es-scan" / "no-model"))) == 1


@pytest.mark.slow
def test_a_global_limit_is_chosen_once_across_eval_sets(hawk_env: HawkEnv, tmp_path: Path) -> None:
    first = _eval_set(hawk_env.root, "es-one")
    second = _eval_set(hawk_env.root, "es-two")
    config = tmp_path / "limited.scan.yaml"
    config.write_text(
        f"""
scan_id: limited
scanners:
  - package: {EXAMPLES / "packages" / "hawk-example-scanners"}
    name: hawk_example_scanners
    items: [{{name: keyword, key: stars, args: {{keyword: "*"}}}}]
transcripts:
  sources: [{{eval_set_tag: example}}]
  filter: {{where: [{{task: multiplication}}], limit: 4, shuffle: 3}}
"""
    )
    result = hawk_env.run("local", "scan", str(config), "--direct")
    assert result.returncode == 0, result.stdout + result.stderr
    resolution = json.loads((hawk_env.root / "scans" / "limited" / ".resolution.json").read_text())
    chosen = resolution["transcript_ids"]
    assert sum(len(ids) for ids in chosen.values()) == 4
    assert all(first.get(t, second.get(t)) == "multiplication" for ids in chosen.values() for t in ids)

    from inspect_scout import scan_list, scan_results_df

    scanned = set()
    for eval_set_id in ("es-one", "es-two"):
        (status,) = scan_list(str(hawk_env.root / "scans" / "limited" / eval_set_id / "no-model"))
        scanned |= set(scan_results_df(status.location).scanners["stars"]["transcript_id"])
    assert scanned == {t for ids in chosen.values() for t in ids}


def test_unknown_eval_set_exits_2_and_launches_nothing(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = tmp_path / "bad.scan.yaml"
    config.write_text(
        SCAN.format(package=EXAMPLES / "packages" / "hawk-example-scanners").replace(
            "eval_set_tag: example", "eval_set_id: no-such-set"
        )
    )
    result = hawk_env.run("local", "scan", str(config))
    assert result.returncode == 2
    assert "unknown eval set 'no-such-set'" in result.stderr
    assert not (hawk_env.root / "scans").exists()
    assert not (hawk_env.root / "dagster").exists()  # no Dagster instance was even opened


# The CLI in a subprocess, with the tests' flaky scanner registered first (it fails while HAWK_TEST_FLAKY_FAIL=1).
CLI_WITH_TEST_SCANNERS = "import tests.runner.scan_scanners; from hawk_dagster.cli.main import cli; cli()"

FLAKY_SCAN = """
scan_id: flaky-1
scanners:
  - package: hawk-example-scanners
    name: hawk_example_scanners
    items: [{name: test_flaky, key: flaky}]
transcripts:
  sources: [{eval_set_id: es-scan}]
"""


@pytest.mark.slow
def test_scan_resume_reruns_only_errored_transcripts(hawk_env: HawkEnv, tmp_path: Path) -> None:
    import subprocess
    import sys

    from inspect_ai.log import list_eval_logs, read_eval_log_sample_summaries

    from tests.runner.scan_scanners import fails

    tasks = _eval_set(hawk_env.root)
    sample_ids = {
        s.uuid: str(s.id)
        for info in list_eval_logs(str(hawk_env.root / "evals" / "es-scan"))
        for s in read_eval_log_sample_summaries(info.name)
    }
    failing = {t for t in tasks if fails(sample_ids[t])}
    assert 0 < len(failing) < len(tasks)
    config = tmp_path / "flaky.scan.yaml"
    config.write_text(FLAKY_SCAN)
    calls = tmp_path / "calls.txt"

    def hawk(*args: str, fail: bool) -> subprocess.CompletedProcess[str]:
        env = {
            **hawk_env.env,
            "HAWK_TEST_FLAKY_FAIL": "1" if fail else "0",
            "HAWK_TEST_FLAKY_CALLS": str(calls),
        }
        return subprocess.run(
            [sys.executable, "-c", CLI_WITH_TEST_SCANNERS, *args],
            env=env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).resolve().parents[2],
        )  # fmt: skip

    first = hawk("local", "scan", str(config), "--direct", fail=True)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "hawk scan resume flaky-1" in first.stdout
    assert sorted(calls.read_text().split()) == sorted(tasks)

    calls.write_text("")
    resumed = hawk("scan", "resume", "--direct", fail=False)  # no id: the last scan this user ran
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    assert sorted(calls.read_text().split()) == sorted(failing)

    (scan,) = json.loads(hawk_env.run("list", "scans", "--format", "json").stdout)
    figures = ("scan_id", "scanned", "positive", "errors", "complete")
    assert tuple(scan[f] for f in figures) == ("flaky-1", 6, 6, 0, True)

    missing = hawk_env.run("scan", "resume", "no-such-scan")
    assert missing.returncode == 2 and "scan 'no-such-scan' has no submitted config" in missing.stderr


@pytest.mark.slow
def test_the_example_scans_run_offline(hawk_env: HawkEnv) -> None:
    """configs/examples/keyword.scan.yaml and judge.scan.yaml over an eval set tagged `example`."""
    tasks = _eval_set(hawk_env.root)
    for name in ("keyword.scan.yaml", "judge.scan.yaml"):
        result = hawk_env.run("local", "scan", str(EXAMPLES / name))
        assert result.returncode == 0, name + result.stdout + result.stderr
    scans = {s["name"]: s for s in json.loads(hawk_env.run("list", "scans", "--format", "json").stdout)}
    keyword, judge = scans["keyword"], scans["judge"]
    # keyword: `mentions_times` over the multiplication samples (each has a '*'), `gave_up` over none (no
    # hawk-mock/sloppy here)
    figures = ("scanners", "scanned", "positive", "errors", "complete")
    assert tuple(keyword[f] for f in figures) == (1, 3, 3, 0, True)
    # judge: a limit of 8 chosen from the 6 transcripts there are, all judged by the offline hawk-mock ("no")
    assert tuple(judge[f] for f in figures[1:]) == (len(tasks), 0, 0, True)
    exported = hawk_env.run("scan", "export", judge["scan_id"], "-o", "-")
    rows = list(csv.DictReader(io.StringIO(exported.stdout)))
    assert {r["answer"] for r in rows} == {"No"} and all(r["value"] == "false" for r in rows)
