"""Schema migrations (Alembic), configured in code so they run from an installed package with no alembic.ini.

Everything that opens the warehouse calls :func:`upgrade` first (``warehouse.engine.open_warehouse``). At head it
costs one query and imports nothing of Alembic (the head is :data:`HEAD_REVISION`, which a test keeps equal to the
scripts' head), so read-only commands stay fast; otherwise the migration runs in one transaction holding a PostgreSQL
advisory lock, so processes starting at the same time against an empty database do not race each other.

To write a new revision after changing :mod:`hawk_dagster.warehouse.schema.models`::

    from alembic import command
    from hawk_dagster.warehouse.schema.migrate import alembic_config
    command.revision(alembic_config(url=URL_OF_A_DB_AT_HEAD), message="...", autogenerate=True)

Deployments migrate before new code serves: ``python -m hawk_dagster.warehouse.schema.migrate`` upgrades the warehouse
named by ``HAWK_WAREHOUSE_URL`` to head (the Helm chart's pre-install/pre-upgrade hook runs it).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Engine, create_engine, pool, text

from hawk_dagster.warehouse.engine import WAREHOUSE_URL_ENV, normalize_url, redact_url

if TYPE_CHECKING:
    from alembic.config import Config

logger = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

MIGRATION_LOCK_KEY = (
    0x4841_574B_4D49_4752  # "HAWKMIGR": any fixed bigint, distinct from the import locks' keys.
)


HEAD_REVISION = "0010"
"""The newest revision in ``migrations/versions`` (a test checks it is the scripts' single head)."""


def alembic_config(connection: Connection | None = None, *, url: str | None = None) -> Config:
    """An Alembic config for the warehouse migrations: pass an open connection, or a URL for Alembic to connect to."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("path_separator", "os")
    if url is not None:
        # ConfigParser interpolates '%', which URL-encoded passwords contain.
        cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def script_heads() -> list[str]:
    """The head revisions of the migration scripts, as Alembic reads them (one, unless two branches were added)."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config()).get_heads())


def current_revision(url: str | Engine) -> str | None:
    """The revision the database is at, or None for an empty (never migrated) database."""
    with _engine(url) as engine, engine.connect() as conn:
        return _current(conn)


def upgrade(url: str | Engine, revision: str = "head") -> None:
    """Migrate the database up to ``revision`` (idempotent; one query when already at head)."""
    with _engine(url) as engine:
        if revision == "head":
            with engine.connect() as conn:
                if _current(conn) == HEAD_REVISION:
                    return
        _run(engine, "upgrade", revision)


def downgrade(url: str | Engine, revision: str) -> None:
    """Migrate the database down to ``revision`` (``"base"`` removes every warehouse table)."""
    with _engine(url) as engine:
        _run(engine, "downgrade", revision)


def _run(engine: Engine, direction: str, revision: str) -> None:
    from alembic import command

    logger.info("warehouse migration: %s to %s on %s", direction, revision, redact_url(str(engine.url)))
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        cfg = alembic_config(conn)
        if direction == "upgrade":
            command.upgrade(cfg, revision)
        else:
            command.downgrade(cfg, revision)


def _current(conn: Connection) -> str | None:
    exists = conn.execute(text("SELECT to_regclass('alembic_version') IS NOT NULL")).scalar_one()
    if not exists:
        return None
    rows = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    if len(rows) > 1:
        raise RuntimeError(f"database has several migration heads: {rows}")
    return rows[0] if rows else None


@contextmanager
def _engine(url: str | Engine) -> Iterator[Engine]:
    if isinstance(url, Engine):
        yield url
        return
    engine = create_engine(normalize_url(url), poolclass=pool.NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def main(argv: Sequence[str] | None = None) -> int:
    """Upgrade the warehouse at ``HAWK_WAREHOUSE_URL`` to head (or ``--revision``); exit 0 done, 1 failed, 2 no URL.

    The URL comes from the environment only, so a deployment passes it from a Secret and it never shows in a command
    line; whatever is printed is redacted.
    """
    parser = argparse.ArgumentParser(
        prog="python -m hawk_dagster.warehouse.schema.migrate",
        description=f"Upgrade the warehouse named by {WAREHOUSE_URL_ENV} to the newest schema revision.",
    )
    parser.add_argument("--revision", default="head", help="the revision to upgrade to (default: head)")
    args = parser.parse_args(argv)
    url = os.environ.get(WAREHOUSE_URL_ENV, "").strip()
    if not url:
        print(
            f"{WAREHOUSE_URL_ENV} is not set: it must name the warehouse's PostgreSQL server", file=sys.stderr
        )
        return 2
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    shown = redact_url(url)
    try:
        before = current_revision(url)
        upgrade(url, args.revision)
        after = current_revision(url)
    except Exception as exc:
        # One line, without the password: the message of a driver error can quote the URL it was given.
        message = (str(exc).strip().splitlines() or [""])[0]
        password = _password(url)
        if password:
            message = message.replace(password, "***")
        print(f"warehouse migration failed on {shown}: {type(exc).__name__}: {message}", file=sys.stderr)
        return 1
    print(f"warehouse {shown}: revision {before or 'none'} -> {after}")
    return 0


def _password(url: str) -> str | None:
    from sqlalchemy.engine import make_url

    try:
        password = make_url(url).password
        return None if password is None else str(password)
    except Exception:
        return None


if __name__ == "__main__":
    sys.exit(main())
