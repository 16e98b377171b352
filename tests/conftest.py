"""Fixtures shared by the whole suite: isolated per-user state, and real PostgreSQL databases for the warehouse.

- Inspect keeps sample buffers, control sockets and traces under ``~/.local/share/inspect_ai``; every test session
  gets its own (short, so AF_UNIX socket paths stay under their ~107-byte limit) ``XDG_DATA_HOME``/``XDG_CACHE_HOME``.
- ``warehouse_url`` is ``HAWK_TEST_WAREHOUSE_URL`` if set (any server where the user may CREATE DATABASE), else one
  embedded PostgreSQL server for the whole session.
- ``warehouse_engine`` gives each test its own database, cloned from a template migrated once per session
  (``CREATE DATABASE ... TEMPLATE`` takes ~100 ms, far less than migrating), and drops it afterwards.
- ``dagster_instance`` is a Dagster instance on dagster-postgres's storage (what the local instance and the cluster
  use), in a database of its own cloned from a template that holds Dagster's tables; ``dagster_storage`` is just
  that database's ``storage:`` block, for tests that build their instance with other overrides.
- ``local_root`` is a local root whose local instance (``local_instance(local_root)``) keeps its runs in a fresh
  database of the test server (as with ``HAWK_WAREHOUSE_URL``), so no test starts an embedded server of its own.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    import dagster as dg

pytest_plugins = [
    "tests.s3_fixtures",
    "tests.config_fixtures",
    "tests.auth.oidc_provider",
    "tests.edits_fixtures",
    "tests.web.browser",
    "tests.web.signin_fixtures",
    "tests.web.results_fixtures",
]

TEST_WAREHOUSE_URL_ENV = "HAWK_TEST_WAREHOUSE_URL"


@pytest.fixture(autouse=True)
def no_dagster_home_left_behind() -> Iterator[None]:
    """``local_instance`` points ``DAGSTER_HOME`` at its root for the process (run workers inherit it). In a test
    worker that would outlive the test: a later test's ``hawk`` subprocess, given a copy of this environment, would
    read that other instance (``hawk status``/``hawk logs`` finding no runs). Restored after every test."""
    before = os.environ.get("DAGSTER_HOME")
    yield
    if before is None:
        os.environ.pop("DAGSTER_HOME", None)
    else:
        os.environ["DAGSTER_HOME"] = before


@pytest.fixture(scope="session", autouse=True)
def isolated_user_state() -> Iterator[Path]:
    """Point Inspect's per-user state at a temporary directory and make Inspect quiet and offline-safe."""
    root = Path(tempfile.mkdtemp(prefix="hawk-xdg-"))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("XDG_DATA_HOME", str(root / "data"))
        mp.setenv("XDG_CACHE_HOME", str(root / "cache"))
        mp.setenv("XDG_CONFIG_HOME", str(root / "config"))  # the CLI's per-user state (last eval set id)
        mp.setenv("INSPECT_DISPLAY", "none")
        mp.setenv("INSPECT_LOG_LEVEL", os.environ.get("INSPECT_LOG_LEVEL", "warning"))
        for name in ("INSPECT_LOG_DIR", "INSPECT_EVAL_MODEL", "HAWK_WAREHOUSE_URL"):
            mp.delenv(name, raising=False)
        yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def warehouse_url() -> Iterator[str]:
    """SQLAlchemy URL of a database on the test server; tests create their own databases next to it."""
    external = os.environ.get(TEST_WAREHOUSE_URL_ENV, "").strip()
    if external:
        from hawk_dagster.warehouse.engine import normalize_url

        yield normalize_url(external)
        return
    from hawk_dagster.warehouse.embedded import ensure_embedded_server, stop_embedded_server

    root = Path(tempfile.mkdtemp(prefix="hawk-pg-"))
    try:
        yield ensure_embedded_server(root).url()
    finally:
        stop_embedded_server(root)
        shutil.rmtree(root, ignore_errors=True)


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _with_database(url: str, database: str) -> str:
    return make_url(url).set(database=database).render_as_string(hide_password=False)


def _create_database(server_url: str, name: str, template: str = "template0") -> str:
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        )
    return _with_database(server_url, name)


def _dagster_url(url: str) -> str:
    """The URL as dagster-postgres needs it: psycopg2 (SQLAlchemy 2.1 would pick psycopg 3 for ``postgresql://``,
    under which its ``NOTIFY`` fails)."""
    return make_url(url).set(drivername="postgresql+psycopg2").render_as_string(hide_password=False)


def _drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(_libpq(server_url), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def _migrated_template(warehouse_url: str) -> Iterator[str]:
    from hawk_dagster.warehouse.schema import migrate

    name = f"hawk_template_{uuid.uuid4().hex[:12]}"
    url = _create_database(warehouse_url, name)
    migrate.upgrade(url)  # NullPool engine, disposed: no connection lingers to block cloning
    yield name
    _drop_database(warehouse_url, name)


@pytest.fixture
def make_database(warehouse_url: str, _migrated_template: str) -> Iterator[Callable[..., str]]:
    """Factory for fresh databases, dropped after the test: ``make_database()`` is migrated to head,
    ``make_database(migrated=False)`` is empty."""
    created: list[str] = []

    def make(migrated: bool = True) -> str:
        name = f"test_{uuid.uuid4().hex[:16]}"
        url = _create_database(warehouse_url, name, _migrated_template if migrated else "template0")
        created.append(name)
        return url

    yield make
    for name in created:
        _drop_database(warehouse_url, name)


@pytest.fixture
def warehouse_engine(make_database: Callable[..., str]) -> Iterator[Engine]:
    """An engine on a fresh database migrated to head, private to this test."""
    from hawk_dagster.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(make_database())
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def _dagster_template(warehouse_url: str) -> Iterator[str]:
    """A database holding dagster-postgres's tables (creating them takes about a second; cloning ~100 ms)."""
    from dagster_postgres import DagsterPostgresStorage

    name = f"dagster_template_{uuid.uuid4().hex[:12]}"
    url = _create_database(warehouse_url, name)
    storage = DagsterPostgresStorage(_dagster_url(url))  # NullPool engines: nothing lingers to block cloning
    for part in (storage.run_storage, storage.event_log_storage, storage.schedule_storage):
        part._engine.dispose()  # type: ignore[attr-defined]
    yield name
    _drop_database(warehouse_url, name)


@pytest.fixture
def dagster_storage(warehouse_url: str, _dagster_template: str) -> Iterator[dict[str, Any]]:
    """The ``storage:`` block of a Dagster instance in a fresh database of its own (dropped afterwards)."""
    name = f"dagster_{uuid.uuid4().hex[:16]}"
    url = _create_database(warehouse_url, name, _dagster_template)
    yield {"postgres": {"postgres_url": _dagster_url(url)}}
    _drop_database(warehouse_url, name)


@pytest.fixture
def dagster_instance(dagster_storage: dict[str, Any], tmp_path: Path) -> Iterator[dg.DagsterInstance]:
    """A Dagster instance on dagster-postgres's storage, private to this test."""
    import dagster as dg

    with dg.instance_for_test(overrides={"storage": dagster_storage}, temp_dir=str(tmp_path)) as instance:
        yield instance


@pytest.fixture
def local_root(tmp_path: Path, make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local root whose local Dagster instance is on a fresh database of the test server (``HAWK_WAREHOUSE_URL``;
    subprocesses inherit it)."""
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", make_database(migrated=False))
    root = tmp_path / "root"
    root.mkdir()
    return root
