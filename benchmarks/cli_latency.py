"""How long do the everyday ``hawk`` commands take, against the floor of Python importing what they must?

What it measures, each command a fresh process timed from start to exit (wall time; CPU time beside it):

- **floor**: ``python -c "import click, rich, sqlalchemy, psycopg"``, the libraries a listing cannot do without;
- ``hawk --help`` and ``hawk validate configs/examples/simple.eval-set.yaml`` (targets: <= 1.5x the floor);
- ``hawk list eval-sets``, ``hawk list samples --limit 20`` and ``hawk transcript UUID`` (targets: <= 2.5x the
  floor), with the embedded PostgreSQL server already running, as it is after any ``hawk`` command;
- **cold**: ``hawk list eval-sets`` with the embedded server stopped (it starts the server), and ten listings in a
  row from a stopped server, counting how many times the server started (it should be once: the server stays up
  for ``HAWK_EMBEDDED_PG_IDLE_STOP`` seconds after its last use and a join is a file read);
- **idle** (``--idle SECONDS``, default 180; 0 skips it): ``hawk dev`` with nothing to do against a bare
  ``dagster dev`` serving one asset and one sensor, side by side for the same seconds, as the share of one core
  their whole process trees use (target: hawk <= 1.25x the bare one).

Set-up: a fresh storage root in a temporary directory, filled by running the simple example grid once (``hawk local
eval-set``, 40 samples). Bytecode: every process shares a private ``PYTHONPYCACHEPREFIX`` filled by an untimed
warm-up run of each command, so nothing is compiled while timed (this machine sets ``PYTHONDONTWRITEBYTECODE``).
The commands run in rounds, their order rotating, and medians are compared; the load average is printed.

Run it::

    uv run python benchmarks/cli_latency.py               # about 5 minutes with the idle comparison
    uv run python benchmarks/cli_latency.py --idle 0      # latency only, about a minute

Exit status: 0 when every command succeeded, whether or not the targets are met; 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
HAWK = [str(BIN / "hawk")]
EXAMPLE = REPO / "configs" / "examples" / "simple.eval-set.yaml"
FLOOR = [sys.executable, "-c", "import click, rich, sqlalchemy, psycopg"]


@dataclass
class Timings:
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.wall)

    @property
    def cpu_median(self) -> float:
        return statistics.median(self.cpu)


def run(argv: list[str], env: dict[str, str], timeout: float = 600) -> tuple[float, float, str]:
    """(wall seconds, CPU seconds, stdout); raises when the command fails."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, cwd=REPO)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(
            f"{' '.join(argv)} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
        )
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, proc.stdout


def environment(tmp: Path) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HAWK_", "INSPECT_", "DAGSTER_")) and k != "PYTHONDONTWRITEBYTECODE"
    }
    env.update(
        HAWK_STORAGE_ROOT=str(tmp / "root"),
        PYTHONPYCACHEPREFIX=str(tmp / "pycache"),
        XDG_DATA_HOME=str(tmp / "xdg-data"),
        XDG_CACHE_HOME=str(tmp / "xdg-cache"),
        XDG_CONFIG_HOME=str(tmp / "xdg-config"),
        INSPECT_DISPLAY="none",
    )
    return env


def server_pid(root: Path) -> int | None:
    pid_file = root / "pg" / "postmaster.pid"
    try:
        return int(pid_file.read_text().splitlines()[0])
    except (OSError, ValueError, IndexError):
        return None


def stop_server(root: Path) -> None:
    from hawk_dagster.warehouse.embedded import stop_embedded_server

    stop_embedded_server(root)


def latency(env: dict[str, str], root: Path, rounds: int) -> bool:
    print("set-up: hawk local eval-set on the simple example ...", flush=True)
    wall, _, _ = run([*HAWK, "local", "eval-set", str(EXAMPLE), "--skip-confirm"], env)
    print(f"  done in {wall:.1f} s")
    _, _, out = run([*HAWK, "list", "samples", "--limit", "1", "--format", "json"], env)
    uuid = json.loads(out)[0]["uuid"]
    commands: dict[str, tuple[list[str], float]] = {
        "floor: import click, rich, sqlalchemy, psycopg": (FLOOR, 1.0),
        "hawk --help": ([*HAWK, "--help"], 1.5),
        "hawk validate simple.eval-set.yaml": ([*HAWK, "validate", str(EXAMPLE)], 1.5),
        "hawk list eval-sets": ([*HAWK, "list", "eval-sets"], 2.5),
        "hawk list samples --limit 20": ([*HAWK, "list", "samples", "--limit", "20"], 2.5),
        "hawk transcript UUID": ([*HAWK, "transcript", uuid], 2.5),
    }
    for argv, _ in commands.values():  # fills the bytecode cache; the server is up after the set-up
        run(argv, env)
    timings = {name: Timings() for name in commands}
    names = list(commands)
    for r in range(rounds):
        for name in names[r % len(names) :] + names[: r % len(names)]:
            wall, cpu, _ = run(commands[name][0], env)
            timings[name].wall.append(wall)
            timings[name].cpu.append(cpu)
    floor = timings[names[0]].median
    print(f"\nwarm (embedded server running), medians of {rounds} rounds:")
    print(f"  {'command':<48} {'wall':>8} {'cpu':>8} {'ratio':>7} {'target':>7}")
    for name, (_, target) in commands.items():
        t = timings[name]
        ratio = t.median / floor
        verdict = "" if name == names[0] else ("  met" if ratio <= target else "  MISSED")
        print(f"  {name:<48} {t.median:7.3f}s {t.cpu_median:7.3f}s {ratio:6.2f}x {target:6.1f}x{verdict}")

    cold = Timings()
    for _ in range(3):
        stop_server(root)
        wall, cpu, _ = run([*HAWK, "list", "eval-sets"], env)
        cold.wall.append(wall)
        cold.cpu.append(cpu)
    print(
        f"\ncold: hawk list eval-sets with the server stopped: {cold.median:.3f} s (cpu {cold.cpu_median:.3f} s)"
    )

    stop_server(root)
    pids: list[int | None] = []
    started = time.perf_counter()
    for _ in range(10):
        run([*HAWK, "list", "eval-sets"], env)
        pids.append(server_pid(root))
    total = time.perf_counter() - started
    starts = len({p for p in pids if p is not None})
    print(
        f"ten listings in a row from a stopped server: {total:.2f} s in all, server started {starts} time(s) "
        f"({'met' if starts == 1 and all(pids) else 'MISSED'}: at most once)"
    )
    return True


BARE_DEFS = """
import dagster as dg

@dg.asset
def one_asset() -> None:
    pass

@dg.sensor(target=[one_asset], default_status=dg.DefaultSensorStatus.RUNNING)
def one_sensor(context):
    return dg.SkipReason("nothing to do")

defs = dg.Definitions(assets=[one_asset], sensors=[one_sensor])
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree_cpu(root: psutil.Process) -> float:
    """CPU seconds used so far by a process and every descendant still alive."""
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def idle(env: dict[str, str], tmp: Path, seconds: float) -> None:
    bare = tmp / "bare"
    (bare / "home").mkdir(parents=True)
    (bare / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    (bare / "defs.py").write_text(textwrap.dedent(BARE_DEFS))
    sides = {
        "hawk dev": [*HAWK, "dev", "--port", str(free_port())],
        "bare dagster dev": [
            str(BIN / "dagster"), "dev", "-f", str(bare / "defs.py"), "-p", str(free_port()),
        ],
    }  # fmt: skip
    envs = {"hawk dev": env, "bare dagster dev": {**env, "DAGSTER_HOME": str(bare / "home")}}
    procs = {
        name: subprocess.Popen(
            argv, env=envs[name], cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        for name, argv in sides.items()
    }  # fmt: skip
    try:
        settle = 60.0
        print(
            f"\nidle: both servers start; measuring from {settle:.0f} s after start for {seconds:.0f} s ...",
            flush=True,
        )
        time.sleep(settle)
        handles = {name: psutil.Process(p.pid) for name, p in procs.items()}
        start_cpu = {name: tree_cpu(h) for name, h in handles.items()}
        started = time.monotonic()
        time.sleep(seconds)
        elapsed = time.monotonic() - started
        used = {name: (tree_cpu(h) - start_cpu[name]) / elapsed for name, h in handles.items()}
        for name, share in used.items():
            print(f"  {name:<20} {share * 100:5.1f}% of a core")
        ratio = used["hawk dev"] / used["bare dagster dev"]
        print(f"  ratio {ratio:.2f}x (target <= 1.25x: {'met' if ratio <= 1.25 else 'MISSED'})")
    finally:
        for proc in procs.values():
            with _quiet():
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                with _quiet():
                    os.killpg(proc.pid, signal.SIGKILL)


class _quiet:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> bool:
        return exc[0] is ProcessLookupError


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=9, help="rounds of warm measurements (default 9)")
    parser.add_argument("--idle", type=float, default=180, help="seconds of idle comparison (0: skip)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    tmp = Path(
        tempfile.mkdtemp(prefix="hawk-cli-")
    )  # short: the server's socket path must stay under 107 bytes
    env = environment(tmp)
    root = tmp / "root"
    print(f"load average before: {os.getloadavg()[0]:.2f}; working in {tmp}")
    try:
        ok = latency(env, root, args.rounds)
        if args.idle > 0:
            idle(env, tmp, args.idle)
    finally:
        stop_server(root)
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
