"""Names the Dagster instance knows the platform's objects by: jobs, assets and run tags.

Defined once and free of Dagster imports, so the CLI can read runs and events without loading the code location.
"""

EVAL_SET_PIPELINE = "eval_set_pipeline"
"""Job: an eval set's grid, then its warehouse import (``hawk local eval-set``)."""
SCAN_PIPELINE = "scan_pipeline"
"""Job: one scan cell's scanners, then its warehouse import (``hawk local scan``, the scan sensors)."""

EVAL_LOGS = "eval_logs"
EVAL_WAREHOUSE = "eval_warehouse"
SCAN_RESULTS = "scan_results"
SCAN_WAREHOUSE = "scan_warehouse"

TAG_SOURCE = "hawk/source"
"""What started a run: ``sensor``, ``schedule``, ``hawk local eval-set``, ..."""
TAG_CONFIG = "hawk/config"
"""The config file a sensor run came from."""
TAG_CREATED_BY = "hawk/created_by"
TAG_SCAN_ID = "hawk/scan_id"
TAG_SCAN_SUBMISSION = "hawk/scan_submission"
"""On every run a submitted scan file started: ``<scan_id>@<sha256[:16]>`` (one file version, all its cells)."""

# Tags the daemon puts on sensor runs and dedups run keys with (dagster._core.storage.tags, not public API).
RUN_KEY_TAG = "dagster/run_key"
SENSOR_NAME_TAG = "dagster/sensor_name"
DATA_VERSION_TAG = "dagster/data_version"
PARTITION_TAG = "dagster/partition"
"""A run's partition key; a multi-partition run also has one ``dagster/partition/<dimension>`` tag per dimension."""
K8S_CONFIG_TAG = "dagster-k8s/config"
"""dagster-k8s reads a run's pod settings from this tag (JSON); the Kubernetes launcher writes it."""
