"""Storage roots holding submitted eval sets and scans, as the scan tests need them (no logs: sources only)."""

from __future__ import annotations

from pathlib import Path

from hawk_dagster.config.loader import load_scan_config
from hawk_dagster.scans.submission import submit_scan
from hawk_dagster.storage.root import StorageRoot

GREP_SCAN = """\
scanners: [{{package: inspect-scout, items: [{{name: grep_scanner, args: {{pattern: sudo}}}}]}}]
transcripts:
  sources: [{source}]
{extra}"""
"""A scan config with Scout's builtin grep scanner; ``source`` is one source mapping, ``extra`` more top-level YAML."""


def grep_scan(source: str, extra: str = "") -> str:
    return GREP_SCAN.format(source=source, extra=extra)


def submitted_eval_set(root: str | Path, eval_set_id: str, tags: list[str]) -> None:
    """An eval set as a submission leaves it: its config snapshot (with tags) under ``evals/<id>/``."""
    snapshot = StorageRoot(str(root)).path("evals", eval_set_id, ".config.yaml")
    snapshot.parent.mkdir(parents=True, exist_ok=True)
    snapshot.write_text(f"tags: {tags}\ntasks: []\n")


def submitted_scan(root: str | Path, tmp_path: Path, scan_id: str, source: str, extra: str = "") -> None:
    """Submit a grep scan to the root as ``hawk local scan`` does (sources resolved, nothing run)."""
    path = tmp_path / f"{scan_id}.yaml"
    path.write_text(grep_scan(source, extra))
    submit_scan(
        StorageRoot(str(root)),
        load_scan_config(path),
        scan_id=scan_id,
        config_text=path.read_text(),
        base_dir=str(tmp_path),
    )
