"""How much slower is ``hawk local eval-set`` than plain ``inspect eval-set`` on the same grid?

What it measures: one grid, 2 tasks (``addition``, ``multiplication`` from ``configs/examples/tasks/arithmetic.py``,
250 samples each) x 2 offline models (``hawk-mock/a``, ``hawk-mock/b``), the tasks' default solver, message limit 10,
run as a subprocess by each side and timed from process start to exit:

- **inspect**: ``inspect eval-set FILE@addition FILE@multiplication -T n=250 --model hawk-mock/a,hawk-mock/b``
  into a fresh log dir, with the arguments hawk's runner also passes (display none, log level warning,
  continue on fail);
- **hawk (fresh)**: ``hawk local eval-set GRID.yaml --skip-confirm`` with a fresh ``HAWK_STORAGE_ROOT``: the Dagster
  instance and the embedded PostgreSQL server start from nothing, and the warehouse import is included.

The ratio hawk (fresh) / inspect (median wall times) is what the target, <= 1.10 (issue 9; issue 3 asked for 1.3),
is about. As extra information each repeat also runs **hawk (warm)**: a new eval set on the same root, so
PostgreSQL's data directory and schema and the Dagster instance already exist (the server itself is stopped, as it
is whenever no ``hawk`` process is running).

Fairness and isolation:

- Both sides get their own empty ``XDG_DATA_HOME``/``XDG_CACHE_HOME``, no ``INSPECT_*``/``HAWK_*``/``DAGSTER_*``
  variables and a working directory without ``.env``. Sides alternate which goes first when repeated.
- Python bytecode: by default both sides share a private ``PYTHONPYCACHEPREFIX`` in the temporary directory, filled
  by an untimed warm-up run of each side on a 2-sample grid, so neither pays for compiling modules (a machine that
  sets ``PYTHONDONTWRITEBYTECODE`` and has no ``.pyc`` files would otherwise recompile Inspect and Dagster in every
  process, and hawk starts more processes). ``--no-bytecode-cache`` measures the environment as it is instead.
- The machine's load average is printed before and after, and each run's CPU time (the process and the children it
  waited for) next to its wall time: other work on the machine inflates wall times but hardly CPU times.

Every run is checked: 4 logs, status success, 250 samples each, and for hawk 1000 samples of that eval set in the
warehouse. For hawk runs the script also prints where the time went, from the Dagster run's event log.

Run it (a few minutes on 2 cores)::

    uv run python benchmarks/pipeline_vs_inspect.py              # one repeat
    uv run python benchmarks/pipeline_vs_inspect.py --repeat 3   # alternate inspect/hawk three times

Exit status: 0 when every run produced correct results, whether or not the target is met; 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import resource
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
WARMUP_SAMPLES = 2
TARGET_RATIO = 1.1
BIN_DIR = Path(sys.executable).parent
# Variables that would change what either side does (a log dir, a default model, a warehouse, a Dagster home).
ISOLATED_PREFIXES = ("INSPECT_", "HAWK_", "DAGSTER_")
INSPECT, HAWK_FRESH, HAWK_WARM = "inspect", "hawk (fresh)", "hawk (warm)"


@dataclass
class RunResult:
    side: str
    repeat: int
    wall_s: float
    cpu_s: float
    returncode: int
    output: Path
    samples_s: float | None = None
    problems: list[str] = field(default_factory=list)
    breakdown: list[tuple[str, float]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.problems

    @property
    def rest_s(self) -> float | None:
        """Wall time outside the samples: start-up, set-up, wrap-up, warehouse import, exit."""
        return None if self.samples_s is None else self.wall_s - self.samples_s

    def describe_failure(self) -> str:
        return "; ".join(self.problems or [f"exit code {self.returncode}"]) + f" (output: {self.output})"


@dataclass(frozen=True)
class Bench:
    """Where runs happen and what every run's environment has in common."""

    base: Path
    workdir: Path
    task_file: Path
    bytecode_cache: bool
    breakdown: bool

    @classmethod
    def create(cls, base: Path, *, bytecode_cache: bool, breakdown: bool) -> Bench:
        workdir = base / "work"
        (workdir / "tasks").mkdir(parents=True)
        task_file = workdir / "tasks" / TASK_FILE.name
        shutil.copyfile(TASK_FILE, task_file)
        return cls(base, workdir, task_file, bytecode_cache, breakdown)

    def env(self, run_dir: Path, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(ISOLATED_PREFIXES)}
        env["XDG_DATA_HOME"] = str(run_dir / "xdg" / "data")
        env["XDG_CACHE_HOME"] = str(run_dir / "xdg" / "cache")
        if self.bytecode_cache:
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            env["PYTHONPYCACHEPREFIX"] = str(self.base / "pycache")
        env.update(extra)
        return env

    def run_inspect(self, repeat: int, samples: int) -> RunResult:
        """One ``inspect eval-set`` run (repeat 0 is the warm-up)."""
        run_dir = self.base / f"inspect-{_tag(repeat)}"
        log_dir = run_dir / "logs"
        command = [
            str(BIN_DIR / "inspect"),
            "eval-set",
            *(f"{self.task_file}@{name}" for name in TASKS),
            "-T",
            f"n={samples}",
            "--model",
            ",".join(MODELS),
            "--log-dir",
            str(log_dir),
            "--message-limit",
            str(MESSAGE_LIMIT),
            # What hawk's runner passes to eval_set by default (hawk_runner.run.PLATFORM_DEFAULTS).
            "--display",
            "none",
            "--log-level",
            "warning",
            "--continue-on-fail",
        ]
        _, wall, cpu, code = timed(command, self.env(run_dir), self.workdir, run_dir / "output.txt")
        result = RunResult(INSPECT, repeat, wall, cpu, code, run_dir / "output.txt")
        result.samples_s, result.problems = check_logs(log_dir, samples)
        return result

    def run_hawk(self, repeat: int, samples: int, *, warm: bool) -> RunResult:
        """One ``hawk local eval-set`` on this repeat's root (repeat 0 is the warm-up): fresh (the root does not exist
        yet) or warm (a new eval set on the root the fresh run left)."""
        kind, tag = ("warm" if warm else "fresh"), _tag(repeat)
        run_dir = self.base / f"hawk-{kind}-{tag}"
        root = self.base / f"hawk-root-{tag}"
        eval_set_id = f"bench-{kind}-{tag}"
        grid = write_grid(self.workdir, eval_set_id, samples)
        command = [str(BIN_DIR / "hawk"), "local", "eval-set", str(grid), "--skip-confirm"]
        env = self.env(run_dir, HAWK_STORAGE_ROOT=str(root))
        started_epoch, wall, cpu, code = timed(command, env, self.workdir, run_dir / "output.txt")
        side = HAWK_WARM if warm else HAWK_FRESH
        result = RunResult(side, repeat, wall, cpu, code, run_dir / "output.txt")
        result.samples_s, result.problems = check_logs(root / "evals" / eval_set_id, samples)
        if self.breakdown and repeat:  # before check_warehouse, which stops the server the instance is on
            result.breakdown = hawk_breakdown(root, eval_set_id, started_epoch, wall)
        result.problems += check_warehouse(root, eval_set_id, samples * len(TASKS) * len(MODELS))
        return result


def _tag(repeat: int) -> str:
    return str(repeat) if repeat else "warmup"


def write_grid(workdir: Path, eval_set_id: str, samples: int) -> Path:
    """The hawk YAML for the grid (no solver/agent: the tasks' default solver, as on the inspect side)."""
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


def timed(
    command: list[str], env: dict[str, str], cwd: Path, output: Path
) -> tuple[float, float, float, int]:
    """Run ``command`` to completion, output to ``output``; return (start epoch, wall s, CPU s, exit code).

    CPU time counts the process and every descendant it waited for (hawk's runner subprocess, not the PostgreSQL
    server, which ``pg_ctl`` detaches)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with output.open("wb") as out:
        started_epoch = time.time()
        started = time.perf_counter()
        proc = subprocess.run(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
        wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return started_epoch, wall, cpu, proc.returncode


# ------------------------------------------------------------------------------------------------- checking


def check_logs(log_dir: Path, samples: int) -> tuple[float | None, list[str]]:
    """What is wrong with the logs (expect one successful log of ``samples`` samples per cell), and the seconds from
    the first sample's start to the last sample's end (the logs' own timestamps)."""
    from inspect_ai.log import list_eval_logs, read_eval_log, read_eval_log_sample_summaries

    if not log_dir.is_dir():
        return None, [f"no log dir {log_dir}"]
    problems: list[str] = []
    cells: list[tuple[str, str]] = []
    starts: list[float] = []
    ends: list[float] = []
    for info in list_eval_logs(str(log_dir), recursive=False):
        header = read_eval_log(info, header_only=True)
        cell = (header.eval.task, header.eval.model)
        cells.append(cell)
        summaries = read_eval_log_sample_summaries(info)
        if header.status != "success" or len(summaries) != samples:
            problems.append(
                f"{cell[0]} [{cell[1]}]: status {header.status}, {len(summaries)}/{samples} samples"
            )
        starts += [datetime.fromisoformat(s.started_at).timestamp() for s in summaries if s.started_at]
        ends += [datetime.fromisoformat(s.completed_at).timestamp() for s in summaries if s.completed_at]
    expected = sorted((task, model) for task in TASKS for model in MODELS)
    if sorted(cells) != expected:
        problems.append(f"logs for {sorted(cells)}, expected one each for {expected}")
    return (max(ends) - min(starts) if starts and ends else None), problems


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
    if count != expected:
        return [f"warehouse holds {count} samples of {eval_set_id}, expected {expected}"]
    return []


# ------------------------------------------------------------------------------------------------ breakdown

# Milestones of a hawk run in the Dagster event log, in order: (the phase that ends there, step key, event type,
# message prefix). The runner's last progress line marks the end of the grid.
MILESTONES: list[tuple[str, str | None, str, str]] = [
    ("CLI start-up: imports (Dagster, Inspect, SQLAlchemy), config, Dagster instance", None, "", ""),
    ("Dagster run set-up", "eval_logs", "STEP_START", ""),
    # The runner is started ahead of the run (execution/standby.py): the first two are what the step still waits for.
    ("runner: rest of its start (imports incl. Inspect), open Pipes", "eval_logs", "LOG", "[pipes] "),
    ("runner: build the tasks (if not built ahead)", "eval_logs", "LOG", "running "),
    ("runner: eval_set until the last cell's last progress line", "eval_logs", "LOG", "hawk-progress "),
    # Pipes hands the runner's materialisation to Dagster only once the runner has exited.
    ("runner: eval_set wrap-up, summarise logs, exit", "eval_logs", "ASSET_MATERIALIZATION", ""),
    ("eval_logs step end", "eval_logs", "STEP_SUCCESS", ""),
    ("between the steps", "eval_warehouse", "STEP_START", ""),
    ("warehouse: start PostgreSQL, migrate, import", "eval_warehouse", "ASSET_MATERIALIZATION", ""),
    ("warehouse: logs-vs-warehouse check", "eval_warehouse", "ASSET_CHECK_EVALUATION", ""),
    ("Dagster run end", None, "PIPELINE_SUCCESS", ""),
]
LAST_PHASE = "CLI: results table, exit (stops PostgreSQL, interpreter teardown)"


def hawk_breakdown(
    root: Path, eval_set_id: str, started_epoch: float, wall: float
) -> list[tuple[str, float]]:
    """Seconds per phase of one hawk run, from the event log of its Dagster run (a milestone that is missing folds
    its phase into the next one)."""
    import dagster as dg

    # hawk ran without HAWK_WAREHOUSE_URL: its instance is on the embedded server, whatever this process's env says.
    os.environ.pop("HAWK_WAREHOUSE_URL", None)
    with dg.DagsterInstance.from_config(str(root / "dagster")) as instance:
        runs = [r for r in instance.get_runs() if r.tags.get("dagster/partition") == eval_set_id]
        if not runs:
            return []
        records = instance.all_logs(runs[0].run_id)
    if not records:
        return []

    def at(step: str | None, event_type: str, prefix: str) -> float | None:
        if not event_type:  # the run's first event
            return records[0].timestamp
        hits = [
            r.timestamp
            for r in records
            if (r.dagster_event.event_type_value if r.dagster_event else "LOG") == event_type
            and (step is None or r.step_key == step)
            and (r.user_message or "").startswith(prefix)
        ]
        if not hits:
            return None
        return max(hits) if prefix == "hawk-progress " else min(hits)

    phases: list[tuple[str, float]] = []
    previous = started_epoch
    for name, step, event_type, prefix in MILESTONES:
        when = at(step, event_type, prefix)
        if when is not None:
            phases.append((name, when - previous))
            previous = when
    phases.append((LAST_PHASE, started_epoch + wall - previous))
    return phases


# -------------------------------------------------------------------------------------------------- report


def fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}"


def load() -> str:
    return "load average " + " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" ({os.cpu_count()} CPUs)"


def print_report(results: list[RunResult]) -> None:
    print()
    print(f"{'side':<13} {'repeat':>6} {'wall s':>8} {'CPU s':>8} {'samples s':>10} {'rest s':>8}  result")
    for r in results:
        status = "ok" if r.ok else "FAILED: " + r.describe_failure()
        print(
            f"{r.side:<13} {r.repeat:>6} {fmt(r.wall_s):>8} {fmt(r.cpu_s):>8} {fmt(r.samples_s):>10} "
            f"{fmt(r.rest_s):>8}  {status}"
        )
    print("samples s: first sample started to last sample completed, from the logs; rest s: wall minus that")

    for r in results:
        if r.breakdown:
            print(f"\nwhere {r.side} #{r.repeat} spent its {r.wall_s:.2f} s:")
            for name, seconds in r.breakdown:
                print(f"  {seconds:7.2f}  {name}")

    def median(side: str, attr: str) -> float | None:
        values = [v for r in results if r.side == side and (v := getattr(r, attr)) is not None]
        return statistics.median(values) if values else None

    def for_side(side: str) -> list[RunResult]:
        return [r for r in results if r.side == side]

    print()
    inspect_wall, inspect_cpu = median(INSPECT, "wall_s"), median(INSPECT, "cpu_s")
    inspect_rest = median(INSPECT, "rest_s")
    for side in (HAWK_FRESH, HAWK_WARM):
        wall, cpu = median(side, "wall_s"), median(side, "cpu_s")
        if not (inspect_wall and inspect_cpu and wall and cpu):
            continue
        ratio = wall / inspect_wall
        verdict = (
            f"target <= {TARGET_RATIO}: {'met' if ratio <= TARGET_RATIO else 'MISSED'}"
            if side == HAWK_FRESH
            else "for information"
        )
        print(
            f"{side} / inspect: wall {wall:.2f} / {inspect_wall:.2f} s = {ratio:.2f} ({verdict}); "
            f"CPU {cpu:.2f} / {inspect_cpu:.2f} s = {cpu / inspect_cpu:.2f}"
        )
        paired = [
            f"#{h.repeat} {h.wall_s / i.wall_s:.2f}"
            for h in for_side(side)
            for i in for_side(INSPECT)
            if h.repeat == i.repeat
        ]
        print(f"  wall ratio per repeat: {', '.join(paired)}")
        rest = median(side, "rest_s")
        if rest is not None and inspect_rest is not None:
            print(
                f"  time outside the samples (median): {rest:.2f} s vs {inspect_rest:.2f} s, "
                f"{rest - inspect_rest:+.2f} s"
            )


# ---------------------------------------------------------------------------------------------------- main


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=1, help="Runs per side, alternating (default 1).")
    parser.add_argument("--samples", type=int, default=250, help="Samples per task (default 250).")
    parser.add_argument("--no-warm", action="store_true", help="Skip the extra warm hawk run of each repeat.")
    parser.add_argument("--no-breakdown", action="store_true", help="Do not print where hawk's time went.")
    parser.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="Run with the environment's own bytecode settings instead of a shared, pre-filled cache.",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the temporary directory (logs, outputs).")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.samples < 1:
        parser.error("--repeat and --samples must be at least 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("inspect", "hawk"):
        if not (BIN_DIR / tool).exists():
            print(f"{BIN_DIR / tool} not found: run this with `uv run python`", file=sys.stderr)
            return 1
    # Inspect loads the first .env it finds walking up from the working directory (a folder in the temp dir).
    tmp = Path(tempfile.gettempdir()).resolve()
    dotenvs = [d / ".env" for d in (tmp, *tmp.parents) if (d / ".env").exists()]
    if dotenvs:
        print(
            f"{dotenvs[0]} would be loaded by Inspect: set TMPDIR to a folder without one above it",
            file=sys.stderr,
        )
        return 1
    base = Path(tempfile.mkdtemp(prefix="hawk-bench-"))
    bench = Bench.create(base, bytecode_cache=not args.no_bytecode_cache, breakdown=not args.no_breakdown)
    bytecode = "shared pre-filled cache" if bench.bytecode_cache else "as the environment has it"
    print(
        f"grid: {len(TASKS)} tasks x {len(MODELS)} models x {args.samples} samples; {args.repeat} repeat(s); "
        f"bytecode: {bytecode}; in {base}"
    )
    results: list[RunResult] = []
    keep = args.keep
    try:
        # Untimed: compile bytecode (when cached), warm the page cache, and check that both sides work at all.
        warmups = [
            bench.run_inspect(0, WARMUP_SAMPLES),
            bench.run_hawk(0, WARMUP_SAMPLES, warm=False),
        ]
        failed = [w for w in warmups if not w.ok]
        for w in failed:
            print(f"warm-up of {w.side} failed: {w.describe_failure()}", file=sys.stderr)
        if failed:
            keep = True
            return 1
        print(f"warm-up done; {load()}")
        for repeat in range(1, args.repeat + 1):
            steps = [
                partial(bench.run_inspect, repeat, args.samples),
                partial(bench.run_hawk, repeat, args.samples, warm=False),
            ]
            if repeat % 2 == 0:  # alternate which side goes first
                steps.reverse()
            if not args.no_warm:
                steps.append(partial(bench.run_hawk, repeat, args.samples, warm=True))
            for step in steps:
                result = step()
                print(f"  {result.side} #{repeat}: {result.wall_s:.2f} s {'ok' if result.ok else 'FAILED'}")
                results.append(result)
        print(f"done; {load()}")
        print_report(results)
    finally:
        from hawk_dagster.warehouse.embedded import stop_embedded_server

        for root in base.glob("hawk-root-*"):
            if (root / "pg").is_dir():
                stop_embedded_server(root)
        if keep or not all(r.ok for r in results):
            print(f"\nkept {base}")
        else:
            shutil.rmtree(base, ignore_errors=True)
    return 0 if results and all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
