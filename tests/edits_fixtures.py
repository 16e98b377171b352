"""Fixtures for sample-edit tests (tests/edits, tests/cli): a real eval set, one ``hawk-mock`` log of the example
addition task (4 samples, scorer ``match``), built once per session with ``inspect_ai.eval``, copied into each test's storage root and imported into a fresh
warehouse."""

from __future__ import annotations

import importlib.util
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Engine

from hawk_dagster.storage.root import StorageRoot

EVAL_SET = "es-edit"


@pytest.fixture(scope="session")
def template_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from inspect_ai import eval as inspect_eval

    from tests.grids import EXAMPLES

    spec = importlib.util.spec_from_file_location(
        "example_arithmetic_edits", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_dir = tmp_path_factory.mktemp("edit-template")
    (log,) = inspect_eval(
        module.addition(n=4), model="hawk-mock/half", model_args={"accuracy": 0.5}, log_dir=str(log_dir),
        display="none",
    )  # fmt: skip
    assert log.status == "success"
    return Path(log.location)


@dataclass
class EditedEvalSet:
    storage: StorageRoot
    url: str
    engine: Engine
    log: Path

    def import_logs(self) -> None:
        from hawk_dagster.evals.warehouse_import import import_eval_set_logs

        report = import_eval_set_logs(self.engine, self.storage, EVAL_SET)
        assert report.ok, report.to_dict()


@pytest.fixture
def eval_set(
    tmp_path: Path, template_log: Path, make_database: Callable[..., str], monkeypatch: pytest.MonkeyPatch
) -> Iterator[EditedEvalSet]:
    from hawk_dagster.warehouse.engine import create_warehouse_engine

    storage = StorageRoot(str(tmp_path))
    log_dir = Path(storage.eval_log_dir(EVAL_SET))
    log_dir.mkdir(parents=True)
    log = log_dir / template_log.name
    shutil.copyfile(template_log, log)
    url = make_database()
    engine = create_warehouse_engine(url)
    found = EditedEvalSet(storage, url, engine, log)
    found.import_logs()
    monkeypatch.setenv("HAWK_WAREHOUSE_URL", url)
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path))
    yield found
    engine.dispose()
