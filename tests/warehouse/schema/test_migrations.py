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

from hawk_dagster.warehouse.schema import migrate
from hawk_dagster.warehouse.schema.models import Base

TABLES_0001 = {"eval_set", "eval", "sample", "score"}
TABLES_0003 = TABLES_0001 | {"message", "sample_model", "model_role"}
TABLES = TABLES_0003 | {"scan", "scan_source", "scanner_result", "sample_edit"}


def _tables(url: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_single_head_is_the_head_the_fast_path_knows() -> None:
    """``upgrade`` decides "already at head" from ``HEAD_REVISION`` without loading Alembic: keep them equal."""
    heads = ScriptDirectory.from_config(migrate.alembic_config()).get_heads()
    assert heads == migrate.script_heads() == [migrate.HEAD_REVISION]


def test_upgrade_from_empty_creates_schema_and_pg_trgm(make_database: Callable[..., str]) -> None:
    url = make_database(migrated=False)
    assert migrate.current_revision(url) is None and _tables(url) == set()
    migrate.upgrade(url)
    assert migrate.current_revision(url) == migrate.HEAD_REVISION
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
    assert migrate.current_revision(url) == migrate.HEAD_REVISION and _tables(url) == TABLES


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
        assert _tables(url) == TABLES_0003
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
        assert migrate.current_revision(url) == migrate.HEAD_REVISION
        assert {"status", "is_invalid", "search_text", "action_count"} <= _columns(url, "sample")
    finally:
        engine.dispose()


def _indexes(url: str, table: str) -> set[str]:
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        return {i["name"] for i in inspect(engine).get_indexes(table)}
    finally:
        engine.dispose()


def test_step_through_0003_with_data(make_database: Callable[..., str]) -> None:
    """0002 -> 0003 folds existing transcripts into search_text and copies headline scores; down and up again."""
    url = make_database(migrated=False)
    migrate.upgrade(url, "0002")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO eval_set (eval_set_id) VALUES ('es')"))
            eval_pk = conn.execute(
                text("""INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location,
                        file_hash) VALUES ('es', 't', 'e', 'task', 'm', 'success', 'x', 'sha256:0') RETURNING pk""")
            ).scalar_one()
            pks = (
                conn.execute(
                    text("""INSERT INTO sample (eval_pk, uuid, id, epoch, input, target, search_text)
                        VALUES (:e, 'u1', '1', 1, '"in"', '"out"', '1 question'),
                               (:e, 'u2', '2', 1, '"in"', '"out"', '2 question') RETURNING pk"""),
                    {"e": eval_pk},
                )
                .scalars()
                .all()
            )
            conn.execute(
                text("""INSERT INTO message (sample_pk, message_order, role, content_text, tool_calls,
                                             tool_error_message)
                        VALUES (:a, 0, 'user', 'question', NULL, NULL),
                               (:a, 1, 'assistant', 'let me look', '[{"function": "bash",
                                    "arguments": {"cmd": "sudo ls"}}]', NULL),
                               (:a, 2, 'tool', '', NULL, 'permission denied')"""),
                {"a": pks[0]},
            )
            conn.execute(
                text("""INSERT INTO score (sample_pk, sample_uuid, scorer, value, value_float, is_headline)
                        VALUES (:a, 'u1', 'match', '"C"', 1.0, true), (:a, 'u1', 'other', '0.5', 0.5, false),
                               (:b, 'u2', 'match', '"I"', 0.0, true)"""),
                {"a": pks[0], "b": pks[1]},
            )
        assert "ix_message_content_text_trgm" in _indexes(url, "message")
        migrate.upgrade(url, "0003")
        with engine.connect() as conn:
            rows = conn.execute(
                text("SELECT uuid, headline_value, search_text FROM sample ORDER BY uuid")
            ).all()
        assert rows[0].headline_value == 1.0 and rows[1].headline_value == 0.0
        assert rows[0].search_text.startswith("1 question\nquestion\nlet me look\n")
        assert "sudo ls" in rows[0].search_text and rows[0].search_text.endswith("permission denied")
        assert rows[1].search_text == "2 question"  # no messages: unchanged
        assert "ix_message_content_text_trgm" not in _indexes(url, "message")
        assert {"ix_sample_completed_at_pk", "ix_sample_headline_value"} <= _indexes(url, "sample")

        migrate.downgrade(url, "0002")
        assert "ix_message_content_text_trgm" in _indexes(url, "message")
        assert not {"headline_value", "role_usage", "token_limit"} & _columns(url, "sample")
        assert "scored_at" not in _columns(url, "score") and "config" not in _columns(url, "eval")
        with engine.begin() as conn:
            conn.execute(text("UPDATE sample SET search_text = 'Mixed CASE Text' WHERE uuid = 'u2'"))
        migrate.upgrade(url)
        assert {"headline_value", "role_usage", "token_limit"} <= _columns(url, "sample")
        with engine.connect() as conn:  # 0005: the search document is lower case
            assert conn.execute(text("SELECT search_text FROM sample WHERE uuid = 'u2'")).scalar_one() == (
                "mixed case text"
            )
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
    migrate.upgrade(warehouse_engine)
    started = time.perf_counter()
    for _ in range(5):
        migrate.upgrade(warehouse_engine)
    per_call = (time.perf_counter() - started) / 5
    assert per_call < 0.25, f"upgrade at head took {per_call:.3f}s"
    assert migrate.current_revision(warehouse_engine) == migrate.HEAD_REVISION


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
    assert migrate.current_revision(url) == migrate.HEAD_REVISION


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
        conn.execute(text("INSERT INTO eval_set (eval_set_id, model_groups) VALUES ('es', '{g}')"))
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
