"""Alembic migrations against a real PostgreSQL: from empty, down and up again, and agreement with the models."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, create_engine, inspect, pool, text
from sqlalchemy.exc import IntegrityError

from hawk_dagster.warehouse import migrate
from hawk_dagster.warehouse.models import Base

TABLES_0001 = {"eval_set", "eval", "sample", "score"}
TABLES = TABLES_0001 | {"message", "sample_model", "model_role"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_single_head() -> None:
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert heads == [migrate.head_revision()]


def test_upgrade_from_empty_creates_schema_and_pg_trgm(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    assert migrate.current_revision(url) is None and _tables(url) == set()
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision()
    assert _tables(url) == TABLES
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        assert (
            conn.execute(text("SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'")).scalar_one()
            == 1
        )
        assert conn.execute(text("SELECT similarity('mockllm/model', 'mockllm/modle') > 0.3")).scalar_one()
    engine.dispose()


def test_downgrade_to_base_and_up_again(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    migrate.upgrade(url)
    migrate.downgrade(url, "base")
    assert migrate.current_revision(url) is None and _tables(url) == set()
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.head_revision() and _tables(url) == TABLES


def _columns(url: str, table: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return {c["name"] for c in inspect(engine).get_columns(table)}
    finally:
        engine.dispose()


def test_step_through_0002_with_data(make_database: Callable[..., str]) -> None:
    """0001 -> 0002 on a database holding rows (generated columns computed for them), down to 0001 and up again."""
    url = make_database(migrated=False)
    migrate.upgrade(url, "0001")
    assert migrate.current_revision(url) == "0001" and _tables(url) == TABLES_0001
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO eval_set (eval_set_id) VALUES ('es')"))
            eval_pk = conn.execute(
                text("""INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location,
                        file_hash) VALUES ('es', 't', 'e', 'task', 'm', 'success', 'x', 'sha256:0') RETURNING pk""")
            ).scalar_one()
            conn.execute(
                text("""INSERT INTO sample (eval_pk, uuid, id, epoch, input, target, error_message, "limit")
                        VALUES (:e, 'u1', '1', 1, '"in"', '"out"', NULL, NULL),
                               (:e, 'u2', '2', 1, '"in"', '"out"', 'boom', NULL),
                               (:e, 'u3', '3', 1, '"in"', '"out"', NULL, 'message')"""),
                {"e": eval_pk},
            )
        migrate.upgrade(url, "0002")
        assert _tables(url) == TABLES
        with engine.connect() as conn:
            rows = conn.execute(text("SELECT uuid, status, is_invalid FROM sample ORDER BY uuid")).all()
        assert [tuple(r) for r in rows] == [
            ("u1", "success", False),
            ("u2", "error", False),
            ("u3", "message_limit", False),
        ]
        migrate.downgrade(url, "0001")
        assert migrate.current_revision(url) == "0001" and _tables(url) == TABLES_0001
        assert not {"status", "is_invalid", "search_text", "action_count"} & _columns(url, "sample")
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM sample")).scalar_one() == 3
        migrate.upgrade(url)
        assert migrate.current_revision(url) == migrate.head_revision() == "0002"
        assert {"status", "is_invalid", "search_text", "action_count"} <= _columns(url, "sample")
    finally:
        engine.dispose()


def test_models_match_migrations(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    migrate.upgrade(url)
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        diffs = compare_metadata(context, Base.metadata)
    engine.dispose()
    assert diffs == []


def test_upgrade_at_head_is_idempotent_and_fast(warehouse_engine: Engine) -> None:
    migrate.upgrade(warehouse_engine)  # warm: the script directory is parsed once per process
    started = time.perf_counter()
    for _ in range(5):
        migrate.upgrade(warehouse_engine)
    per_call = (time.perf_counter() - started) / 5
    assert per_call < 0.25, f"upgrade at head took {per_call:.3f}s"
    assert migrate.current_revision(warehouse_engine) == migrate.head_revision()


def test_concurrent_upgrades_of_an_empty_database(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            barrier.wait()
            migrate.upgrade(url)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert migrate.current_revision(url) == migrate.head_revision()


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE eval SET total_samples = -1",
        "UPDATE eval SET status = 'finished'",
        "UPDATE sample SET input_tokens = -5",
        "UPDATE sample SET total_time_seconds = -0.1",
    ],
)
def test_check_constraints(warehouse_engine: Engine, statement: str) -> None:
    with warehouse_engine.begin() as conn:
        conn.execute(text("INSERT INTO eval_set (eval_set_id) VALUES ('es')"))
        eval_pk = conn.execute(
            text("""INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location, file_hash)
                    VALUES ('es', 't', 'e', 'task', 'm', 'success', 'file:///x.eval', 'sha256:0') RETURNING pk""")
        ).scalar_one()
        conn.execute(
            text("""INSERT INTO sample (eval_pk, uuid, id, epoch, input, target)
                    VALUES (:e, 'u', '1', 1, '"in"', '"out"')"""),
            {"e": eval_pk},
        )
    with pytest.raises(IntegrityError), warehouse_engine.begin() as conn:
        conn.execute(text(statement))
