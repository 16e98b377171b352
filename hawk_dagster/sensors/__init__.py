"""Sensors: Dagster wiring that turns files in the storage root into partitions and runs."""

from hawk_dagster.sensors.eval_set_configs import eval_set_config_sensor
from hawk_dagster.sensors.scan_configs import scan_config_sensor

SENSORS = [eval_set_config_sensor, scan_config_sensor]

__all__ = ["SENSORS", "eval_set_config_sensor", "scan_config_sensor"]
