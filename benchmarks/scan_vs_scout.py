"""A keyword scan over 2,000 transcripts: our pipeline against a bare Inspect Scout ``scan()`` of the same logs.

The logs: one eval set of 2 x 1,000 arithmetic samples by the offline ``hawk-mock`` model (made once, cached under
``/tmp/hawk-bench-cache/scan-<n>``). Both sides run the same scanner (``hawk_example_scanners/keyword``, keyword
``*``) with ``max_processes=1``, each in a fresh subprocess timed from start to exit:

- **bare**: ``scan([keyword(keyword="*")], transcripts=transcripts_from(LOG_DIR), scans=TMP, max_processes=1)``;
- **hawk**: ``hawk local scan CONFIG`` on a fresh storage root holding the same logs: validation, submission, a
  Dagster run of ``scan_results`` (the runner in its own uv environment with the scanner package, built on this
  first run from uv's warm cache) and ``scan_warehouse`` (results imported into a new embedded PostgreSQL
  warehouse). This is the ratio reported. As information: a second scan on the same root (the environment is
  reused, the warehouse is running) and ``--direct`` (Scout inside the CLI process, no environment).

Prints the ratio hawk / bare (issue 4's target: <= 1.3) and exits 1 only if a side produced wrong results.

    uv run python benchmarks/scan_vs_scout.py               # about 3 minutes on 2 cores
    uv run python benchmarks/scan_vs_scout.py --samples 250 # quick
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(os.environ.get("HAWK_BENCH_CACHE", "/tmp/hawk-bench-cache"))
SCANNERS = REPO / "configs" / "examples" / "packages" / "hawk-example-scanners"
EVAL_SET_ID = "bench-scan"

BARE = """
import sys
from inspect_scout import scan, transcripts_from
from hawk_example_scanners import keyword
status = scan([keyword(keyword="*")], transcripts=transcripts_from(sys.argv[1]), scans=sys.argv[2],
              max_processes=1, display="none", log_level="warning")
print("RESULT", status.complete, status.summary.scanners["keyword"].scans)
"""

CONFIG = f"""
scan_id: bench-keyword
scanners:
  - package: {SCANNERS}
    name: hawk_example_scanners
    items: [{{name: keyword, args: {{keyword: "*"}}}}]
transcripts:
  sources: [{{eval_set_id: {EVAL_SET_ID}}}]
"""


def make_logs(samples: int) -> Path:
    """2 tasks x ``samples`` transcripts, generated once per sample count."""
    log_dir = CACHE / f"scan-{samples}" / EVAL_SET_ID
    if list(log_dir.glob("*.eval")):
        return log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    tasks = REPO / "configs" / "examples" / "tasks" / "arithmetic.py"
    for task in ("addition", "multiplication"):
        subprocess.run(
            ["inspect", "eval", f"{tasks}@{task}", "-T", f"n={samples}", "--model", "hawk-mock/bench",
             "--log-dir", str(log_dir), "--display", "none"],
            check=True, cwd=REPO,
        )  # fmt: skip
    return log_dir


def timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run(command, env=env, capture_output=True, text=True, cwd=REPO)
    return time.perf_counter() - started, proc


def hawk_side(
    log_dir: Path, root: Path, work: Path, scan_id: str, direct: bool = False
) -> tuple[float, subprocess.CompletedProcess[str]]:
    target = root / "evals" / EVAL_SET_ID
    if not target.exists():
        target.mkdir(parents=True)
        for log in log_dir.glob("*.eval"):
            os.link(log, target / log.name)
        (target / ".config.yaml").write_text("name: bench\ntasks: []\n")
    config = work / f"{scan_id}.scan.yaml"
    config.write_text(CONFIG.replace("bench-keyword", scan_id))
    env = {**os.environ, "HAWK_STORAGE_ROOT": str(root), "XDG_CONFIG_HOME": str(work / "xdg")}
    env.pop("HAWK_WAREHOUSE_URL", None)
    command = [
        sys.executable,
        "-m",
        "hawk_dagster.cli",
        "local",
        "scan",
        str(config),
        *(["--direct"] if direct else []),
    ]
    return timed(command, env)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=1000, help="samples per task (2 tasks)")
    parser.add_argument("--no-direct", action="store_true", help="skip the --direct run")
    args = parser.parse_args(argv)

    log_dir = make_logs(args.samples)
    transcripts = 2 * args.samples
    print(f"logs: {log_dir} ({transcripts} transcripts); load average {os.getloadavg()[0]:.2f}")
    # Warm uv's cache (the wheels of the runner and the scanner package), as any earlier run would have.
    from hawk_dagster.execution.environments import runner_python

    with tempfile.TemporaryDirectory(prefix="hawk-scan-bench-warm-") as warm:
        with runner_python([str(SCANNERS)], Path(warm), extras=["scan"]):
            pass

    ok = True
    with tempfile.TemporaryDirectory(prefix="hawk-scan-bench-") as tmp:
        work = Path(tmp)
        bare_seconds, bare = timed(
            [sys.executable, "-c", BARE, str(log_dir), str(work / "bare-scans")], dict(os.environ)
        )
        line = next((ln for ln in bare.stdout.splitlines() if ln.startswith("RESULT")), "")
        if line != f"RESULT True {transcripts}":
            print("bare scan failed:", bare.stdout[-2000:], bare.stderr[-3000:])
            ok = False
        print(f"bare Scout scan():          {bare_seconds:7.2f} s  ({line.removeprefix('RESULT ')})")

        root = work / "root"
        runs = [("hawk local scan", "bench-1", False, "fresh root: environment built, new warehouse")]
        runs.append(("  again, same root", "bench-2", False, "information: environment reused"))
        if not args.no_direct:
            runs.append(("  --direct", "bench-3", True, "information: Scout in the CLI process"))
        measured: dict[str, float] = {}
        for label, scan_id, direct, note in runs:
            seconds, proc = hawk_side(log_dir, root, work, scan_id, direct)
            measured[scan_id] = seconds
            if proc.returncode != 0:
                print(f"{label} failed:", proc.stdout[-3000:], proc.stderr[-3000:])
                ok = False
            print(f"{label + ':':28}{seconds:7.2f} s  ({note})")
        summary = _summary(root)
        if summary:
            print(f"   warehouse: {summary}")
        print(f"\nratio hawk / bare = {measured['bench-1'] / bare_seconds:.2f} (target <= 1.3); "
              f"with the environment reused {measured['bench-2'] / bare_seconds:.2f}")  # fmt: skip
    return 0 if ok else 1


def _summary(root: Path) -> str:
    env = {**os.environ, "HAWK_STORAGE_ROOT": str(root)}
    env.pop("HAWK_WAREHOUSE_URL", None)
    proc = subprocess.run(
        [sys.executable, "-m", "hawk_dagster.cli", "list", "scans", "--format", "json"],
        env=env, capture_output=True, text=True, cwd=REPO,
    )  # fmt: skip
    try:
        scans = json.loads(proc.stdout)
    except ValueError:
        return ""
    return "; ".join(f"{s['scan_id']}: {s['scanned']} scanned, {s['positive']} positive, {s['errors']} errors, "
                     f"complete={s['complete']}" for s in scans)  # fmt: skip


if __name__ == "__main__":
    shutil.which("inspect") or sys.exit("run with `uv run` so the `inspect` command is on PATH")
    sys.exit(main())
