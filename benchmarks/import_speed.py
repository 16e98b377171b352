"""How fast is the warehouse import of one big ``.eval`` log, against just decoding it and against Inspect's API?

The log: 10,000 samples with multi-turn tool-using transcripts (``benchmarks/make_big_log.py``, generated offline
once and cached). Three timings on the same file:

- **import**: ``import_eval_set`` into an empty, freshly migrated schema on the embedded PostgreSQL server, in a
  subprocess so its peak RSS is its own. Everything the import does is timed: header read,
  fingerprint (sha256 of the file), reading, COPY, upserts, the commit.
- **(a) decode only**: open the zip once and ``json.loads`` every ``samples/*.json`` member; no rows, no database.
  The floor for anything that reads every sample. Target: import <= 3x (a).
- **(b) Inspect, one sample at a time**: ``read_eval_log_sample(file, id, epoch)`` per sample (the reference system's
  pattern: every call re-reads the zip's central directory, so the whole log costs O(n^2)). Timed on an evenly spread
  subset (``--b-samples``, default 300) and extrapolated linearly to all samples, which is exact here because each
  call's cost depends on the file, not on which sample is read. Target: import >= 50x faster than (b).

(a) and the import alternate, ``--repeat`` times each (default 3), and the medians are compared: on a shared machine
whose speed drifts both sides are measured under the same conditions.

Then, on the imported warehouse (after ``ANALYZE``), the query plans of the searches and filters the indexes were
chosen for: trigram ILIKE search over ``sample.search_text`` (sample text and the whole transcript), the per-sample
headline score (covering partial index), status and score filters.

Usage::

    uv run python benchmarks/import_speed.py                    # 10,000 samples (generates the log on first use)
    uv run python benchmarks/import_speed.py --samples 2000     # smaller log
    uv run python benchmarks/import_speed.py --no-plans         # skip the EXPLAIN section
    uv run python benchmarks/import_speed.py --drop-search-index --no-plans   # what the trigram search index costs

Exit status 0 when the import produced the right row counts, whether or not the targets are met; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))

from make_big_log import make_big_log  # noqa: E402

_IMPORT_CHILD = r"""
import json, resource, sys, time
import psutil
from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.ingest.importer import import_eval_set

url, log_dir, repeat_force, postmaster = sys.argv[1], sys.argv[2], sys.argv[3] == "1", int(sys.argv[4])
engine = create_warehouse_engine(url)
with engine.connect() as conn:  # connect outside the timing, as a long-running process would be
    pass


def server_cpu():
    total = 0.0
    for child in psutil.Process(postmaster).children(recursive=True):
        try:
            times = child.cpu_times()
            total += times.user + times.system
        except psutil.Error:
            pass
    return total


me = psutil.Process()
baseline = me.memory_info().rss
cpu_before, server_before = sum(me.cpu_times()[:2]), server_cpu()
started = time.perf_counter()
report = import_eval_set(engine, log_dir, "bench")
seconds = time.perf_counter() - started
cpu, server = sum(me.cpu_times()[:2]) - cpu_before, server_cpu() - server_before
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
out = {"seconds": seconds, "baseline_rss": baseline, "peak_rss": peak, "report": report.to_dict(),
       "cpu": cpu, "server_cpu": server}
started = time.perf_counter()
again = import_eval_set(engine, log_dir, "bench")
out["noop_seconds"] = time.perf_counter() - started
out["noop_statuses"] = [log.status.value for log in again.logs]
if repeat_force:
    started = time.perf_counter()
    forced = import_eval_set(engine, log_dir, "bench", force=True)
    out["force_seconds"] = time.perf_counter() - started
    out["force_ok"] = forced.ok
engine.dispose()
print("RESULT " + json.dumps(out))
"""


def _decode_only(path: Path) -> tuple[float, int, int]:
    """(a): open the zip once, json.loads every sample member. Returns (seconds, samples, uncompressed bytes)."""
    import zipfile

    import zipfile_zstd  # noqa: F401

    started = time.perf_counter()
    count = size = 0
    with zipfile.ZipFile(path) as zf:
        for name in dict.fromkeys(zf.namelist()):
            if name.startswith("samples/") and name.endswith(".json"):
                data = zf.read(name)
                json.loads(data)
                count += 1
                size += len(data)
    return time.perf_counter() - started, count, size


def _inspect_one_at_a_time(path: Path, subset: int) -> tuple[float, int, int]:
    """(b): read_eval_log_sample per sample on an evenly spread subset. Returns (seconds, samples read, total)."""
    from inspect_ai.log import read_eval_log_sample, read_eval_log_sample_summaries

    summaries = read_eval_log_sample_summaries(str(path))
    step = max(1, len(summaries) // max(1, subset))
    chosen = summaries[::step][:subset]
    started = time.perf_counter()
    for summary in chosen:
        read_eval_log_sample(str(path), id=summary.id, epoch=summary.epoch)
    return time.perf_counter() - started, len(chosen), len(summaries)


_PLANS = {
    "sample search (ILIKE on search_text)": (
        "SELECT uuid, id FROM sample WHERE search_text ILIKE '%zephyr wren%' ORDER BY completed_at DESC LIMIT 50",
        "ix_sample_search_text_trgm",
    ),
    "transcript search (a message's text, through search_text)": (
        "SELECT uuid FROM sample WHERE search_text ILIKE '%harbor bravo widget%' LIMIT 50",
        "ix_sample_search_text_trgm",
    ),
    "headline score per sample (page of 50)": (
        "SELECT s.uuid, h.scorer, h.value_float FROM sample s "
        "LEFT JOIN score h ON h.sample_pk = s.pk AND h.is_headline "
        "WHERE s.eval_pk = (SELECT pk FROM eval LIMIT 1) ORDER BY s.completed_at DESC LIMIT 50",
        "ix_score_headline",
    ),
    "status filter (errors of an eval)": (
        "SELECT uuid FROM sample WHERE eval_pk = (SELECT pk FROM eval LIMIT 1) AND status = 'error'",
        "ix_sample_eval_pk_status",
    ),
    "score filter (match value_float >= 1, count)": (
        "SELECT count(*) FROM score WHERE scorer = 'match' AND value_float >= 1",
        "ix_score_scorer_value_float",
    ),
}


def _plans(url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
        counts = {
            t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]  # type: ignore[index]
            for t in ("sample", "message", "score")
        }
        print(f"\nquery plans (after VACUUM ANALYZE; rows: {counts})")
        for title, (query, index) in _PLANS.items():
            rows = conn.execute(f"EXPLAIN (ANALYZE, COSTS OFF, BUFFERS OFF, SUMMARY ON) {query}").fetchall()
            plan = [r[0] for r in rows]
            used = any(index in line for line in plan)
            print(f"\n-- {title}: {'uses' if used else 'does NOT use'} {index}")
            for line in plan:
                print(f"   {line}")


def _fresh_schema(url: str, *, drop_search_index: bool) -> None:
    """An empty, migrated schema (and a checkpoint, so no run pays for the previous one's dirty pages)."""
    import psycopg
    from sqlalchemy.engine import make_url

    from hawk_dagster.warehouse.schema import migrate

    libpq = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("DROP SCHEMA public CASCADE")
        conn.execute("CREATE SCHEMA public")
    migrate.upgrade(url)
    with psycopg.connect(libpq, autocommit=True) as conn:
        if drop_search_index:
            conn.execute("DROP INDEX ix_sample_search_text_trgm")
        conn.execute("CHECKPOINT")


def _import_once(url: str, log_dir: Path, postmaster: int, *, force: bool) -> dict[str, Any] | None:
    """One import in a child process (its own peak RSS); None (after printing its output) when it failed."""
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_CHILD, url, str(log_dir), "1" if force else "0", str(postmaster)],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    if proc.returncode != 0 or line is None:
        print(proc.stdout[-3000:], proc.stderr[-5000:], sep="\n")
        return None
    result: dict[str, Any] = json.loads(line.removeprefix("RESULT "))
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--b-samples", type=int, default=300, help="samples read one at a time for (b)")
    parser.add_argument(
        "--repeat", type=int, default=3, help="runs of (a) and of the import, alternating; medians are used"
    )
    parser.add_argument(
        "--force", action="store_true", help="also time a forced re-import (rewrites every row)"
    )
    parser.add_argument("--no-plans", action="store_true")
    parser.add_argument(
        "--drop-search-index",
        action="store_true",
        help="diagnostic: drop the trigram index on sample.search_text first, to see what it costs",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary server directory")
    args = parser.parse_args(argv)

    log = make_big_log(args.samples)
    size_mb = log.stat().st_size / 1e6
    print(f"log: {log} ({size_mb:.1f} MB)")
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")

    from hawk_dagster.warehouse.embedded import ensure_embedded_server, stop_embedded_server

    root = Path(tempfile.mkdtemp(prefix="hawk-import-bench-"))
    log_dir = root / "logs"
    log_dir.mkdir()
    try:
        os.link(log, log_dir / log.name)  # Inspect's log listing skips symlinks
    except OSError:
        shutil.copy2(log, log_dir / log.name)
    ok = True
    try:
        server = ensure_embedded_server(root)
        url = server.url()
        # (a) and the import alternate, so a machine whose speed drifts (shared hosts do, by 30 % and more) slows
        # both sides alike; each import gets a freshly migrated, empty schema. Medians are reported.
        decode_runs: list[tuple[float, int, int]] = []
        results: list[dict[str, Any]] = []
        for run in range(max(1, args.repeat)):
            decode_runs.append(_decode_only(log))
            _fresh_schema(url, drop_search_index=args.drop_search_index)
            result = _import_once(url, log_dir, server.pid, force=args.force and run == 0)
            if result is None:
                return 1
            results.append(result)
        if args.drop_search_index:
            print("(diagnostic run: sample.search_text has no trigram index)")
        decode = statistics.median(run[0] for run in decode_runs)
        _, samples, raw_bytes = decode_runs[0]
        print(
            f"(a) decode only:   {decode:7.2f} s  ({samples} samples, {raw_bytes / 1e6:.0f} MB of JSON; "
            f"runs {', '.join(f'{r[0]:.2f}' for r in decode_runs)})"
        )
        result = sorted(results, key=lambda r: r["seconds"])[len(results) // 2]  # the median run
        totals = result["report"]["totals"]
        seconds = result["seconds"]
        ok = all(
            r["report"]["totals"]["imported"] == 1
            and r["report"]["totals"]["samples"] == samples
            and r["report"]["totals"]["failed"] == 0
            for r in results
        )
        runs = ", ".join(f"{r['seconds']:.2f}" for r in results)
        print(
            f"import:            {seconds:7.2f} s  ({totals['samples']} samples, {totals['messages']} messages, "
            f"{totals['scores']} scores; {totals['samples'] / seconds:,.0f} samples/s; "
            f"runs {runs})"
        )
        print(
            f"   CPU during the median import: importer process {result['cpu']:.2f} s, "
            f"PostgreSQL {result['server_cpu']:.2f} s (backends alive at the end, plus background workers)"
        )
        mb = 1024 * 1024
        peak = max(r["peak_rss"] for r in results)
        print(
            f"   peak RSS of the importing process: {peak / mb:.0f} MiB "
            f"(before the import: {result['baseline_rss'] / mb:.0f} MiB, so the import added "
            f"{(peak - result['baseline_rss']) / mb:.0f} MiB)"
        )
        print(
            f"   re-import of the unchanged file: {result['noop_seconds']:.2f} s ({result['noop_statuses']})"
        )
        forced = next((r for r in results if "force_seconds" in r), None)
        if forced is not None:
            print(f"   forced re-import (every row rewritten): {forced['force_seconds']:.2f} s")

        b_seconds, b_count, b_total = _inspect_one_at_a_time(log, args.b_samples)
        b_full = b_seconds / b_count * b_total
        print(
            f"(b) Inspect read_eval_log_sample per sample: {b_seconds:.2f} s for {b_count} samples "
            f"({b_seconds / b_count * 1000:.1f} ms each) -> {b_full:,.0f} s for all {b_total} (extrapolated)"
        )
        print(
            f"\nratios: import / (a) = {seconds / decode:.2f} (target <= 3); "
            f"(b) / import = {b_full / seconds:,.0f}x (target >= 50)"
        )
        if not args.no_plans:
            _plans(url)
    finally:
        stop_embedded_server(root)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    if not ok:
        print("ERROR: the import did not write the expected rows")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
