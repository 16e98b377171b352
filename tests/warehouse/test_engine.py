"""Warehouse URLs: normalisation, redaction, and the HAWK_WAREHOUSE_URL override."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from hawk_dagster.warehouse.engine import (
    create_warehouse_engine,
    json_dumps,
    normalize_url,
    redact_url,
)
from hawk_dagster.warehouse.engine import warehouse_url as resolve_warehouse_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql://u:p@db:5432/hawk", "postgresql+psycopg://u:p@db:5432/hawk"),
        ("postgres://u@db/hawk?sslmode=require", "postgresql+psycopg://u@db/hawk?sslmode=require"),
        ("postgresql+psycopg2://u@db/hawk", "postgresql+psycopg://u@db/hawk"),
        ("postgresql+psycopg://u@/hawk?host=/tmp/x", "postgresql+psycopg://u@/hawk?host=/tmp/x"),
        ("  PostgreSQL://u@db/hawk ", "postgresql+psycopg://u@db/hawk"),
    ],
)
def test_normalize_url(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_normalize_url_rejects_other_databases_without_leaking_the_password() -> None:
    with pytest.raises(ValueError) as err:
        normalize_url("mysql://root:hunter2@db/hawk")
    assert "hunter2" not in str(err.value)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgresql+psycopg://hawk:s3cr%40t@db:5432/hawk", "postgresql+psycopg://hawk:***@db:5432/hawk"),
        ("postgres://hawk:pw@db/hawk", "postgres://hawk:***@db/hawk"),
        (
            "postgresql+psycopg://postgres@/hawk?host=/tmp/pg",
            "postgresql+psycopg://postgres@/hawk?host=/tmp/pg",
        ),
        ("not a url :// user:pw@", "not a url :// user:***@"),
    ],
)
def test_redact_url(url: str, expected: str) -> None:
    assert redact_url(url) == expected


def test_env_url_wins_over_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", "postgres://u:pw@warehouse.internal/hawk")
    assert resolve_warehouse_url(tmp_path) == "postgresql+psycopg://u:pw@warehouse.internal/hawk"
    assert not (tmp_path / "pg").exists(), "no embedded server is started when a URL is configured"


def test_jsonb_serialisation_of_values_postgres_rejects(warehouse_url: str) -> None:
    assert json_dumps({"x": float("nan"), "y": [float("inf"), -float("inf")], "z": "a\x00b"}) == (
        '{"x":"NaN","y":["Infinity","-Infinity"],"z":"a\ufffdb"}'
    )
    engine = create_warehouse_engine(warehouse_url)
    try:
        with engine.connect() as conn:
            from sqlalchemy import bindparam
            from sqlalchemy.dialects.postgresql import JSONB

            value = {"score": float("nan"), "text": "nul\x00byte"}
            stored = conn.execute(
                text("SELECT :v").bindparams(bindparam("v", value, type_=JSONB))
            ).scalar_one()
        assert stored == {"score": "NaN", "text": "nul\ufffdbyte"}
    finally:
        engine.dispose()
