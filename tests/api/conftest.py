"""A deployment for the API tests, built once per session from real logs of the mock model.

Three eval sets, one model each (``hawk-mock/alpha``, ``beta``, ``gamma``: three model groups once the model-groups
file maps them), submitted by three owners, imported into a warehouse database of their own; a scan of ``es-alpha``
run by the runner with the example keyword scanner and imported. Tests get a copy of the storage root (they submit
into its configs folder) over the same warehouse, and a server on it: FastAPI's TestClient, or uvicorn on a loopback
port for what only real HTTP shows (streaming, headers on the wire, concurrency).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hawk_dagster.access.settings import AccessSettings
from hawk_dagster.api.app import create_app
from hawk_dagster.api.settings import ServerSettings
from hawk_dagster.storage.root import SCANS, StorageRoot
from tests.conftest import _create_database, _drop_database
from tests.grids import EXAMPLES

EVAL_SETS = {"es-alpha": "hawk-mock/alpha", "es-beta": "hawk-mock/beta", "es-gamma": "hawk-mock/gamma"}
OWNERS = {"es-alpha": "owner-alpha", "es-beta": "owner-beta", "es-gamma": "owner-gamma"}
GROUPS = {"es-alpha": "alpha", "es-beta": "beta", "es-gamma": "gamma"}
"""The model group each eval set's one model is in (the storage root's model-groups file says so)."""
MODEL_GROUPS_FILE = (
    "groups:\n  alpha: [hawk-mock/alpha]\n  beta: [hawk-mock/beta]\n  gamma: [hawk-mock/gamma*]\n"
)
SCAN_ID = "scan-alpha"
SAMPLES_PER_EVAL_SET = 3


def eval_set_config(name: str, model: str) -> str:
    return (
        f"name: {name}\ntags: [api-test]\ntasks:\n  - package: inspect-ai\n    items: [{{name: addition}}]\n"
        f"models:\n  - items: [{{name: {model}}}]\n"
    )


def scan_config(eval_set_id: str, name: str = "api scan") -> str:
    return (
        f"name: {name}\nscanners:\n  - package: hawk-example-scanners\n    name: hawk_example_scanners\n"
        "    items:\n      - name: keyword\n        key: mentions\n        args: {keyword: '+'}\n"
        f"transcripts:\n  sources:\n    - eval_set_id: {eval_set_id}\n"
    )


@dataclass(frozen=True)
class Deployment:
    root: Path
    """The storage root as built (tests copy it: ``storage``)."""
    warehouse_url: str
    sample_uuids: dict[str, list[str]]
    """Eval set id -> its samples' uuids."""


@pytest.fixture(scope="session")
def deployment(
    tmp_path_factory: pytest.TempPathFactory,
    warehouse_url: str,
    _migrated_template: str,
    isolated_user_state: Path,
) -> Iterator[Deployment]:
    from hawk_runner.__main__ import ConsoleReporter
    from hawk_runner.plan import ScannerSpec, ScanPlan
    from hawk_runner.scan import execute_scan
    from inspect_ai import eval as inspect_eval
    from sqlalchemy import text

    from hawk_dagster.evals.warehouse_import import import_eval_set_logs
    from hawk_dagster.storage.submissions import Submission, write_submission
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.ingest.scan_import import ScanRecord, import_scan_cell

    spec = importlib.util.spec_from_file_location(
        "example_arithmetic_api", EXAMPLES / "tasks" / "arithmetic.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    from hawk_dagster.access.model_access_rules import load_rules_for
    from hawk_dagster.access.requirements import required_groups
    from hawk_dagster.config.loader import load_eval_set_config, load_scan_config
    from hawk_dagster.warehouse.ingest.importer import import_eval_set

    root = tmp_path_factory.mktemp("api-root")
    storage = StorageRoot(str(root))
    (root / "model-groups.yaml").write_text(MODEL_GROUPS_FILE)
    rules = load_rules_for(storage, AccessSettings())
    name = f"api_{uuid.uuid4().hex[:12]}"
    url = _create_database(warehouse_url, name, _migrated_template)
    engine = create_warehouse_engine(url)
    try:
        for eval_set_id, model in EVAL_SETS.items():
            inspect_eval(
                module.addition(n=SAMPLES_PER_EVAL_SET),
                model=model,
                log_dir=str(root / "evals" / eval_set_id),
                display="none",
            )
            config = eval_set_config(f"grid {eval_set_id}", model)
            write_submission(
                storage,
                Submission.new(
                    eval_set_id, config, source="grid.yaml", base_dir=None, created_by=OWNERS[eval_set_id]
                ),
            )
            assert import_eval_set_logs(engine, storage, eval_set_id).samples == SAMPLES_PER_EVAL_SET
            groups = required_groups(load_eval_set_config("grid.yaml", text=config).config, rules)
            assert groups == {GROUPS[eval_set_id]}
            import_eval_set(
                engine, storage.eval_log_dir(eval_set_id), eval_set_id, model_groups=sorted(groups)
            )

        results = root / "scans" / SCAN_ID / "es-alpha"
        plan = ScanPlan(
            scan_id=SCAN_ID,
            eval_set_id="es-alpha",
            log_dir=str(root / "evals" / "es-alpha"),
            results_dir=str(results),
            scanners=[
                ScannerSpec(key="mentions", name="hawk_example_scanners/keyword", args={"keyword": "+"})
            ],
        )
        execute_scan(plan, ConsoleReporter())
        write_submission(
            storage,
            Submission.new(
                SCAN_ID, scan_config("es-alpha"), source="scan.yaml", base_dir=None, created_by="owner-alpha"
            ),
            SCANS,
        )
        scan_groups = required_groups(
            load_scan_config("scan.yaml", text=scan_config("es-alpha")).config,
            rules,
            source_groups=[{"alpha"}],
        )
        assert scan_groups == {"alpha"}
        record = ScanRecord(
            scan_id=SCAN_ID, name="api scan", created_by="owner-alpha", model_groups=tuple(scan_groups)
        )
        assert import_scan_cell(engine, record, eval_set_id="es-alpha", results_dir=str(results)).results > 0

        with engine.connect() as conn:
            rows = conn.execute(
                text(
                    "SELECT e.eval_set_id, s.uuid FROM sample s JOIN eval e ON e.pk = s.eval_pk ORDER BY s.uuid"
                )
            ).all()
        uuids: dict[str, list[str]] = {}
        for eval_set_id, sample_uuid in rows:
            uuids.setdefault(eval_set_id, []).append(sample_uuid)
    finally:
        engine.dispose()
    yield Deployment(root=root, warehouse_url=url, sample_uuids=uuids)
    _drop_database(warehouse_url, name)


@pytest.fixture
def storage(deployment: Deployment, tmp_path: Path) -> StorageRoot:
    """A copy of the deployment's storage root for this test (the warehouse still points at the built logs)."""
    copy = tmp_path / "root"
    shutil.copytree(deployment.root, copy)
    return StorageRoot(str(copy))


MakeSettings = Callable[..., ServerSettings]


def snapshot(root: Path) -> dict[str, str]:
    """Every file under the storage root with its content hash (what 'nothing written' compares)."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def unchanged(storage: StorageRoot) -> Iterator[None]:
    before = snapshot(storage.local_path)
    yield
    assert snapshot(storage.local_path) == before


@pytest.fixture
def make_settings(deployment: Deployment, storage: StorageRoot) -> MakeSettings:
    def make(**overrides: object) -> ServerSettings:
        values: dict[str, object] = {
            "storage": storage,
            "warehouse_url": deployment.warehouse_url,
            "oidc": None,
            "access": AccessSettings(),
        }
        values.update(overrides)
        return ServerSettings(**values)  # type: ignore[arg-type]

    return make


@pytest.fixture
def local_app(make_settings: MakeSettings) -> FastAPI:
    return create_app(make_settings())


@pytest.fixture
def client(local_app: FastAPI) -> Iterator[TestClient]:
    """The local-mode app (no issuer: the caller is the local administrator) through FastAPI's TestClient."""
    with TestClient(local_app, raise_server_exceptions=False) as test_client:
        yield test_client


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` under uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on")
    )
    thread = threading.Thread(target=server.run, name="hawk-api-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the API server did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=20)


@contextlib.contextmanager
def signed_in_server(
    make_settings: MakeSettings,
    oidc_provider: Any,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    subject: str | None = None,
    permissions: list[str] | None = None,
) -> Iterator[str]:
    """A server with the OpenID provider as its issuer, ``HAWK_API_URL`` set to it and the CLI's environment pointed
    at the provider; with ``subject``, that user signed in (:func:`sign_in`)."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("HAWK_TOKEN_STORE", "file")
    for name, value in oidc_provider.environ().items():
        monkeypatch.setenv(name, value)
    with serving(create_app(make_settings(oidc=oidc_provider.settings()))) as base_url:
        monkeypatch.setenv("HAWK_API_URL", base_url)
        if subject is not None:
            sign_in(oidc_provider, subject, permissions or [])
        yield base_url


def sign_in(oidc_provider: Any, subject: str, permissions: list[str]) -> None:
    """``subject`` signs in through a real device-flow login (approved by a test thread) with ``permissions``."""
    from hawk_dagster.auth.session import login
    from hawk_dagster.auth.token_store import FileTokenStore
    from tests.auth.test_session import approving

    oidc_provider.set_account(subject, permissions=permissions, email=f"{subject}@example.org")
    echo, _, threads = approving(oidc_provider, subject)
    login(oidc_provider.settings(), store=FileTokenStore(), open_browser=False, echo=echo)
    for thread in threads:
        thread.join()


@pytest.fixture
def live(local_app: FastAPI) -> Iterator[httpx.Client]:
    """The local-mode app served over real HTTP, with an httpx client on it."""
    with serving(local_app) as base_url, httpx.Client(base_url=base_url, timeout=30) as http:
        yield http


@dataclass(frozen=True)
class Writable:
    """A deployment a test may change (edits rewrite logs, deletions mark rows): this test's copy of the storage
    root, imported into a database of its own, so nothing shared is touched."""

    storage: StorageRoot
    warehouse_url: str
    sample_uuids: dict[str, list[str]]

    def log_hashes(self) -> dict[str, str]:
        """sha256 of every log file, to show that a refused request changed none."""
        import hashlib

        return {
            str(path): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(self.storage.local_path.glob("evals/*/*.eval"))
        }

    def edit_rows(self) -> int:
        from sqlalchemy import text

        from hawk_dagster.warehouse.engine import create_warehouse_engine

        engine = create_warehouse_engine(self.warehouse_url)
        try:
            with engine.connect() as conn:
                return int(conn.execute(text("SELECT count(*) FROM sample_edit")).scalar_one())
        finally:
            engine.dispose()


@pytest.fixture
def writable(storage: StorageRoot, deployment: Deployment, make_database: Callable[..., str]) -> Writable:
    from hawk_dagster.evals.warehouse_import import import_eval_set_logs
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.ingest.importer import import_eval_set

    url = make_database()
    engine = create_warehouse_engine(url)
    try:
        for eval_set_id in EVAL_SETS:
            import_eval_set_logs(engine, storage, eval_set_id)
            import_eval_set(
                engine, storage.eval_log_dir(eval_set_id), eval_set_id, model_groups=[GROUPS[eval_set_id]]
            )
    finally:
        engine.dispose()
    return Writable(storage=storage, warehouse_url=url, sample_uuids=deployment.sample_uuids)


@pytest.fixture
def writable_settings(make_settings: MakeSettings, writable: Writable) -> MakeSettings:
    """Settings over :func:`writable`'s warehouse (the storage is the same copy)."""

    def make(**overrides: object) -> ServerSettings:
        return make_settings(**{"warehouse_url": writable.warehouse_url, **overrides})

    return make
