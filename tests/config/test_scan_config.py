"""Scan configs: the examples load, every kind of mistake is reported with its path, validate/schema know scans."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.loader import load_eval_set_config, load_scan_config, read_config_kind
from hawk_dagster.config.schema import COMMITTED_SCAN_SCHEMA_PATH, scan_json_schema
from hawk_dagster.scans.planning import build_scan_plan, scan_summary

EXAMPLES = Path(__file__).resolve().parents[2] / "configs" / "examples"

SCAN = """
name: sudo hunt
scanners:
  - package: ./scanners
    name: my_scanners
    items:
      - name: keyword
        args: {keyword: sudo}
      - name: keyword
        key: keyword_rm
        args: {keyword: "rm -rf"}
        filter:
          where:
            - model: {like: "hawk-mock/%"}
          limit: 3
  - package: inspect-scout
    items:
      - name: llm_scanner
        args: {question: "Did the model give up?", answer: boolean}
models:
  - items:
      - name: hawk-mock/judge
transcripts:
  sources:
    - eval_set_id: simple-abc
    - eval_set_tag: nightly
  filter:
    where:
      - eval_status: success
      - score: {gt: 0.5}
      - metadata.agent.name: react
      - or: [{model: hawk-mock/a}, {error: null}]
      - not: {limit: message}
    limit: 10
    shuffle: 7
standing: true
schedule: "0 3 * * *"
runner:
  secrets: [JUDGE_TOKEN]
"""


def issues(write_config: Callable[..., Path], text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_scan_config(write_config(text, "scan.yaml"))
    return [f"{i.path}: {i.allowed}" for i in caught.value.issues]


@pytest.mark.parametrize("name", ["keyword.scan.yaml", "judge.scan.yaml"])
def test_examples_load(name: str) -> None:
    loaded = load_scan_config(EXAMPLES / name)
    assert read_config_kind(EXAMPLES / name) == "scan"
    assert loaded.warnings == []


def test_full_config_summary_and_plan(write_config: Callable[..., Path]) -> None:
    loaded = load_scan_config(write_config(SCAN, "scan.yaml"))
    summary = scan_summary(loaded)
    assert [(s["key"], s["scanner"]) for s in summary["scanners"]] == [
        ("keyword", "my_scanners/keyword"),
        ("keyword_rm", "my_scanners/keyword"),
        ("llm_scanner", "inspect_scout/llm_scanner"),
    ]
    assert summary["sources"] == [{"eval_set_id": "simple-abc"}, {"eval_set_tag": "nightly"}]
    assert (
        summary["secrets"] == ["JUDGE_TOKEN"] and summary["standing"] and summary["schedule"] == "0 3 * * *"
    )
    assert summary["packages"] == [str(loaded.base_dir / "scanners")]

    plan = build_scan_plan(
        loaded,
        scan_id="sudo-hunt-1",
        eval_set_id="simple-abc",
        log_dir="/logs/simple-abc",
        results_dir="/root/scans/sudo-hunt-1/simple-abc",
        transcript_ids=["u1", "u2"],
        scanner_transcript_ids={"keyword_rm": ["u3"]},
    )
    assert plan.where is not None and len(plan.where) == 5 and plan.transcript_ids == ["u1", "u2"]
    assert [(s.key, s.where, s.transcript_ids) for s in plan.scanners] == [
        ("keyword", None, None),
        ("keyword_rm", [{"model": {"like": "hawk-mock/%"}}], ["u3"]),
        ("llm_scanner", None, None),
    ]
    assert [m.name for m in plan.models] == ["hawk-mock/judge"] and plan.max_processes == 1
    assert plan.metadata == {"scan_id": "sudo-hunt-1", "eval_set_id": "simple-abc"}


def test_every_broken_condition_is_reported_with_its_path(write_config: Callable[..., Path]) -> None:
    found = issues(
        write_config,
        """
        scanners: [{package: inspect-scout, items: [{name: llm_scanner}]}]
        transcripts:
          sources: [{eval_set_id: es}]
          filter:
            where:
              - modle: x
              - score: {gtt: 1}
              - {}
              - epoch: "one"
        """,
    )
    assert found == [
        "transcripts.filter.where[0].modle: unknown field 'modle' (did you mean 'model'?); fields: transcript_id, "
        "eval_id, eval_status, task_set, task, agent, model, id, epoch, score, success, total_tokens, message_count, "
        "total_time, working_time, error, limit, date, score_<scorer>, and metadata.<path> / eval_metadata.<path> / "
        "task_args.<path>",
        "transcripts.filter.where[1].score: unknown operator 'gtt' (did you mean 'gt'?); operators: gt, ge, lt, le, "
        "between, like, ilike",
        "transcripts.filter.where[2]: a condition must name at least one field (an empty mapping selects nothing)",
        "transcripts.filter.where[3].epoch: epoch holds numbers",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "scanners: [{package: inspect-scout, items: [{name: llm_scanner}, {name: llm_scanner}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\n",
            "scanners[0].items[1].name: scanner key 'llm_scanner' is already used by scanners[0].items[0]",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a, key: k}, {name: b, key: k}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\n",
            "scanners[0].items[1].key: scanner key 'k' is already used",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\nstanding: true\n",
            "standing: a standing scan needs a source that can match eval sets landing later",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}], filter: {shuffle: true}}\n",
            "transcripts.filter.shuffle: shuffle chooses which transcripts a limit keeps; set limit too",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\nschedule: every day\n",
            "schedule: a cron expression of 5 fields",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es, eval_set_tag: t}]}\n",
            "transcripts.sources[0]: a source names exactly one of eval_set_id, eval_set_tag or eval_set_id_pattern",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id_pattern: nightly}]}\n",
            "transcripts.sources[0].eval_set_id_pattern: a glob pattern such as 'nightly-*'",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}], filter: {where: []}}\n",
            "transcripts.filter.where: must list at least one condition",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\ntranscripts: {sources: []}\n",
            "transcripts.sources: must list at least one source",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\nscan_id: My_Scan\n",
            "scan_id: invalid scan id 'My_Scan'",
        ),
        (
            "scanners: [{package: inspect-scout, items: [{name: a}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\ntasks: []\n",
            "unknown key 'tasks'",
        ),
        (
            "scanners: [{package: my-pkg, name: pkg, items: [{name: pkg/keyword}]}]\n"
            "transcripts: {sources: [{eval_set_id: es}]}\n",
            "scanners[0].items[0].name: write just 'keyword'",
        ),
    ],
)
def test_scan_level_mistakes(write_config: Callable[..., Path], text: str, expected: str) -> None:
    found = issues(write_config, text)
    assert any(expected in line for line in found), found


def test_kinds_are_told_apart_by_content(write_config: Callable[..., Path]) -> None:
    scan_named_like_an_eval_set = write_config(SCAN, "grid.eval-set.yaml")
    assert read_config_kind(scan_named_like_an_eval_set) == "scan"
    with pytest.raises(ConfigError, match="this is a scan config"):
        load_eval_set_config(scan_named_like_an_eval_set)
    with pytest.raises(ConfigError, match="looks like an eval-set config"):
        load_scan_config(EXAMPLES / "simple.eval-set.yaml")


def test_validate_prints_a_scan(
    write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    path = write_config(SCAN, "grid.yaml")
    result = run_validate(path)
    assert result.exit_code == 0, result.output
    assert (
        "keyword_rm: my_scanners/keyword(keyword='rm -rf')  (own filter, replacing the scan's)"
        in result.stdout
    )
    assert "standing: scans every matching eval set that lands later" in result.stdout
    assert "required secrets: JUDGE_TOKEN" in result.stdout
    result = run_validate(path, "--format", "json")
    assert json.loads(result.stdout)["kind"] == "scan"

    broken = write_config("scanners: []\ntranscripts: {sources: [{eval_set_id: es}]}\n", "broken.yaml")
    result = run_validate(broken)
    assert result.exit_code == 2 and result.stdout == ""
    assert f"{broken}:1:11: scanners: must list at least one scanner group" in result.stderr


def test_committed_scan_schema_matches_the_models() -> None:
    committed = json.loads(COMMITTED_SCAN_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == scan_json_schema(), (
        "stale; regenerate with: uv run hawk schema scan > hawk_dagster/config/schemas/scan.schema.json"
    )
    assert committed["required"] == ["scanners", "transcripts"] and committed["additionalProperties"] is False
