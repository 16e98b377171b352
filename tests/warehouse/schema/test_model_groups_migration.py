"""Revision 0007: access groups on eval sets and scans, backfilled closed, never empty, GIN indexed."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, create_engine, inspect, pool, text
from sqlalchemy.exc import IntegrityError

from hawk_dagster.warehouse.schema import migrate


def test_existing_rows_are_backfilled_with_the_default_group(
    make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAWK_DEFAULT_MODEL_GROUP", "internal")
    url = make_database(migrated=False)
    migrate.upgrade(url, "0006")
    engine = create_engine(url, poolclass=pool.NullPool)
    try:
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO eval_set (eval_set_id) VALUES ('es')"))
            conn.execute(text("INSERT INTO scan (scan_id) VALUES ('sc')"))
        migrate.upgrade(url)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT model_groups FROM eval_set")).scalar_one() == ["internal"]
            assert conn.execute(text("SELECT model_groups FROM scan")).scalar_one() == ["internal"]
        indexes = {i["name"]: i for table in ("eval_set", "scan") for i in inspect(engine).get_indexes(table)}
        assert {"ix_eval_set_model_groups", "ix_scan_model_groups"} <= set(indexes)
        migrate.downgrade(url, "0006")
        assert "model_groups" not in {c["name"] for c in inspect(engine).get_columns("eval_set")}
        migrate.upgrade(url)
    finally:
        engine.dispose()


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO eval_set (eval_set_id) VALUES ('none')",
        "INSERT INTO eval_set (eval_set_id, model_groups) VALUES ('empty', '{}')",
        "INSERT INTO eval_set (eval_set_id, model_groups) VALUES ('null-in', ARRAY[NULL]::text[])",
        "INSERT INTO scan (scan_id) VALUES ('none')",
        "INSERT INTO scan (scan_id, model_groups) VALUES ('empty', '{}')",
    ],
)
def test_an_empty_requirement_cannot_be_stored(warehouse_engine: Engine, statement: str) -> None:
    with pytest.raises(IntegrityError), warehouse_engine.begin() as conn:
        conn.execute(text(statement))


def test_contained_by_uses_the_gin_index(warehouse_engine: Engine) -> None:
    with warehouse_engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO eval_set (eval_set_id, model_groups) "
                "SELECT 'es-' || i, ARRAY['g' || (i % 50)] FROM generate_series(1, 5000) i"
            )
        )
        conn.execute(text("ANALYZE eval_set"))
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            conn.execute(
                text(
                    "EXPLAIN SELECT eval_set_id FROM eval_set WHERE model_groups <@ ARRAY['g1', 'g2']::text[]"
                )
            ).scalars()
        )
    assert "ix_eval_set_model_groups" in plan, plan
