"""A warehouse for the results pages (eval set, compare, scans), built once per session from real Inspect logs.

Eval sets (their model groups in brackets) of the ``add`` and ``chat`` tasks in ``results_tasks``, run by mock
models whose wrong ``add`` answers are chosen (``WRONG``), so the compare page's differences are known:

- ``res-a`` [alpha]: ``m1`` and ``m2`` on both tasks;
- ``res-b`` [alpha]: the same, plus ``m3`` on ``add`` only (a cell ``res-a`` lacks; its sample 0 invalidated);
- ``res-g`` [gamma]: ``g1`` on ``add``;
- ``res-s`` [delta]: ``s1`` on ``add`` twice, by two agents: Inspect's own plan (``generate``, every sample) and the
  ``careful`` solver (the first ``CAREFUL_SAMPLES``), so the eval set's grid has two ``add`` rows.

Scans with the example keyword scanner (``+``, which every ``add`` prompt holds): ``scan-a`` of ``res-a`` [alpha]
and ``scan-g`` of ``res-g`` [gamma]. The storage root is laid out as ``hawk serve`` expects (``evals/<id>/``).
"""

from __future__ import annotations

import concurrent.futures
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from hawk_dagster.access.principal import Principal
from tests.conftest import _create_database, _drop_database

if TYPE_CHECKING:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient
    from inspect_ai.log import EvalLog
    from sqlalchemy import Engine

    from hawk_dagster.api.settings import ServerSettings

MODELS = {
    "res-a": {"mockllm/m1": ("add", "chat"), "mockllm/m2": ("add", "chat")},
    "res-b": {"mockllm/m1": ("add", "chat"), "mockllm/m2": ("add", "chat"), "mockllm/m3": ("add",)},
    "res-g": {"mockllm/g1": ("add",)},
}
WRONG: dict[tuple[str, str], frozenset[int]] = {
    ("res-a", "mockllm/m1"): frozenset({1}),
    ("res-a", "mockllm/m2"): frozenset({1, 2, 3}),
    ("res-b", "mockllm/m1"): frozenset({1, 4}),
    ("res-b", "mockllm/m2"): frozenset(),
    ("res-b", "mockllm/m3"): frozenset(),
    ("res-g", "mockllm/g1"): frozenset({0}),
}
"""Which ``add`` sample ids each eval set's model answers wrongly."""
CAREFUL_SAMPLES = 3
GROUPS = {"res-a": "alpha", "res-b": "alpha", "res-g": "gamma", "res-s": "delta"}
SCANS = {"scan-a": "res-a", "scan-g": "res-g"}
"""Scan id -> the eval set it reads."""


@dataclass(frozen=True)
class ResultsWarehouse:
    root: Path
    """The storage root (logs under ``evals/<eval_set_id>/``)."""
    warehouse_url: str


@pytest.fixture(scope="session")
def results_warehouse(
    tmp_path_factory: pytest.TempPathFactory,
    warehouse_url: str,
    _migrated_template: str,
    isolated_user_state: Path,
) -> Iterator[ResultsWarehouse]:
    root = tmp_path_factory.mktemp("results-root")
    name = f"results_{uuid.uuid4().hex[:12]}"
    url = _create_database(warehouse_url, name, _migrated_template)
    # in a thread of its own: Inspect and Scout run event loops, which cannot start inside Playwright's (a browser
    # fixture set up earlier in the session leaves one running in this thread)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        pool.submit(_build, root, url).result()
    yield ResultsWarehouse(root=root, warehouse_url=url)
    _drop_database(warehouse_url, name)


def _build(root: Path, url: str) -> None:
    from hawk_runner.__main__ import ConsoleReporter
    from hawk_runner.plan import ScannerSpec, ScanPlan
    from hawk_runner.scan import execute_scan
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model
    from sqlalchemy import text

    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.ingest.scan_import import ScanRecord, import_scan_cell
    from tests.web import results_tasks

    engine = create_warehouse_engine(url)
    try:
        for eval_set_id, models in MODELS.items():
            log_dir = root / "evals" / eval_set_id
            for model, tasks in models.items():
                logs = inspect_eval(
                    [getattr(results_tasks, t)() for t in tasks],
                    model=get_model(model, custom_outputs=results_tasks.answers(WRONG[(eval_set_id, model)])),
                    log_dir=str(log_dir),
                    display="none",
                )
                assert all(log.status == "success" for log in logs), [log.error for log in logs]
            _import(engine, root, eval_set_id)
        _build_two_agents(root, engine)
        with (
            engine.begin() as conn
        ):  # as `hawk edit-samples` would leave it: one sample of res-b's m3 invalidated
            conn.execute(
                text(
                    "UPDATE sample SET invalidation_reason = 'test', invalidation_author = 'tester' WHERE id = '0'"
                    " AND eval_pk = (SELECT pk FROM eval WHERE eval_set_id = 'res-b' AND model = 'mockllm/m3')"
                )
            )
        for scan_id, eval_set_id in SCANS.items():
            results = root / "scans" / scan_id / eval_set_id
            plan = ScanPlan(
                scan_id=scan_id,
                eval_set_id=eval_set_id,
                log_dir=str(root / "evals" / eval_set_id),
                results_dir=str(results),
                scanners=[
                    ScannerSpec(key="mentions", name="hawk_example_scanners/keyword", args={"keyword": "+"})
                ],
            )
            execute_scan(plan, ConsoleReporter())
            record = ScanRecord(
                scan_id=scan_id,
                name=f"scan of {eval_set_id}",
                created_by="scanner",
                model_groups=(GROUPS[eval_set_id],),
            )
            assert (
                import_scan_cell(engine, record, eval_set_id=eval_set_id, results_dir=str(results)).results
                > 0
            )
    finally:
        engine.dispose()


def _build_two_agents(root: Path, engine: Engine) -> None:
    """``res-s``: one task, one model, two agents (two evals the grid tells apart by their agent)."""
    from inspect_ai import eval as inspect_eval
    from inspect_ai.model import get_model

    from tests.web import results_tasks

    log_dir = root / "evals" / "res-s"
    model = get_model("mockllm/s1", custom_outputs=results_tasks.answers(frozenset()))
    runs = [
        *inspect_eval(results_tasks.add(), model=model, log_dir=str(log_dir), display="none"),
        *inspect_eval(
            results_tasks.add(),
            model=model,
            solver=results_tasks.careful(),
            limit=CAREFUL_SAMPLES,
            log_dir=str(log_dir),
            display="none",
        ),
    ]
    assert all(log.status == "success" for log in runs), [log.error for log in runs]
    _import(engine, root, "res-s")


def _import(engine: Engine, root: Path, eval_set_id: str) -> None:
    """Import the eval set's logs as its group's owner would have them imported."""
    from hawk_dagster.warehouse.ingest.importer import import_eval_set

    report = import_eval_set(
        engine,
        str(root / "evals" / eval_set_id),
        eval_set_id,
        eval_set_name=f"results {eval_set_id}",
        created_by=f"owner-{GROUPS[eval_set_id]}",
        tags=["results-test"],
        model_groups=[GROUPS[eval_set_id]],
    )
    assert not report.failed, report.failed


@pytest.fixture(scope="session")
def results_engine(results_warehouse: ResultsWarehouse) -> Iterator[Engine]:
    """An engine on the results warehouse (read only: tests must not change it)."""
    from hawk_dagster.warehouse.engine import create_warehouse_engine

    engine = create_warehouse_engine(results_warehouse.warehouse_url)
    yield engine
    engine.dispose()


def viewer(*groups: str) -> Principal:
    """A signed-in user holding ``groups`` (no other power)."""
    return Principal(
        subject=f"user-{'-'.join(groups) or 'none'}",
        groups=frozenset(groups),
        permissions=frozenset(),
        is_admin=False,
        can_edit=False,
    )


def log_headers(root: Path, eval_set_id: str) -> dict[tuple[str, str], EvalLog]:
    """(task, model) -> the header of its log, read by Inspect: the truth the pages' numbers are checked against."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    headers = [
        read_eval_log(info, header_only=True) for info in list_eval_logs(str(root / "evals" / eval_set_id))
    ]
    return {(h.eval.task, h.eval.model): h for h in headers}


def results_settings(results_warehouse: ResultsWarehouse, **overrides: Any) -> ServerSettings:
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.api.settings import ServerSettings
    from hawk_dagster.storage.root import StorageRoot

    values: dict[str, Any] = {
        "storage": StorageRoot(str(results_warehouse.root)),
        "warehouse_url": results_warehouse.warehouse_url,
        "oidc": None,
        "access": AccessSettings(),
        **overrides,
    }
    return ServerSettings(**values)


@pytest.fixture(scope="session")
def results_client(results_warehouse: ResultsWarehouse) -> Iterator[TestClient]:
    """The pages in local mode (no issuer: the local administrator sees everything)."""
    from fastapi.testclient import TestClient

    from hawk_dagster.api.app import create_app

    with TestClient(create_app(results_settings(results_warehouse)), raise_server_exceptions=False) as client:
        yield client


@pytest.fixture(scope="session")
def results_signed_app(results_warehouse: ResultsWarehouse, oidc_provider: Any) -> FastAPI:
    """The pages with the OpenID provider as issuer: callers need a token and see only their groups."""
    from hawk_dagster.api.app import create_app

    return create_app(results_settings(results_warehouse, oidc=oidc_provider.settings()))


@pytest.fixture(scope="session")
def results_signed_client(results_signed_app: FastAPI) -> Iterator[TestClient]:
    from fastapi.testclient import TestClient

    with TestClient(results_signed_app, raise_server_exceptions=False) as client:
        yield client


def group_token(oidc_provider: Any, *groups: str) -> dict[str, str]:
    """The Authorization header of a real token for a user holding ``groups``."""
    from hawk_dagster.access.settings import AccessSettings

    prefix = AccessSettings().group_prefix
    token = oidc_provider.token_for(f"user-{'-'.join(groups) or 'none'}", [f"{prefix}{g}" for g in groups])
    return {"Authorization": f"Bearer {token}"}
