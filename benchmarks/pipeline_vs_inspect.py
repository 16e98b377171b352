"""How much slower is ``hawk local eval-set`` than plain ``inspect eval-set`` on the same grid?

What it measures: one grid, 2 tasks (``addition``, ``multiplication`` from ``configs/examples/tasks/arithmetic.py``,
250 samples each) x 2 offline models (``hawk-mock/a``, ``hawk-mock/b``), the tasks' default solver, message limit 10,
run twice as a subprocess each time, timed from process start to exit:

- **inspect**: ``inspect eval-set FILE@addition FILE@multiplication -T n=250 --model hawk-mock/a,hawk-mock/b``
  into a fresh log dir;
- **hawk (fresh)**: ``hawk local eval-set GRID.yaml --skip-confirm`` with a fresh ``HAWK_STORAGE_ROOT``, so the
  Dagster instance and the embedded PostgreSQL server start from nothing. This includes the warehouse import.

The ratio hawk (fresh) / inspect is the figure the target (<= 1.3) is about. As extra information, each repeat also
runs **hawk (warm)**: a new eval set on the same storage root, so the PostgreSQL data directory, its schema and the
Dagster instance already exist (the server itself is stopped, as it is after any ``hawk`` command exits).

Both sides run with their own empty ``XDG_DATA_HOME``/``XDG_CACHE_HOME``, no ``INSPECT_*``/``HAWK_*``/``DAGSTER_*``
variables, and a working directory without ``.env``. Sides alternate when repeated. Every run is checked: 4 logs
(status success, 250 samples each) and, for hawk, 1000 samples in the warehouse for that eval set. For hawk runs
the script also prints where the time went, from the Dagster run's event log and the logs' own timestamps.

Run it (a few minutes on 2 cores)::

    uv run python benchmarks/pipeline_vs_inspect.py              # one repeat
    uv run python benchmarks/pipeline_vs_inspect.py --repeat 3   # alternate inspect/hawk three times

Exit status: 0 when every run produced correct results (whether or not the target is met), 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
TASK_FILE = REPO / "configs" / "examples" / "tasks" / "arithmetic.py"
TASKS = ("addition", "multiplication")
MODELS = ("hawk-mock/a", "hawk-mock/b")
MESSAGE_LIMIT = 10
TARGET_RATIO = 1.3
BIN_DIR = Path(sys.executable).parent
# Variables that would change what either side does (a log dir, a default model, a warehouse, a Dagster home).
ISOLATED_PREFIXES = ("INSPECT_", "HAWK_", "DAGSTER_")


@dataclass
class RunResult:
    side: str
    repeat: int
    wall_s: float
    returncode: int
    output: Path
    log_dir: Path
    grid_s: float | None = None
    problems: list[str] = field(default_factory=list)
    breakdown: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.problems


# --------------------------------------------------------------------------------------------- setting up runs


def isolated_env(xdg_root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
    env["XDG_DATA_HOME"] = str(xdg_root / "data")
    env["XDG_CACHE_HOME"] = str(xdg_root / "cache")
    env.update(extra)
    return env


def write_workspace(workdir: Path) -> Path:
    """Copy the task file into ``workdir/tasks`` and return its path."""
    tasks_dir = workdir / "tasks"
    tasks_dir.mkdir(parents=True)
    task_file = tasks_dir / TASK_FILE.name
    shutil.copyfile(TASK_FILE, task_file)
    if (workdir / ".env").exists():
        raise SystemExit(f"{workdir}/.env exists; the benchmark needs a working directory without one")
    return task_file


def write_grid(workdir: Path, eval_set_id: str, samples: int) -> Path:
    """The hawk YAML for the same grid (no solver/agent: the tasks' default solver, as on the inspect side)."""
    config = {
        "name": "pipeline-vs-inspect",
        "eval_set_id": eval_set_id,
        "tasks": [
            {
                "path": f"tasks/{TASK_FILE.name}",
                "items": [{"name": name, "args": {"n": samples}} for name in TASKS],
            }
        ],
        "models": [{"items": [{"name": model} for model in MODELS]}],
        "message_limit": MESSAGE_LIMIT,
    }
    path = workdir / f"{eval_set_id}.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def timed(command: list[str], env: dict[str, str], cwd: Path, output: Path) -> tuple[float, float, int]:
    """Run ``command`` to completion; return (start epoch, wall seconds, exit code). Output goes to ``output``."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("wb") as out:
        started_epoch = time.time()
        started = time.perf_counter()
        proc = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        wall = time.perf_counter() - started
    return started_epoch, wall, proc.returncode


def run_inspect(base: Path, workdir: Path, task_file: Path, samples: int, repeat: int) -> RunResult:
    run_dir = base / f"inspect-{repeat}"
    log_dir = run_dir / "logs"
    command = [
        str(BIN_DIR / "inspect"),
        "eval-set",
        *(f"{task_file}@{name}" for name in TASKS),
        "-T",
        f"n={samples}",
        "--model",
        ",".join(MODELS),
        "--log-dir",
        str(log_dir),
        "--message-limit",
        str(MESSAGE_LIMIT),
        # What hawk's runner passes to eval_set (hawk_runner.run.PLATFORM_DEFAULTS).
        "--display",
        "none",
        "--log-level",
        "warning",
        "--continue-on-fail",
    ]
    _, wall, code = timed(command, isolated_env(run_dir / "xdg"), workdir, run_dir / "output.txt")
    result = RunResult("inspect", repeat, wall, code, run_dir / "output.txt", log_dir)
    result.grid_s, result.problems = check_logs(log_dir, samples)
    return result


def run_hawk(
    base: Path, workdir: Path, root: Path, samples: int, repeat: int, warm: bool, breakdown: bool
) -> RunResult:
    """One ``hawk local eval-set`` run on ``root`` (fresh: ``root`` does not exist yet; warm: a new eval set on it)."""
    kind = "warm" if warm else "fresh"
    side = f"hawk ({kind})"
    run_dir = base / f"hawk-{kind}-{repeat}"
    eval_set_id = f"bench-{kind}-{repeat}"
    grid = write_grid(workdir, eval_set_id, samples)
    command = [str(BIN_DIR / "hawk"), "local", "eval-set", str(grid), "--skip-confirm"]
    env = isolated_env(run_dir / "xdg", HAWK_STORAGE_ROOT=str(root))
    started_epoch, wall, code = timed(command, env, workdir, run_dir / "output.txt")
    log_dir = root / "evals" / eval_set_id
    result = RunResult(side, repeat, wall, code, run_dir / "output.txt", log_dir)
    result.grid_s, result.problems = check_logs(log_dir, samples)
    result.problems += check_warehouse(root, eval_set_id, samples * len(TASKS) * len(MODELS))
    if breakdown:
        result.breakdown = hawk_breakdown(root, eval_set_id, started_epoch, wall, log_dir)
    return result


# ------------------------------------------------------------------------------------------------- checking


def log_window(log_dir: Path) -> tuple[float, float] | None:
    """(first log's started_at, last log's completed_at) as epoch seconds: the span Inspect spent on the grid."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    starts, ends = [], []
    for info in list_eval_logs(str(log_dir), recursive=False):
        stats = read_eval_log(info, header_only=True).stats
        if stats.started_at and stats.completed_at:
            starts.append(datetime.fromisoformat(stats.started_at).timestamp())
            ends.append(datetime.fromisoformat(stats.completed_at).timestamp())
    return (min(starts), max(ends)) if starts else None


def check_logs(log_dir: Path, samples: int) -> tuple[float | None, list[str]]:
    """The grid's duration from the logs, and what is wrong with them (expect one successful log per cell)."""
    from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_sample_summaries

    if not log_dir.is_dir():
        return None, [f"no log dir {log_dir}"]
    problems: list[str] = []
    cells: list[tuple[str, str]] = []
    for info in list_eval_logs(str(log_dir), recursive=False):
        header = read_eval_log(info, header_only=True)
        cell = (header.eval.task, header.eval.model)
        cells.append(cell)
        got = len(read_eval_log_sample_summaries(info))
        if header.status != "success" or got != samples:
            problems.append(f"{cell[0]} [{cell[1]}]: status {header.status}, {got}/{samples} samples")
    expected = sorted((task, model) for task in TASKS for model in MODELS)
    if sorted(cells) != expected:
        problems.append(f"logs for {sorted(cells)}, expected one each for {expected}")
    window = log_window(log_dir)
    return (window[1] - window[0] if window else None), problems


def check_warehouse(root: Path, eval_set_id: str, expected: int) -> list[str]:
    """Count the eval set's samples in the root's embedded warehouse, then stop the server again.

    ``ensure_embedded_server`` rather than ``warehouse_url``: hawk ran without ``HAWK_WAREHOUSE_URL``, so its
    warehouse is the embedded one whatever this process's environment says.
    """
    from sqlalchemy import text

    from hawk_dagster.warehouse.embedded import ensure_embedded_server, stop_embedded_server
    from hawk_dagster.warehouse.engine import create_warehouse_engine

    if not (root / "pg").is_dir():
        return [f"no embedded warehouse under {root}"]
    engine = create_warehouse_engine(ensure_embedded_server(root).url())
    try:
        with engine.connect() as conn:
            count = conn.execute(
                text(
                    "SELECT count(*) FROM sample s JOIN eval e ON s.eval_pk = e.pk WHERE e.eval_set_id = :id"
                ),
                {"id": eval_set_id},
            ).scalar_one()
    finally:
        engine.dispose()
        # Leave the server stopped, as hawk leaves it, so the next (warm) run starts it itself.
        stop_embedded_server(root)
    return (
        []
        if count == expected
        else [f"warehouse holds {count} samples of {eval_set_id}, expected {expected}"]
    )


# ------------------------------------------------------------------------------------------------ breakdown

# (phase that ends at this milestone, how to recognise the milestone's event: step key, event type, message prefix)
_MILESTONES: list[tuple[str, str | None, str, str]] = [
    ("CLI start-up: imports, config, Dagster instance", None, "ASSET_MATERIALIZATION_PLANNED", ""),
    ("Dagster run set-up", "eval_logs", "STEP_START", ""),
    ("runner subprocess start (python, dagster_pipes)", "eval_logs", "LOG", "[pipes] external process"),
    ("runner: import Inspect, build tasks", "eval_logs", "LOG", "running "),
    ("runner: eval_set until the last cell ends", "eval_logs", "LOG", "hawk-progress "),
    ("runner: eval_set wrap-up, summarise logs, report", "eval_logs", "ASSET_MATERIALIZATION", ""),
    ("eval_logs step end (pipes close, subprocess exit)", "eval_logs", "STEP_SUCCESS", ""),
    ("between steps", "eval_warehouse", "STEP_START", ""),
    ("warehouse: start PostgreSQL, migrate, import", "eval_warehouse", "ASSET_MATERIALIZATION", ""),
    ("warehouse: logs-vs-warehouse check", "eval_warehouse", "ASSET_CHECK_EVALUATION", ""),
    ("Dagster run finish", None, "PIPELINE_SUCCESS", ""),
]


def hawk_breakdown(
    root: Path, eval_set_id: str, started_epoch: float, wall: float, log_dir: Path
) -> list[tuple[str, float]]:
    """Seconds per phase of one hawk run, from the Dagster run's event log (milestones not found are merged into
    the next phase). The runner's last progress line marks the end of the grid."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(root / "dagster")) as instance:
        runs = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == eval_set_id]
        if not runs:
            return []
        records = instance.all_logs(runs[0].run_id)

    def when(step: str | None, event_type: str, prefix: str) -> float | None:
        hits = [
            r.timestamp
            for r in records
            if (r.dagster_event.event_type_value if r.dagster_event else "LOG") == event_type
            and (step is None or r.step_key == step)
            and (r.user_message or "").startswith(prefix)
        ]
        if not hits:
            return None
        # Progress lines repeat; the grid ends with the last one. Everything else: the first occurrence.
        return max(hits) if prefix == "hawk-progress " else min(hits)

    phases: list[tuple[str, float]] = []
    previous = started_epoch
    for name, step, event_type, prefix in _MILESTONES:
        at = when(step, event_type, prefix)
        if at is not None:
            phases.append((name, at - previous))
            previous = at
    phases.append(("CLI: results table, exit (stops PostgreSQL)", started_epoch + wall - previous))
    window = log_window(log_dir)
    if window is not None:
        phases.append(("(for reference) grid per the logs: first start to last end", window[1] - window[0]))
    return phases


# -------------------------------------------------------------------------------------------------- report


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:7.2f}"


def print_report(results: list[RunResult]) -> None:
    print()
    print(f"{'side':<13} {'repeat':>6} {'wall s':>8} {'grid s':>8} {'other s':>8}  result")
    for r in results:
        other = None if r.grid_s is None else r.wall_s - r.grid_s
        status = "ok" if r.ok else "FAILED: " + "; ".join(r.problems or [f"exit code {r.returncode}"])
        print(f"{r.side:<13} {r.repeat:>6} {fmt(r.wall_s):>8} {fmt(r.grid_s):>8} {fmt(other):>8}  {status}")
    print("(grid s: first log started to last log completed, from the logs; other s: wall minus that)")

    for r in results:
        if r.breakdown:
            print(f"\nwhere {r.side} #{r.repeat} spent its {r.wall_s:.2f} s:")
            for name, seconds in r.breakdown:
                print(f"  {seconds:7.2f}  {name}")

    def median(side: str) -> float | None:
        walls = [r.wall_s for r in results if r.side == side]
        return statistics.median(walls) if walls else None

    inspect_s, fresh_s, warm_s = median("inspect"), median("hawk (fresh)"), median("hawk (warm)")
    print()
    if inspect_s and fresh_s:
        ratio = fresh_s / inspect_s
        verdict = "meets" if ratio <= TARGET_RATIO else "misses"
        print(
            f"ratio hawk (fresh) / inspect = {fresh_s:.2f} s / {inspect_s:.2f} s = {ratio:.2f} "
            f"(median wall times; target <= {TARGET_RATIO}: {verdict} it)"
        )
    if inspect_s and warm_s:
        print(
            f"ratio hawk (warm) / inspect = {warm_s:.2f} s / {inspect_s:.2f} s = {warm_s / inspect_s:.2f} (info)"
        )


# ---------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=1, help="Runs per side, alternating (default 1).")
    parser.add_argument("--samples", type=int, default=250, help="Samples per task (default 250).")
    parser.add_argument("--no-warm", action="store_true", help="Skip the extra warm hawk run per repeat.")
    parser.add_argument("--no-breakdown", action="store_true", help="Do not print where hawk's time went.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory (logs, outputs).")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.samples < 1:
        parser.error("--repeat and --samples must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("inspect", "hawk"):
        if not (BIN_DIR / tool).exists():
            print(
                f"{BIN_DIR / tool} not found: run with `uv run python {Path(__file__).name}`", file=sys.stderr
            )
            return 1
    base = Path(tempfile.mkdtemp(prefix="hawk-bench-"))
    workdir = base / "work"
    task_file = write_workspace(workdir)
    cells = len(TASKS) * len(MODELS)
    print(
        f"grid: {len(TASKS)} tasks x {len(MODELS)} models x {args.samples} samples ({cells * args.samples} samples), "
        f"{args.repeat} repeat(s); working in {base}"
    )
    # Untimed: bring both sides' packages into the page cache so neither pays for a cold disk.
    subprocess.run(
        [sys.executable, "-c", "import inspect_ai, dagster, hawk_dagster.definitions, hawk_runner.run"],
        check=True,
    )
    results: list[RunResult] = []
    roots: list[Path] = []
    try:
        for repeat in range(1, args.repeat + 1):
            root = base / f"hawk-root-{repeat}"
            roots.append(root)
            inspect_run = partial(run_inspect, base, workdir, task_file, args.samples, repeat)
            hawk_run = partial(
                run_hawk, base, workdir, root, args.samples, repeat, breakdown=not args.no_breakdown
            )
            steps = [inspect_run, partial(hawk_run, warm=False)]
            if repeat % 2 == 0:  # alternate which side goes first
                steps.reverse()
            if not args.no_warm:
                steps.append(partial(hawk_run, warm=True))
            for step in steps:
                result = step()
                print(f"  {result.side} #{repeat}: {result.wall_s:.2f} s, {'ok' if result.ok else 'FAILED'}")
                if not result.ok:
                    print(f"    output: {result.output}")
                results.append(result)
        print_report(results)
    finally:
        from hawk_dagster.warehouse.embedded import stop_embedded_server

        for root in roots:
            if (root / "pg").is_dir():
                stop_embedded_server(root)
        if args.keep or not all(r.ok for r in results):
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
