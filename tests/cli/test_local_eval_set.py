"""``hawk local eval-set`` end to end: exit codes, the results table, secrets, and resuming after a SIGKILL."""

from __future__ import annotations

import hashlib
import json
import os
import re
import signal
import sqlite3
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine, text

from tests.cli.conftest import HawkEnv
from tests.grids import EXAMPLES, write_grid

pytestmark = pytest.mark.slow


def _samples(url: str, eval_set_id: str) -> list[tuple[str, str, int]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT s.uuid, s.id, s.epoch FROM sample s JOIN eval e ON e.pk = s.eval_pk "
                "WHERE e.eval_set_id = :id ORDER BY s.id"
            ),
            {"id": eval_set_id},
        ).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def test_simple_example_runs_and_reports(hawk_env: HawkEnv) -> None:
    proc = hawk_env.run("local", "eval-set", str(EXAMPLES / "simple.eval-set.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "Results" in out and "warehouse:" in out and "logs:" in out
    for task in ("addition", "multiplication"):
        for model in ("hawk-mock/careful", "hawk-mock/sloppy"):
            assert any(task in line and model in line and "10/10" in line for line in out.splitlines()), out
    assert "match/accuracy" in out
    # Progress lines (not a terminal: plain lines) reached the final count for every cell.
    assert out.count("10/10 samples") >= 4
    eval_set_id = next(p.name for p in (hawk_env.root / "evals").iterdir())
    assert len(_samples(hawk_env.warehouse_url, eval_set_id)) == 40
    # The runner started while Dagster loaded ran the grid with the tasks it had built (execution/standby.py).
    run_log = hawk_env.run("logs", eval_set_id)
    assert "the runner started ahead of the run takes it over" in run_log.stdout, run_log.stdout
    assert "running 4 task(s) (built while the runner waited for its run)" in run_log.stdout
    # access groups: no model-groups file, so every model is in the default group, beside the logs and in the row
    stored = json.loads((hawk_env.root / "evals" / eval_set_id / ".model-groups.json").read_text())
    assert stored["groups"] == ["restricted"] and {"hawk-mock/careful", "hawk-mock/sloppy"} <= set(
        stored["models"]
    )
    engine = create_engine(hawk_env.warehouse_url)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT model_groups FROM eval_set")).scalar_one() == ["restricted"]
    engine.dispose()


def test_an_unusable_model_groups_file_exits_2_and_writes_nothing(hawk_env: HawkEnv) -> None:
    hawk_env.root.mkdir(parents=True)
    (hawk_env.root / "model-groups.yaml").write_text("groups:\n  frontier: [gpt-5]\n")
    proc = hawk_env.run("local", "eval-set", str(EXAMPLES / "simple.eval-set.yaml"))
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "model-groups.yaml" in proc.stderr and "groups.frontier[0]" in proc.stderr
    assert not (hawk_env.root / "evals").exists()


def test_ctf_example_solves_both_variants(hawk_env: HawkEnv) -> None:
    proc = hawk_env.run("local", "eval-set", str(EXAMPLES / "ctf.eval-set.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if "tiny_ctf" in line and "success" in line)
    assert "2/2" in line and "1.000" in line


def test_bad_config_exits_2_and_writes_nothing(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = write_grid(tmp_path / "cfg", eval_set_id="Bad_ID")
    proc = hawk_env.run("local", "eval-set", str(config))
    assert proc.returncode == 2
    assert "eval_set_id" in proc.stderr and str(config) in proc.stderr
    assert not hawk_env.root.exists()


def test_unknown_keys_need_confirmation(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = write_grid(tmp_path / "cfg", max_samples=4)
    proc = hawk_env.run("local", "eval-set", str(config))
    assert proc.returncode == 2
    assert "max_samples" in proc.stderr and "--skip-confirm" in proc.stderr
    assert not hawk_env.root.exists()


def test_missing_declared_secret_exits_2_before_anything_starts(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = write_grid(tmp_path / "cfg", runner={"secrets": [{"name": "HAWK_TEST_TOKEN"}]})
    proc = hawk_env.run("local", "eval-set", str(config))
    assert proc.returncode == 2
    assert "HAWK_TEST_TOKEN" in proc.stderr and "--secret HAWK_TEST_TOKEN" in proc.stderr
    assert not hawk_env.root.exists()


def test_failed_eval_exits_1_and_still_imports(hawk_env: HawkEnv, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    (folder / "broken.py").write_text(
        textwrap.dedent(
            """
            from inspect_ai import Task, task
            from inspect_ai.dataset import Sample
            from inspect_ai.scorer import match
            from inspect_ai.solver import solver

            @solver
            def explode():
                async def solve(state, generate):
                    raise RuntimeError("this task always fails")
                return solve

            @task
            def broken():
                return Task(dataset=[Sample(id=i, input="hi", target="x") for i in range(2)],
                            solver=explode(), scorer=match())
            """
        )
    )
    config = folder / "grid.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "eval_set_id": "fails",
                "tasks": [{"path": "broken.py", "items": [{"name": "broken"}]}],
                "models": [{"items": [{"name": "hawk-mock/m"}]}],
                "retry_attempts": 0,
            }
        )
    )
    proc = hawk_env.run("local", "eval-set", str(config), "--skip-confirm")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "error" in proc.stdout and "all_cells_succeeded" in proc.stdout


SECRET = "s3cr3t-" + "planted-value-9f2c"


def test_secret_reaches_the_runner_and_nothing_else(hawk_env: HawkEnv, tmp_path: Path) -> None:
    folder = tmp_path / "cfg"
    folder.mkdir()
    digest = hashlib.sha256(SECRET.encode()).hexdigest()
    (folder / "probe.py").write_text(
        textwrap.dedent(
            f"""
            import hashlib, os
            from inspect_ai import Task, task
            from inspect_ai.dataset import Sample
            from inspect_ai.scorer import match

            @task
            def secret_probe():
                value = os.environ.get("HAWK_PLANTED_SECRET", "")
                if hashlib.sha256(value.encode()).hexdigest() != "{digest}":
                    raise RuntimeError("the secret did not reach the runner's environment")
                return Task(dataset=[Sample(input="What is 1 + 1?", target="2")], scorer=match())
            """
        )
    )
    secrets_file = tmp_path / "secrets.env"
    secrets_file.write_text(f"HAWK_PLANTED_SECRET={SECRET}\n")
    config = folder / "grid.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "eval_set_id": "secretive",
                "tasks": [{"path": "probe.py", "items": [{"name": "secret_probe"}]}],
                "models": [{"items": [{"name": "hawk-mock/m"}]}],
                "runner": {"secrets": [{"name": "HAWK_PLANTED_SECRET"}], "environment": {"PLAIN": "ok"}},
            }
        )
    )
    proc = hawk_env.run("local", "eval-set", str(config), "--secrets-file", str(secrets_file))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert SECRET not in proc.stdout + proc.stderr

    # Every file under the storage root (logs decoded, Dagster's SQLite event log, runner output, snapshot).
    from inspect_ai.log import list_eval_logs, read_eval_log

    for path in hawk_env.root.rglob("*"):
        if path.is_file() and not path.is_relative_to(hawk_env.root / "pg"):
            assert SECRET.encode() not in path.read_bytes(), path
    for info in list_eval_logs(str(hawk_env.root / "evals" / "secretive")):
        assert SECRET not in read_eval_log(info).model_dump_json()
    for db in hawk_env.root.rglob("*.db"):
        with sqlite3.connect(db) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                assert SECRET not in json.dumps(
                    conn.execute(f'SELECT * FROM "{table}"').fetchall(), default=str
                )
    # Every row of every warehouse table.
    engine = create_engine(hawk_env.warehouse_url)
    with engine.connect() as conn:
        tables = (
            conn.execute(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).scalars().all()
        )
        assert "sample" in tables
        for table in tables:
            dump = conn.execute(
                text(f"SELECT coalesce(json_agg(t)::text, '') FROM \"{table}\" t")
            ).scalar_one()
            assert SECRET not in dump, table
    engine.dispose()


def _flushed_samples(log_dir: Path) -> dict[str, str]:
    from inspect_ai.log import read_eval_log_sample_summaries

    flushed: dict[str, str] = {}
    for log in log_dir.glob("*.eval"):
        try:
            flushed.update({str(s.id): s.uuid for s in read_eval_log_sample_summaries(str(log))})
        except Exception:  # being written right now
            continue
    return flushed


def test_resume_after_sigkill_runs_each_sample_once(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = write_grid(
        tmp_path / "cfg",
        eval_set_id="resume-me",
        tasks=[{"path": "tasks/arithmetic.py", "items": [{"name": "addition", "args": {"n": 30}}]}],
        agents=[],
        models=[{"items": [{"name": "hawk-mock/slow", "args": {"latency": 0.4}}]}],
        max_samples=2,
        log_buffer=2,
    )
    log_dir = hawk_env.root / "evals" / "resume-me"
    proc = hawk_env.popen("local", "eval-set", str(config), "--skip-confirm")
    deadline = time.monotonic() + 120
    flushed: dict[str, str] = {}
    try:
        while time.monotonic() < deadline and len(flushed) < 4:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            time.sleep(0.2)
            flushed = _flushed_samples(log_dir) if log_dir.exists() else {}
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert 4 <= len(flushed) < 30, f"kill came too late or never: {len(flushed)} samples flushed"

    rerun = hawk_env.run("local", "eval-set", str(config), "--skip-confirm")
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr

    rows = _samples(hawk_env.warehouse_url, "resume-me")
    assert len(rows) == 30 and len({uuid for uuid, _, _ in rows}) == 30
    by_id = {sample_id: uuid for uuid, sample_id, _ in rows}
    # Samples that finished before the kill were reused, not re-run: same uuids.
    assert {i: by_id[i] for i in flushed} == flushed
    # the resumed log alone in the folder: the killed run's started log was set aside
    assert len(list(log_dir.glob("*.eval"))) == 1
    assert len(list((log_dir / "superseded").glob("*.eval.superseded"))) == 1
    # progress started from the samples the resume reused, not from 0
    first = re.search(r"addition \[hawk-mock/slow\]: (\d+)/30 samples \((\d+) reused\)", rerun.stdout)
    assert first is not None, rerun.stdout
    assert int(first.group(1)) == int(first.group(2)) >= len(flushed)


def test_package_tasks_run_in_a_fresh_environment(hawk_env: HawkEnv) -> None:
    proc = hawk_env.run("local", "eval-set", str(EXAMPLES / "package.eval-set.yaml"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = next(line for line in proc.stdout.splitlines() if "subtraction" in line and "success" in line)
    assert "5/5" in row and "1.000" in row
    # The runner ran under the environment's interpreter, not ours (kept under the root for reuse).
    runner_log = next((hawk_env.root / "runner-logs").glob("*.log")).read_text()
    assert f"{hawk_env.root}/runner-envs/" in runner_log and "/venv/bin/python" in runner_log


def test_direct_runs_inside_the_process(hawk_env: HawkEnv, tmp_path: Path) -> None:
    config = write_grid(
        tmp_path / "cfg",
        tasks=[{"path": "tasks/arithmetic.py", "items": [{"name": "addition", "args": {"n": 2}}]}],
    )
    proc = hawk_env.run("local", "eval-set", str(config), "--direct")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "runner output:" not in proc.stdout
    assert not (hawk_env.root / "runner-logs").exists()  # nothing ran as a separate runner process
    eval_set_id = next(p.name for p in (hawk_env.root / "evals").iterdir())
    assert len(_samples(hawk_env.warehouse_url, eval_set_id)) == 4


def test_an_unreachable_warehouse_fails_in_one_line(hawk_env: HawkEnv, tmp_path: Path) -> None:
    # The local Dagster instance lives on the warehouse's server too (a schema of HAWK_WAREHOUSE_URL's database), so
    # an unreachable server stops the command before anything runs: one line, no password, no traceback.
    config = write_grid(
        tmp_path / "cfg",
        tasks=[{"path": "tasks/arithmetic.py", "items": [{"name": "addition", "args": {"n": 2}}]}],
    )
    proc = hawk_env.run(
        "local",
        "eval-set",
        str(config),
        extra_env={"HAWK_WAREHOUSE_URL": "postgresql://hawk:pw@127.0.0.1:9/x"},
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    (failure,) = proc.stderr.strip().splitlines()
    assert failure.startswith("error: OperationalError: connection failed")
    assert "Connection refused" in failure and "pw" not in failure
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not list((hawk_env.root / "evals").rglob("*.eval")), "nothing ran"
