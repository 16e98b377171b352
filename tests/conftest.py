"""Fixtures shared by the whole suite: isolated per-user state, and real PostgreSQL databases for the warehouse.

- Inspect keeps sample buffers, control sockets and traces under ``~/.local/share/inspect_ai``; every test session
  gets its own (short, so AF_UNIX socket paths stay under their ~107-byte limit) ``XDG_DATA_HOME``/``XDG_CACHE_HOME``.
- ``warehouse_url`` is ``HAWK_TEST_WAREHOUSE_URL`` if set (any server where the user may CREATE DATABASE), else one
  embedded PostgreSQL server for the whole session.
- ``warehouse_engine`` gives each test its own database, cloned from a template migrated once per session
  (``CREATE DATABASE ... TEMPLATE`` takes ~100 ms, far less than migrating), and drops it afterwards.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

pytest_plugins = [
    "tests.s3_fixtures",
    "tests.config_fixtures",
    "tests.auth.oidc_provider",
    "tests.edits_fixtures",
]

TEST_WAREHOUSE_URL_ENV = "HAWK_TEST_WAREHOUSE_URL"


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
