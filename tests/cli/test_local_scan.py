"""``hawk local scan``: a scan config run through Dagster over an eval set's real logs, and what it refuses."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
from inspect_ai import eval as inspect_eval

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
    hawk_env: HawkEnv, tmp_path: Path, direct: bool
) -> None:
    tasks = _eval_set(hawk_env.root)
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
