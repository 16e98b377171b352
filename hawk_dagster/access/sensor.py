"""The ``model_groups_refresh`` sensor: when the model-groups file's rules change, recompute every eval set's and
scan's access groups (``access.stored_groups.refresh_model_groups``), without anyone running ``hawk access refresh``.

A tick reads the file once and compares its rules' fingerprint with the cursor; only a change (or the first tick)
opens the warehouse. It launches no run: the work is a few small files and one UPDATE per changed row. An unusable
file is reported on the tick and leaves everything as it was (groups stay as computed under the last good rules).
"""

from __future__ import annotations

import dagster as dg

from hawk_dagster.storage.root import StorageRoot

SENSOR_NAME = "model_groups_refresh"
INTERVAL_SECONDS = 60


def model_groups_refresh_sensor(storage_root: str) -> dg.SensorDefinition:
    storage = StorageRoot(storage_root)

    @dg.sensor(
        name=SENSOR_NAME,
        minimum_interval_seconds=INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Recompute eval sets' and scans' access groups when the model-groups file changes.",
    )
    def refresh(context: dg.SensorEvaluationContext) -> dg.SkipReason:
        from hawk_dagster.access.stored_groups import current_rules, refresh_model_groups
        from hawk_dagster.config.errors import ConfigError

        try:
            rules = current_rules(storage)
        except ConfigError as ex:
            return dg.SkipReason(f"the model-groups file cannot be used; groups left as they were: {ex}")
        if context.cursor == rules.fingerprint:
            return dg.SkipReason("model-groups rules unchanged")
        from hawk_dagster.warehouse.resource import WarehouseResource

        warehouse = WarehouseResource(storage_root=storage_root)
        engine = warehouse.engine()
        try:
            report = refresh_model_groups(storage, engine, rules)
        finally:
            engine.dispose()
        context.update_cursor(rules.fingerprint)
        return dg.SkipReason(report.summary())

    return refresh
