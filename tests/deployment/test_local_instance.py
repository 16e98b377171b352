"""The local Dagster instance on PostgreSQL: dagster-postgres's storage in a database of its own on the embedded server
(or a schema on the warehouse's server), concurrent runs, the server kept up for a live run worker, and what becomes of
an older SQLite instance."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import psycopg
import pytest
from dagster._core.storage.runs import SqliteRunStorage
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

from hawk_dagster.deployment.local_instance import (
    DAGSTER_DATABASE,
    HEADER,
    config_text,
    dagster_home,
    local_instance,
)
from hawk_dagster.deployment.local_storage import schema_name
from hawk_dagster.warehouse.embedded import (
    pgdata_dir,
    pid_alive,
    postmaster_status,
    registered_users,
    stop_embedded_server,
)

# One job per process: a few ops that each log, so concurrent runs interleave many event writes.
CONCURRENT_RUN = """
import sys, time
from pathlib import Path
import dagster as dg
from hawk_dagster.deployment.local_instance import local_instance

@dg.op
def chatty(context: dg.OpExecutionContext) -> int:
    for i in range(20):
        context.log.info(f"line {i}")
    return 1

@dg.job
def busy() -> None:
    for i in range(4):
        chatty.alias(f"chatty_{i}")()

instance = local_instance(Path(sys.argv[1]))
Path(sys.argv[2]).write_text("ready")
while not Path(sys.argv[3]).exists():  # all processes start their runs together
    time.sleep(0.02)
result = busy.execute_in_process(instance=instance, tags={"batch": sys.argv[4]})
sys.exit(0 if result.success else 1)
"""

# Loads the instance as a run worker does, then holds no connection for longer than the idle period, then writes.
QUIET_WORKER = """
import sys, time
from pathlib import Path
import dagster as dg
from hawk_dagster.deployment.local_instance import local_instance

instance = dg.DagsterInstance.from_ref(local_instance(Path(sys.argv[1])).get_ref())
Path(sys.argv[2]).write_text("loaded")
time.sleep(float(sys.argv[3]))

@dg.op
def late() -> None:
    pass

@dg.job
def quiet() -> None:
    late()

sys.exit(0 if quiet.execute_in_process(instance=instance).success else 1)
"""


def _embedded_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, **extra}
    env.pop("HAWK_WAREHOUSE_URL", None)
    return env


@pytest.fixture
def embedded_root(monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A fresh local root without HAWK_WAREHOUSE_URL: its instance lives on its own embedded server (stopped after)."""
    monkeypatch.delenv("HAWK_WAREHOUSE_URL", raising=False)
    root = Path(
        tempfile.mkdtemp(prefix="hawk-li-")
    )  # short: the server's socket path must stay under ~107 bytes
    try:
        yield root
    finally:
        stop_embedded_server(root)
        shutil.rmtree(root, ignore_errors=True)


def _wait(what: str, probe, timeout: float) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not probe():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.2)


def _server_up(root: Path) -> bool:
    status = postmaster_status(pgdata_dir(root))
    return status is not None and pid_alive(status.pid)


def test_the_instance_is_dagster_postgres_in_its_own_database_on_the_embedded_server(
    embedded_root: Path,
) -> None:
    instance = local_instance(embedded_root)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
    assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
    assert instance.run_storage._engine.url.database == DAGSTER_DATABASE  # type: ignore[attr-defined]

    @dg.op
    def one() -> int:
        return 1

    @dg.job
    def single() -> None:
        one()

    run_id = single.execute_in_process(instance=instance).run_id
    # In the server's own `dagster` database, beside (not inside) the warehouse's; no URL in dagster.yaml.
    status = postmaster_status(pgdata_dir(embedded_root))
    assert status is not None
    with psycopg.connect(host=str(status.socket_dir), user="postgres", dbname=DAGSTER_DATABASE) as conn:
        rows = conn.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,)).fetchall()
    assert rows == [("SUCCESS",)]
    yaml_text = (embedded_root / "dagster" / "dagster.yaml").read_text()
    assert "LocalPostgresStorage" in yaml_text and "postgresql" not in yaml_text and "host=" not in yaml_text
    assert (
        registered_users(pgdata_dir(embedded_root)) >= 1
    )  # this process: the server stays up while it lives


@pytest.mark.slow
def test_concurrent_processes_start_together_and_run_at_once(embedded_root: Path, tmp_path: Path) -> None:
    """Three processes start on a fresh root together (one initdb, one database, Dagster's tables created once) and
    run a job each at the same moment: every run succeeds with all its events, as SQLite's locking did not allow."""
    go = tmp_path / "go"
    procs = []
    for i in range(3):
        ready = tmp_path / f"ready-{i}"
        argv = [sys.executable, "-c", CONCURRENT_RUN, str(embedded_root), str(ready), str(go), "b1"]
        procs.append((ready, subprocess.Popen(argv, env=_embedded_env(), stderr=subprocess.PIPE, text=True)))
    try:
        _wait(
            "every process to load the instance",
            lambda: all(r.exists() or p.poll() is not None for r, p in procs),
            240,
        )
        go.write_text("")
        for _, proc in procs:
            _, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
    finally:
        for _, proc in procs:
            proc.kill()

    instance = local_instance(embedded_root)
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"batch": "b1"}))
    assert len(runs) == 3 and {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
    for run in runs:
        lines = [e for e in instance.all_logs(run.run_id) if e.user_message.startswith("line ")]
        assert len(lines) == 4 * 20


@pytest.mark.slow
def test_the_server_stays_up_while_a_quiet_run_worker_lives_and_stops_after(
    embedded_root: Path, tmp_path: Path
) -> None:
    """A worker that loaded the instance and holds no connection for three idle periods still finds the server; once
    it exits, the watchdog stops the server."""
    loaded = tmp_path / "loaded"
    worker = subprocess.Popen(
        [sys.executable, "-c", QUIET_WORKER, str(embedded_root), str(loaded), "16"],
        env=_embedded_env(HAWK_EMBEDDED_PG_IDLE_STOP="5"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait("the worker to load the instance", lambda: loaded.exists() or worker.poll() is not None, 180)
        assert registered_users(pgdata_dir(embedded_root)) == 1
        while worker.poll() is None:
            assert _server_up(embedded_root), "the server stopped under a live run worker"
            time.sleep(1)
        _, err = worker.communicate(timeout=60)
        assert worker.returncode == 0, err
    finally:
        worker.kill()
    _wait("the idle server to stop", lambda: not _server_up(embedded_root), 60)
    assert registered_users(pgdata_dir(embedded_root)) == 0


def test_on_the_warehouse_server_the_instance_has_a_schema_of_its_own(local_root: Path) -> None:
    """With HAWK_WAREHOUSE_URL the instance is a schema of the warehouse database, named after host and root."""
    instance = local_instance(local_root)
    assert isinstance(instance.run_storage, PostgresRunStorage)

    @dg.op
    def one() -> int:
        return 1

    @dg.job
    def single() -> None:
        one()

    assert single.execute_in_process(instance=instance).success
    schema = schema_name(local_root)
    url = os.environ["HAWK_WAREHOUSE_URL"].replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(url) as conn:
        tables = {
            (s, t)
            for s, t in conn.execute(
                "SELECT table_schema, table_name FROM information_schema.tables WHERE table_name = 'runs'"
            )
        }
    assert tables == {(schema, "runs")}  # nothing of Dagster's in the warehouse's own schema
    assert schema_name(local_root) != schema_name(local_root / "other")


def _legacy_sqlite_instance(state_dir: Path) -> tuple[Path, str]:
    """What an older hawk-dagster left: our header, SQLite storage, one run in its history."""
    home = state_dir / "dagster"
    home.mkdir(parents=True)
    (home / "dagster.yaml").write_text(
        f"{HEADER}: the local Dagster instance (SQLite run/event storage under this folder).\n"
        "telemetry:\n  enabled: false\n"
    )

    @dg.op
    def old() -> None:
        pass

    @dg.job
    def before_postgres() -> None:
        old()

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, SqliteRunStorage)
        run_id = before_postgres.execute_in_process(instance=instance).run_id
    assert (home / "history" / "runs.db").exists()
    return home, run_id


def _hawk_lines(capsys: pytest.CaptureFixture[str]) -> list[str]:
    return [line for line in capsys.readouterr().err.splitlines() if line.startswith("hawk:")]


def test_an_older_sqlite_instance_is_archived_with_a_message_and_stays_readable(
    local_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, run_id = _legacy_sqlite_instance(local_root)
    capsys.readouterr()

    instance = local_instance(local_root)
    assert isinstance(instance.run_storage, PostgresRunStorage)
    assert instance.get_runs() == []
    (archive,) = home.glob("sqlite-*")
    (message,) = _hawk_lines(capsys)
    assert f"moved to {archive} " in message and f"DAGSTER_HOME={archive} dagster dev" in message
    assert not (home / "history").exists()
    assert (home / "dagster.yaml").read_text() == config_text(local_root)

    with dg.DagsterInstance.from_config(str(archive)) as old:  # the archive is an instance of its own
        assert [r.run_id for r in old.get_runs()] == [run_id]

    dagster_home(local_root)  # said once: nothing more to move
    assert _hawk_lines(capsys) == [] and len(list(home.glob("sqlite-*"))) == 1


def test_a_sqlite_instance_the_user_owns_keeps_working(
    local_root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home, run_id = _legacy_sqlite_instance(local_root)
    config = home / "dagster.yaml"
    config.write_text(config.read_text().replace(HEADER, "# mine"))
    capsys.readouterr()

    instance = local_instance(local_root)
    assert isinstance(instance.run_storage, SqliteRunStorage)
    assert [r.run_id for r in instance.get_runs()] == [run_id]
    assert _hawk_lines(capsys) == []
    assert not list(home.glob("sqlite-*"))
