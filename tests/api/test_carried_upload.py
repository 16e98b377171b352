"""Submissions that carry the local files their config names (multipart: ``config``, ``manifest``, ``files``): the
server lays them out privately, gathers what the config names from there exactly as ``hawk eval-set`` does, and
stores the same bundle a local submission stores; a bundle that is too large, names a path outside its folder, holds a
file the config does not name, or does not match its manifest is a clear 4xx with nothing written."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hawk_dagster.api.app import create_app
from hawk_dagster.intake.carry import SKIPPED_DIRS, CarryLimits, gather, stage
from hawk_dagster.intake.watch import WatchCursor, process_new_configs
from hawk_dagster.storage.carried import FILES, CarriedFile, Manifest
from hawk_dagster.storage.root import StorageRoot
from tests.api.conftest import MakeSettings, eval_set_config, scan_config, snapshot
from tests.grids import EXAMPLES

TASK_GRID = (
    "name: carried grid\ntasks:\n  - path: tasks/arithmetic.py\n    items: [{name: addition, args: {n: 2}}]\n"
    "models:\n  - items: [{name: hawk-mock/alpha}]\n"
)
ARITHMETIC = (EXAMPLES / "tasks" / "arithmetic.py").read_bytes()


def manifest_of(files: dict[str, bytes], base: str = "") -> Manifest:
    entries = [
        CarriedFile(p, len(data), hashlib.sha256(data).hexdigest()) for p, data in sorted(files.items())
    ]
    return Manifest(base, tuple(entries))


def post(
    client: TestClient,
    config: str,
    files: dict[str, bytes],
    *,
    route: str = "/api/v1/eval-sets",
    manifest: str | None = None,
    parts: list[bytes] | None = None,
) -> Any:
    """A multipart submission: the manifest of ``files`` (or ``manifest`` as given) and one part per file."""
    listed = manifest if manifest is not None else manifest_of(files).dumps()
    sent = parts if parts is not None else [files[p] for p in sorted(files)]
    return client.post(
        route,
        data={"config": config, "manifest": listed},
        files=[("files", (f"part{i}", data)) for i, data in enumerate(sent)],
    )


def local_bundle_id(config_dir: Path, text: str) -> str:
    """The bundle a local ``hawk eval-set`` of ``text`` in ``config_dir`` would store."""
    from hawk_dagster.config.loader import load_eval_set_config
    from hawk_dagster.config.local_files import eval_set_references

    loaded = load_eval_set_config("grid.yaml", text=text, base_dir=config_dir)
    base, files, _ = gather(config_dir, eval_set_references(loaded.config), CarryLimits())
    return stage(base, files, config_dir.parent / "staged" / FILES).bundle_id


def carried_id(text: str) -> str:
    found = re.search(r"^carried_files: '([0-9a-f]{32})'$", text, re.M)
    assert found, text
    return found.group(1)


def test_a_task_file_and_its_folder_are_stored_as_a_local_submission_stores_them(
    client: TestClient, storage: StorageRoot, tmp_path: Path
) -> None:
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND

    files = {"tasks/arithmetic.py": ARITHMETIC, "tasks/data/numbers.txt": b"1 2 3\n"}
    response = post(client, TASK_GRID + "eval_set_id: carried\n", files)
    assert response.status_code == 201, response.text
    carried = response.json()["carried"]
    assert (carried["files"], carried["bytes"]) == (2, len(ARITHMETIC) + 6)

    here = tmp_path / "here"
    for path, data in files.items():
        (here / path).parent.mkdir(parents=True, exist_ok=True)
        (here / path).write_bytes(data)
    assert carried["bundle_id"] == local_bundle_id(here, TASK_GRID)
    text = (storage.local_path / "configs" / "eval-sets" / "carried.yaml").read_text()
    assert carried_id(text) == carried["bundle_id"]
    bundle = storage.local_path / "configs" / ".carried" / carried["bundle_id"]
    assert (bundle / FILES / "tasks" / "data" / "numbers.txt").read_bytes() == b"1 2 3\n"
    assert json.loads((bundle / "manifest.json").read_text())["files"][0][0] == "tasks/arithmetic.py"

    result = process_new_configs(storage, WatchCursor.parse(None), EVAL_SET_CONFIGS_KIND)
    assert [a.eval_set_id for a in result.accepted] == ["carried"] and not result.rejected


def test_a_scan_carries_its_local_scanner_package(client: TestClient, storage: StorageRoot) -> None:
    from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND

    package = EXAMPLES / "packages" / "hawk-example-scanners"
    files = {
        f"scanners/{p.relative_to(package).as_posix()}": p.read_bytes()
        for p in sorted(package.rglob("*"))
        if p.is_file() and not SKIPPED_DIRS.intersection(p.relative_to(package).parts) and p.suffix != ".pyc"
    }
    config = scan_config("es-alpha").replace("package: hawk-example-scanners", "package: ./scanners")
    response = post(client, config + "scan_id: carried-scan\n", files, route="/api/v1/scans")
    assert response.status_code == 201, response.text
    assert response.json()["carried"]["files"] == len(files)
    result = process_new_configs(storage, WatchCursor.parse(None), SCAN_CONFIGS_KIND)
    assert [a.eval_set_id for a in result.accepted] == ["carried-scan"] and not result.rejected


def refused(response: Any, status: int, field: str, fragment: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["field"] == field and fragment in error["message"], error
    assert "/tmp/" not in error["message"] and "hawk-api-" not in error["message"]  # the server's folders


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize(
    "path", ["../outside.py", "/etc/passwd", "tasks/../../x.py", "./tasks/x.py", "tasks//x.py", "tasks\\x.py"]
)
def test_a_path_outside_the_bundle_is_refused(client: TestClient, path: str) -> None:
    files = {"tasks/arithmetic.py": ARITHMETIC, path: b"print('escaped')\n"}
    refused(post(client, TASK_GRID, files), 422, "manifest", "outside its folder")


@pytest.mark.usefixtures("unchanged")
def test_a_base_outside_the_bundle_is_refused(client: TestClient) -> None:
    manifest = manifest_of({"tasks/arithmetic.py": ARITHMETIC}, base="../up").dumps()
    refused(post(client, TASK_GRID, {"tasks/arithmetic.py": ARITHMETIC}, manifest=manifest), 422, "manifest",
            "outside its folder")  # fmt: skip


@pytest.mark.usefixtures("unchanged")
def test_a_file_the_config_does_not_name_is_refused(client: TestClient) -> None:
    files = {"tasks/arithmetic.py": ARITHMETIC, "secrets/key.txt": b"not for the deployment\n"}
    refused(
        post(client, TASK_GRID, files),
        422,
        "files",
        "'secrets/key.txt' is not among the files the config names",
    )
    skipped = {"tasks/arithmetic.py": ARITHMETIC, "tasks/.git/config": b"[core]\n"}  # never carried by hawk
    refused(post(client, TASK_GRID, skipped), 422, "files", "'tasks/.git/config'")
    unnamed = post(client, eval_set_config("no local files", "hawk-mock/alpha"), {"x.py": b"x"})
    refused(unnamed, 422, "files", "names no local file")


@pytest.mark.usefixtures("unchanged")
def test_a_named_file_that_was_not_sent_is_refused(client: TestClient) -> None:
    plain = client.post("/api/v1/eval-sets", content=TASK_GRID, headers={"Content-Type": "application/yaml"})
    refused(plain, 422, "tasks[0].path", "no such file")
    missing = post(client, TASK_GRID, {"tasks/other.py": b"x = 1\n"})
    refused(missing, 422, "tasks[0].path", "no such file")
    package = scan_config("es-alpha").replace("package: hawk-example-scanners", "package: ./scanners")
    alone = client.post("/api/v1/scans", content=package, headers={"Content-Type": "application/yaml"})
    refused(alone, 422, "scanners[0].package", "none were sent")


@pytest.mark.usefixtures("unchanged")
def test_parts_that_are_not_the_manifest_s_files_are_refused(client: TestClient) -> None:
    files = {"tasks/arithmetic.py": ARITHMETIC}
    refused(post(client, TASK_GRID, files, parts=[ARITHMETIC + b"# changed\n"]), 422, "files",
            "files[0] is not the file the manifest lists as 'tasks/arithmetic.py'")  # fmt: skip
    refused(
        post(client, TASK_GRID, files, parts=[ARITHMETIC] * 2), 422, "files", "lists 1 files but 2 file parts"
    )
    refused(post(client, TASK_GRID, files, manifest="{not json"), 422, "manifest", "not readable")
    doubled = Manifest("", (*manifest_of(files).files, *manifest_of(files).files)).dumps()
    refused(
        post(client, TASK_GRID, files, manifest=doubled, parts=[ARITHMETIC] * 2), 422, "manifest", "twice"
    )


def test_what_is_over_the_server_s_limits_is_refused(
    make_settings: MakeSettings, storage: StorageRoot
) -> None:
    before = snapshot(storage.local_path)
    app = create_app(make_settings(carry_limits=CarryLimits(max_files=2, max_bytes=len(ARITHMETIC) + 10)))
    with TestClient(app, raise_server_exceptions=False) as client:
        big = {"tasks/arithmetic.py": ARITHMETIC, "tasks/big.bin": b"0" * 100}
        refused(post(client, TASK_GRID, big), 413, "files", "exceed the server's limit")
        many = {"tasks/arithmetic.py": ARITHMETIC, "tasks/a": b"", "tasks/b": b""}
        refused(post(client, TASK_GRID, many), 413, "files", "exceed the server's limit")
        # the body itself, before the manifest is read: the limit is the carry limit plus room for the config
        huge = client.post("/api/v1/eval-sets", data={"config": TASK_GRID},
                           files=[("files", ("x", b"0" * app.state.settings.max_upload_bytes))])  # fmt: skip
        assert huge.status_code == 413 and huge.json()["error"]["field"] == "body"
        assert (
            post(client, TASK_GRID + "eval_set_id: fits\n", {"tasks/arithmetic.py": ARITHMETIC}).status_code
            == 201
        )
    after = snapshot(storage.local_path)
    assert {p.split("/")[1] for p in set(after) - set(before)} == {"eval-sets", ".carried"}


@pytest.mark.usefixtures("unchanged")
def test_unknown_fields_and_malformed_multipart_are_refused(client: TestClient) -> None:
    files = {"tasks/arithmetic.py": ARITHMETIC}
    extra = client.post(
        "/api/v1/eval-sets",
        data={"config": TASK_GRID, "manifest": manifest_of(files).dumps(), "owner": "mallory"},
        files=[("files", ("f", ARITHMETIC))],
    )
    refused(extra, 422, "owner", "unknown form field 'owner'")
    broken = client.post(
        "/api/v1/eval-sets",
        content=b'--b\r\nContent-Disposition: form-data; name="config"\r\n\r\nname: x',
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert broken.status_code in (400, 422), broken.text
    no_config = client.post("/api/v1/eval-sets", data={"manifest": "{}"}, files=[("files", ("f", b"x"))])
    assert no_config.status_code == 422 and no_config.json()["error"]["field"] == "config"


def test_paths_above_the_config_folder_keep_their_layout(
    client: TestClient, storage: StorageRoot, tmp_path: Path
) -> None:
    """A config in ``repo/configs/`` naming ``../tasks/arithmetic.py``: sent with base ``configs``, stored as a local
    submission of the same folder would store it."""
    repo = tmp_path / "repo"
    shutil.copytree(EXAMPLES / "tasks", repo / "tasks")
    (repo / "configs").mkdir()
    text = TASK_GRID.replace("path: tasks/", "path: ../tasks/")
    files = {"tasks/arithmetic.py": ARITHMETIC}
    manifest = manifest_of(files, base="configs").dumps()
    response = post(client, text + "eval_set_id: above\n", files, manifest=manifest)
    assert response.status_code == 201, response.text
    assert response.json()["carried"]["bundle_id"] == local_bundle_id(repo / "configs", text)
    wrong_base = post(client, text, files)  # the config's folder left out: ../tasks climbs out of the bundle
    assert wrong_base.status_code == 422, wrong_base.text
    assert "hawk-api-" not in wrong_base.text
