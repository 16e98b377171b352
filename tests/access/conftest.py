"""A storage root and warehouse holding four eval sets of different access groups and a scan reading two of them,
built through the real entry points: submissions with their groups, Inspect runs with the offline ``hawk-mock``
provider, the warehouse importers, and a Scout scan run by the runner.

- ``es-alpha``, ``es-beta``, ``es-gamma``: one model each, ``hawk-mock/<name>``, in groups alpha, beta, gamma;
- ``es-none``: a config naming no model (so the default group, ``restricted``), whose logs show it ran
  ``hawk-mock/unlisted`` (a model no pattern matches: the default group again);
- ``scan-ab``: a scan over es-alpha and es-beta whose judge model is ``hawk-mock/beta-judge``: groups alpha + beta.

Module-scoped and read-only: tests that change it build their own (``build_access_world``).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.warehouse.engine import create_warehouse_engine
from tests.conftest import _create_database, _drop_database
from tests.grids import EXAMPLES

RULES = """
default_group: restricted
groups:
  alpha: ["hawk-mock/alpha*"]
  beta: ["hawk-mock/beta*"]
  gamma: ["hawk-mock/gamma*"]
"""

EVAL_SETS = {"es-alpha": "hawk-mock/alpha", "es-beta": "hawk-mock/beta", "es-gamma": "hawk-mock/gamma",
             "es-none": None}  # fmt: skip
RAN_WITH = {"es-none": "hawk-mock/unlisted"}
SAMPLES_PER_EVAL_SET = 3
SCAN_ID = "scan-ab"
SCAN_SOURCES = ("es-alpha", "es-beta")


@dataclass(frozen=True)
class AccessWorld:
    storage: StorageRoot
    engine: Engine
    uuids: dict[str, list[str]]
    """Sample uuids per eval set."""


def _eval_set_config(eval_set_id: str, model: str | None) -> str:
    models = f"models:\n  - items:\n      - name: {model}\n" if model else ""
    return (
        f"eval_set_id: {eval_set_id}\n"
        "tasks:\n  - path: tasks/arithmetic.py\n    items:\n"
        f"      - name: addition\n        args: {{n: {SAMPLES_PER_EVAL_SET}}}\n" + models
    )


SCAN_CONFIG = f"""
scan_id: {SCAN_ID}
scanners:
  - package: hawk-example-scanners
    name: hawk_example_scanners
    items:
      - name: test_labels
models:
  - items:
      - name: hawk-mock/beta-judge
transcripts:
  sources:
    - eval_set_id: es-alpha
    - eval_set_id: es-beta
"""


def build_access_world(root: Path, engine: Engine, *, with_scan: bool = True) -> AccessWorld:
    """Submit, run and import the eval sets and (``with_scan``) the scan described in the module docstring."""
    from hawk_runner.__main__ import ConsoleReporter
    from hawk_runner.plan import ScannerSpec, ScanPlan
    from hawk_runner.scan import execute_scan
    from inspect_ai import eval as inspect_eval

    from hawk_dagster.config.loader import load_eval_set_config, load_scan_config
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
    from hawk_dagster.evals.warehouse_import import import_eval_set_logs
    from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND
    from hawk_dagster.scans.warehouse_import import import_scan_cell_results
    from hawk_dagster.storage.submissions import Submission
    from tests.runner import scan_scanners

    assert scan_scanners.labels  # registers the scanner
    configs = root / "submitted"
    shutil.copytree(EXAMPLES / "tasks", configs / "tasks")
    storage = StorageRoot(str(root / "storage"))
    storage.path().mkdir(parents=True, exist_ok=True)
    storage.path("model-groups.yaml").write_text(RULES)
    task = _load_addition()
    uuids: dict[str, list[str]] = {}
    for eval_set_id, model in EVAL_SETS.items():
        text = _eval_set_config(eval_set_id, model)
        source = str(configs / f"{eval_set_id}.yaml")
        loaded = load_eval_set_config(source, text=text, base_dir=configs)
        # the configs sensor's own submit step (submission + access groups)
        EVAL_SET_CONFIGS_KIND.submit(
            storage, loaded, Submission.new(eval_set_id, text, source=source, base_dir=str(configs), created_by=f"u-{eval_set_id}")
        )  # fmt: skip
        log = inspect_eval(
            task(n=SAMPLES_PER_EVAL_SET),
            model=model or RAN_WITH[eval_set_id],
            log_dir=storage.eval_log_dir(eval_set_id),
            display="none",
        )[0]
        assert log.status == "success"
        uuids[eval_set_id] = sorted(s.uuid for s in log.samples or [] if s.uuid)
        report = import_eval_set_logs(engine, storage, eval_set_id)
        assert report.ok and report.samples == SAMPLES_PER_EVAL_SET
    if not with_scan:
        return AccessWorld(storage, engine, uuids)

    source = str(configs / "scan.yaml")
    loaded_scan = load_scan_config(source, text=SCAN_CONFIG, base_dir=configs)
    SCAN_CONFIGS_KIND.submit(
        storage, loaded_scan, Submission.new(SCAN_ID, SCAN_CONFIG, source=source, base_dir=str(configs), created_by="u-scan")
    )  # fmt: skip
    for eval_set_id in SCAN_SOURCES:
        plan = ScanPlan(
            scan_id=SCAN_ID,
            eval_set_id=eval_set_id,
            log_dir=storage.eval_log_dir(eval_set_id),
            results_dir=storage.scan_results_dir(SCAN_ID, eval_set_id),
            scanners=[ScannerSpec(key="test_labels", name="hawk_example_scanners/test_labels")],
        )
        execute_scan(plan, ConsoleReporter())
        imported = import_scan_cell_results(
            engine, storage, SCAN_ID, eval_set_id, eval_logs_run_id=None, eval_logs_data_version=None
        )
        assert imported.results == 2 * SAMPLES_PER_EVAL_SET
    return AccessWorld(storage, engine, uuids)


def _load_addition():  # type: ignore[no-untyped-def]
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "access_matrix_arithmetic", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.addition


@pytest.fixture(scope="module")
def access_world(
    tmp_path_factory: pytest.TempPathFactory, warehouse_url: str, _migrated_template: str
) -> Iterator[AccessWorld]:
    name = f"test_access_{uuid.uuid4().hex[:12]}"
    url = _create_database(warehouse_url, name, _migrated_template)
    engine = create_warehouse_engine(url)
    try:
        yield build_access_world(tmp_path_factory.mktemp("access-world"), engine)
    finally:
        engine.dispose()
        _drop_database(warehouse_url, name)
