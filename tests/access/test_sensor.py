"""The ``model_groups_refresh`` sensor recomputes groups when the file's rules change, and only then."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
from sqlalchemy import Engine, text

from hawk_dagster.access.sensor import model_groups_refresh_sensor
from hawk_dagster.access.stored_groups import read_stored_groups
from hawk_dagster.config.loader import load_eval_set_config
from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import Submission
from hawk_dagster.warehouse.ingest.importer import import_eval_set

CONFIG = (
    "eval_set_id: es-s\ntasks:\n  - package: inspect-ai\n    items:\n      - name: t\n"
    "models:\n  - items:\n      - name: openai/gpt-5\n"
)


def _tick(sensor: dg.SensorDefinition, cursor: str | None) -> tuple[str, str | None]:
    with dg.build_sensor_context(cursor=cursor) as ctx:
        result = sensor.evaluate_tick(ctx)
        return result.skip_message or "", result.cursor


def test_a_changed_file_is_applied_on_the_next_tick(
    tmp_path: Path, warehouse_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", warehouse_engine.url.render_as_string(hide_password=False))
    storage = StorageRoot(str(tmp_path))
    rules_file = tmp_path / "model-groups.yaml"
    rules_file.write_text('groups:\n  frontier: ["openai/gpt-5*"]\n')
    loaded = load_eval_set_config("c.yaml", text=CONFIG)
    EVAL_SET_CONFIGS_KIND.submit(
        storage, loaded, Submission.new("es-s", CONFIG, source="c.yaml", base_dir=None)
    )
    import_eval_set(warehouse_engine, str(tmp_path / "evals" / "es-s"), "es-s", model_groups=["frontier"])
    sensor = model_groups_refresh_sensor(str(tmp_path))

    reason, cursor = _tick(sensor, None)
    assert "0 eval set(s)" in reason and cursor is not None and cursor.startswith("sha256:")
    reason, same = _tick(sensor, cursor)
    assert reason == "model-groups rules unchanged" and same == cursor

    rules_file.write_text('groups:\n  openai: ["openai/*"]\n')
    reason, changed = _tick(sensor, cursor)
    assert "1 eval set(s)" in reason and changed != cursor
    stored = read_stored_groups(storage, "evals", "es-s")
    assert stored is not None and stored.groups == ("openai",)
    with warehouse_engine.connect() as conn:
        assert conn.execute(text("SELECT model_groups FROM eval_set")).scalar_one() == ["openai"]

    rules_file.write_text("groups: [broken]\n")
    reason, kept = _tick(sensor, changed)
    assert "cannot be used" in reason and kept == changed
