"""Carried-file bundles in a storage root (a local folder and moto's S3 server): uploaded files first and the
manifest last, read back only when complete and unaltered, fetched once per machine from object stores."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from hawk_dagster.config.carried import CarriedFilesError
from hawk_dagster.storage.carried import (
    CARRIED,
    FILES,
    MANIFEST,
    CarriedFile,
    CarriedFiles,
    Manifest,
    upload_bundle,
)
from hawk_dagster.storage.root import StorageRoot

FILES_HERE = {"tasks/arithmetic.py": b"print('hi')\n", "packages/p/pyproject.toml": b"[project]\nname='p'\n"}


def staged(tmp_path: Path, files: dict[str, bytes] = FILES_HERE, base: str = "") -> tuple[Path, Manifest]:
    folder = tmp_path / "staged"
    entries = []
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
        entries.append(CarriedFile(path, len(data), hashlib.sha256(data).hexdigest()))
    return folder, Manifest(base, tuple(entries))


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def test_a_bundle_resolves_to_a_local_folder_holding_its_files(
    storage_root: str, tmp_path: Path, cache: Path
) -> None:
    storage = StorageRoot(storage_root)
    folder, manifest = staged(tmp_path, base="configs")
    assert upload_bundle(storage, folder, manifest) is True
    assert upload_bundle(storage, folder, manifest) is False  # same id: already there, nothing uploaded

    base = CarriedFiles(storage, cache)(manifest.bundle_id)
    assert base.name == "configs" and base.parent.name == FILES
    for path, data in FILES_HERE.items():
        assert (base.parent / path).read_bytes() == data
    if storage.is_local:  # used where it lies
        assert base.is_relative_to(storage.local_path / CARRIED)
        assert not cache.exists()
    else:  # fetched once: a second machine-local read needs nothing from the bucket
        assert base.is_relative_to(cache)
        remote = storage.path(*CARRIED.split("/"), manifest.bundle_id)
        remote.fs.rm(remote.path, recursive=True)
        assert CarriedFiles(storage, cache)(manifest.bundle_id) == base


def test_a_bundle_without_its_manifest_is_not_used(storage_root: str, tmp_path: Path, cache: Path) -> None:
    """The manifest is written last: files without it are an upload that did not finish."""
    storage = StorageRoot(storage_root)
    folder, manifest = staged(tmp_path)
    upload_bundle(storage, folder, manifest)
    storage.path(*CARRIED.split("/"), manifest.bundle_id, MANIFEST).unlink()
    with pytest.raises(CarriedFilesError, match=r"did not\s+finish"):
        CarriedFiles(storage, cache)(manifest.bundle_id)
    assert not list(cache.glob(f"*/{MANIFEST}"))


def test_a_changed_file_is_refused(storage_root: str, tmp_path: Path, cache: Path) -> None:
    storage = StorageRoot(storage_root)
    folder, manifest = staged(tmp_path)
    upload_bundle(storage, folder, manifest)
    storage.path(*CARRIED.split("/"), manifest.bundle_id, FILES, "tasks", "arithmetic.py").write_bytes(b"x")
    with pytest.raises(CarriedFilesError, match=r"tasks/arithmetic\.py"):
        CarriedFiles(storage, cache)(manifest.bundle_id)
    if not storage.is_local:
        assert not (cache / manifest.bundle_id).exists()  # nothing half-fetched is left to be used later


def test_a_missing_file_is_refused(storage_root: str, tmp_path: Path, cache: Path) -> None:
    storage = StorageRoot(storage_root)
    folder, manifest = staged(tmp_path)
    upload_bundle(storage, folder, manifest)
    storage.path(*CARRIED.split("/"), manifest.bundle_id, FILES, "packages", "p", "pyproject.toml").unlink()
    with pytest.raises(CarriedFilesError, match=r"pyproject\.toml is missing"):
        CarriedFiles(storage, cache)(manifest.bundle_id)


def test_an_altered_manifest_is_refused(tmp_path: Path) -> None:
    _, manifest = staged(tmp_path)
    other = Manifest("", manifest.files[:1])
    with pytest.raises(CarriedFilesError, match="does not match its id"):
        Manifest.loads(other.dumps(), manifest.bundle_id)
    assert Manifest.loads(manifest.dumps(), manifest.bundle_id) == Manifest(
        "", tuple(sorted(manifest.files, key=lambda f: f.path))
    )


@pytest.mark.parametrize("path", ["../outside.py", "/etc/passwd", "a/../../b", "./a", "a//b"])
def test_a_manifest_naming_a_path_outside_its_folder_is_refused(path: str) -> None:
    manifest = Manifest("", (CarriedFile(path, 1, "0" * 64),))
    with pytest.raises(CarriedFilesError, match="outside its folder"):
        Manifest.loads(manifest.dumps(), manifest.bundle_id)
