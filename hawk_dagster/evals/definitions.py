"""The eval-set domain's Dagster definitions: its two assets, the job that runs both, the configs sensor."""

import dagster as dg

from hawk_dagster.evals.assets import eval_logs, eval_warehouse
from hawk_dagster.evals.sensor import eval_set_config_sensor
from hawk_dagster.names import EVAL_SET_PIPELINE
from hawk_dagster.partitions import eval_sets_partitions

# Logs then warehouse in one run: what `hawk local eval-set` executes. The sensor asks for eval_logs only and the
# automation sensor brings eval_warehouse up to date after it.
eval_set_pipeline = dg.define_asset_job(
    EVAL_SET_PIPELINE,
    selection=dg.AssetSelection.assets(eval_logs, eval_warehouse),
    partitions_def=eval_sets_partitions,
    description="Run an eval set's grid and import its logs into the warehouse.",
)


def evals_definitions(storage_root: str) -> dg.Definitions:
    """``storage_root``: the root whose configs folder the sensor watches."""
    return dg.Definitions(
        assets=[eval_logs, eval_warehouse],
        jobs=[eval_set_pipeline],
        sensors=[eval_set_config_sensor(storage_root)],
    )
