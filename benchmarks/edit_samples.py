"""What do 1,000 score edits on a 10,000-sample log cost, against reading and writing that log once with Inspect?

The log: ``benchmarks/make_big_log.py`` (10,000 samples with multi-turn tool-using transcripts, cached). It is imported
once into a fresh warehouse on the embedded PostgreSQL server (not timed: the edits need the warehouse to find the
samples' log). Then, alternating ``--repeat`` times (default 2) so a machine whose speed drifts slows both alike:

- **baseline**: ``read_eval_log`` + ``write_eval_log`` of the same log (to a new file): one rewrite with Inspect;
- **edit**: a request of ``--edits`` score edits (``match`` flipped C <-> I on evenly spread samples, each with a
  reason) through the code ``hawk edit-samples`` runs: plan (warehouse look-up), rewrite of the log under its lock
  with Inspect's ``edit_score`` and ``recompute_metrics``, re-import of the log into the warehouse, audit rows.

Each edit run gets a fresh copy of the log (so every run applies all edits). Prints the median of each side, where
the edit's time went (rewrite, re-import, the rest) and the ratio edit / baseline (target <= 2: edits cost about one
rewrite, never one per edit). Exit status 1 only when the edits did not all land (in the log and the warehouse).

Usage::

    uv run python benchmarks/edit_samples.py                  # 10,000 samples, 1,000 edits
    uv run python benchmarks/edit_samples.py --samples 2000 --edits 200 --repeat 1   # quick
    # on a loaded machine, where generating 10,000 samples takes too long: a generated 300-sample log whose
    # samples are copied (each copy with its own uuid and id) up to 10,000, cached next to it
    uv run python benchmarks/edit_samples.py --samples 300 --replicate 10000
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from make_big_log import make_big_log  # noqa: E402

EVAL_SET = "bench-edits"


def _baseline(log: Path, out_dir: Path) -> float:
    from inspect_ai.log import read_eval_log, write_eval_log

    target = out_dir / f"rewritten-{log.name}"
    started = time.perf_counter()
    write_eval_log(read_eval_log(str(log)), str(target))
    seconds = time.perf_counter() - started
    target.unlink()
    return seconds


def _replicated(source: Path, samples: int) -> Path:
    """A log of ``samples`` samples made of copies of ``source``'s (new uuid and id each), metrics recomputed."""
    target = source.parent / f"replicated-{samples}" / source.name
    if target.exists():
        return target
    import shortuuid
    from inspect_ai.log import read_eval_log, recompute_metrics, write_eval_log

    log = read_eval_log(str(source))
    originals = log.samples or []
    copies = []
    for index in range(samples):
        original = originals[index % len(originals)]
        copies.append(
            original.model_copy(
                update={"id": f"{original.id}-{index // len(originals)}", "uuid": shortuuid.uuid()}, deep=True
            )
        )
    log.samples = copies
    if log.results is not None:
        log.results.total_samples = log.results.completed_samples = samples
    recompute_metrics(log)
    target.parent.mkdir(exist_ok=True)
    partial = target.parent / f"partial-{target.name}"
    write_eval_log(log, str(partial))
    partial.replace(target)
    return target


def _request(log: Path, edits: int) -> tuple[str, dict[str, str]]:
    """``edits`` score edits on evenly spread scored samples; returns the request text and uuid -> new value."""
    from hawk_dagster.warehouse.ingest.eval_zip import open_samples

    with open_samples(str(log)) as source:
        keys = [key for key in source.keys() if key.uuid]
        step = max(1, len(keys) // edits)
        # evenly spread; samples without a C/I match score (errored) are made up for from the next offset
        order = [key for offset in range(step) for key in keys[offset::step]]
        chosen: dict[str, str] = {}
        for key in order:
            if len(chosen) >= edits:
                break
            data, _ = source.read(key)
            value = ((data.get("scores") or {}).get("match") or {}).get("value")
            if value in ("C", "I"):
                chosen[str(key.uuid)] = "I" if value == "C" else "C"
    lines = [
        json.dumps({"sample_uuid": uuid, "type": "score_edit", "scorer": "match", "value": value,
                    "reason": "benchmark regrade"})
        for uuid, value in chosen.items()
    ]  # fmt: skip
    return "\n".join(lines), chosen


def _edit(engine: Any, text: str) -> dict[str, Any]:
    from hawk_dagster.access.principal import LOCAL_ADMIN
    from hawk_dagster.edits import log_file, service
    from hawk_dagster.edits.request import parse_request
    from hawk_dagster.edits.targets import plan_edits
    from hawk_dagster.warehouse.ingest import importer

    principal = dataclasses.replace(LOCAL_ADMIN, subject="bench")
    timings: dict[str, float] = {"rewrite": 0.0, "import": 0.0}
    original_rewrite, original_import = log_file.rewrite_log, importer.import_log

    def timed_rewrite(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_rewrite(*args, **kwargs)
        finally:
            timings["rewrite"] += time.perf_counter() - started

    def timed_import(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original_import(*args, **kwargs)
        finally:
            timings["import"] += time.perf_counter() - started

    service.rewrite_log = timed_rewrite  # type: ignore[assignment]
    importer.import_log = timed_import  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        request = parse_request(text, jsonl=True)
        plan = plan_edits(engine, request, principal)
        result = service.apply_plan(engine, plan, principal)
        timings["total"] = time.perf_counter() - started
    finally:
        service.rewrite_log = original_rewrite  # type: ignore[assignment]
        importer.import_log = original_import  # type: ignore[assignment]
    (log_result,) = result.logs
    outcome = log_result.outcome
    return {
        **timings,
        "ok": result.ok,
        "applied": sum(1 for a in outcome.edits if a.status == "applied") if outcome else 0,
        "metrics_recomputed": outcome.metrics_recomputed if outcome else False,
        "metrics_note": outcome.metrics_note if outcome else "",
        "import_status": log_result.imported.status.value if log_result.imported else None,
    }


def _check(engine: Any, log: Path, expected: dict[str, str]) -> bool:
    from inspect_ai.log import read_eval_log
    from sqlalchemy import text

    samples = {str(s.uuid): s for s in read_eval_log(str(log)).samples or []}
    in_log = all(samples[u].scores["match"].value == v for u, v in expected.items())  # type: ignore[index]
    with engine.connect() as conn:
        rows = dict(
            conn.execute(
                text(
                    "SELECT sample_uuid, value #>> '{}' FROM score WHERE scorer = 'match' AND sample_uuid = ANY(:u)"
                ),
                {"u": list(expected)},
            ).all()
        )
    return in_log and rows == expected


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--edits", type=int, default=1_000)
    parser.add_argument(
        "--repeat", type=int, default=2, help="runs of each side, alternating; medians are used"
    )
    parser.add_argument("--replicate", type=int, help="copy the generated log's samples up to this many")
    args = parser.parse_args(argv)

    source = make_big_log(args.samples)
    if args.replicate:
        started = time.perf_counter()
        source = _replicated(source, args.replicate)
        print(f"replicated to {args.replicate} samples ({time.perf_counter() - started:.1f} s, cached)")
    print(f"log: {source} ({source.stat().st_size / 1e6:.1f} MB)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    from hawk_dagster.warehouse.embedded import ensure_embedded_server, stop_embedded_server
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.ingest.importer import import_eval_set
    from hawk_dagster.warehouse.schema import migrate

    root = Path(tempfile.mkdtemp(prefix="hawk-edit-bench-"))
    log_dir = root / "logs"
    log_dir.mkdir()
    log = log_dir / source.name
    ok = True
    try:
        url = ensure_embedded_server(root).url()
        migrate.upgrade(url)
        engine = create_warehouse_engine(url)
        shutil.copy2(source, log)
        started = time.perf_counter()
        report = import_eval_set(engine, str(log_dir), EVAL_SET)
        print(
            f"initial import (not timed in the ratio): {time.perf_counter() - started:.2f} s, {report.samples} samples"
        )
        text, expected = _request(log, args.edits)
        print(f"request: {len(expected)} score edits")

        baselines: list[float] = []
        edits: list[dict[str, Any]] = []
        for _ in range(max(1, args.repeat)):
            baselines.append(_baseline(log, root))
            print(f"  baseline read + write: {baselines[-1]:.2f} s", flush=True)
            shutil.copy2(source, log)  # a fresh log: every run applies every edit
            edits.append(_edit(engine, text))
            run = edits[-1]
            print(
                f"  edit: {run['total']:.2f} s (rewrite {run['rewrite']:.2f}, re-import {run['import']:.2f}); "
                f"{run['applied']} applied, import {run['import_status']}",
                flush=True,
            )
            ok = ok and run["ok"] and run["applied"] == len(expected) and _check(engine, log, expected)
        baseline = statistics.median(baselines)
        edit = sorted(edits, key=lambda r: r["total"])[len(edits) // 2]
        other = edit["total"] - edit["rewrite"] - edit["import"]
        print(
            f"\nbaseline (Inspect read_eval_log + write_eval_log): {baseline:.2f} s (median of {len(baselines)})"
        )
        print(
            f"edit of {len(expected)} scores: {edit['total']:.2f} s (median run): rewrite {edit['rewrite']:.2f} s "
            f"(read, {len(expected)} edits, metrics, write, rename), warehouse re-import {edit['import']:.2f} s, "
            f"look-up + audit rows {other:.2f} s"
        )
        if edit["metrics_note"]:
            print(f"   {edit['metrics_note']}")
        else:
            print(f"   metrics recomputed: {edit['metrics_recomputed']}")
        print(f"ratio edit / baseline = {edit['total'] / baseline:.2f} (target <= 2)")
        print(f"   rewrite alone / baseline = {edit['rewrite'] / baseline:.2f}")
        engine.dispose()
    finally:
        stop_embedded_server(root)
        shutil.rmtree(root, ignore_errors=True)
    if not ok:
        print("ERROR: the edits did not all land in the log and the warehouse")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
