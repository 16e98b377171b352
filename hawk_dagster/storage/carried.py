"""Local files carried with a submitted config, kept in the storage root as immutable, content-addressed bundles.

``hawk eval-set`` and ``hawk scan run`` run on a researcher's machine; the config runs on the deployment, which cannot
see that machine. So the files a config names by relative path travel with it as one bundle::

    <root>/configs/.carried/<id>/files/...        the files, laid out as they sit around the config
    <root>/configs/.carried/<id>/manifest.json    written after the files: the config's folder inside files/, and
                                                  every file's path, size and sha256

and the config names the bundle in its ``carried_files`` key. The id is a hash of the manifest, so a bundle never
changes once written, the same files submitted twice are stored once, and a reader can check that what it got is
what was submitted. Why here:

- ``configs/.carried/`` is beside the watched folders (``configs/eval-sets/``, ``configs/scans/``), not in them: the
  sensors list only the files directly in their folder, so a carried file can never be taken for a config, and a
  submitter needs write access to ``configs/`` only.
- Not beside the logs (``evals/<id>/``): Inspect lists a log folder recursively, so a carried ``.eval`` file would
  count as one of the eval set's logs. The submission (``evals/<id>/.config.yaml``) keeps ``carried_files`` verbatim,
  and the bundle is never rewritten, so a re-run or resume months later resolves the same files.
- Order makes a submission atomic enough: files, then the manifest, then the config. A reader requires the manifest
  and checks the files against it, so a half-uploaded bundle is refused rather than half used.

On a local root the bundle is used where it lies. On object stores it is downloaded once per machine into
``<state dir>/carried/<id>/`` (checked against the manifest, then renamed into place) before the config is validated
or run, so task files and local packages reach the runner by the same local paths as on a laptop.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hawk_dagster.config.carried import CarriedFilesError
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.whole_folder import building_folder

CARRIED = "configs/.carried"
MANIFEST = "manifest.json"
FILES = "files"
MANIFEST_VERSION = 1
ID_CHARS = 32


@dataclass(frozen=True)
class CarriedFile:
    """One carried file: its path under ``files/`` ('/'-separated, normalised), size in bytes and sha256."""

    path: str
    size: int
    sha256: str


def safe_relative(path: str) -> bool:
    """A normalised relative '/'-path that stays inside its folder (what a manifest may name)."""
    return (
        bool(path)
        and not path.startswith("/")
        and "\\" not in path
        and posixpath.normpath(path) == path
        and path != "."
        and not path.startswith("../")
        and path != ".."
    )


@dataclass(frozen=True)
class Manifest:
    """What a bundle holds. ``base`` is the config's folder inside ``files/`` ('' when no path climbs above it)."""

    base: str
    files: tuple[CarriedFile, ...]

    def _canonical(self) -> str:
        body: dict[str, Any] = {
            "version": MANIFEST_VERSION,
            "base": self.base,
            "files": [[f.path, f.size, f.sha256] for f in sorted(self.files, key=lambda f: f.path)],
        }
        return json.dumps(body, sort_keys=True, separators=(",", ":"))

    @property
    def bundle_id(self) -> str:
        return hashlib.sha256(self._canonical().encode()).hexdigest()[:ID_CHARS]

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def dumps(self) -> str:
        return self._canonical() + "\n"

    @classmethod
    def parse(cls, text: str, what: str = "the manifest") -> Manifest:
        """A manifest from its JSON: readable, every path a safe relative path named once (raises
        ``CarriedFilesError`` naming ``what``). Whether it is the one an id names is :meth:`loads`' question."""
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            if data.get("version") != MANIFEST_VERSION:
                raise ValueError(f"unknown manifest version {data.get('version')!r}")
            base = str(data["base"])
            files = tuple(CarriedFile(str(p), int(size), str(sha)) for p, size, sha in data["files"])
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise CarriedFilesError(f"{what} is not readable ({exc})") from None
        unsafe = next((p for p in (base, *(f.path for f in files)) if p and not safe_relative(p)), None)
        if unsafe is not None or any(not f.path for f in files):
            raise CarriedFilesError(f"{what} names a path outside its folder: {unsafe!r}")
        if len({f.path for f in files}) != len(files):
            raise CarriedFilesError(f"{what} names a file twice")
        if any(f.size < 0 for f in files):
            raise CarriedFilesError(f"{what} gives a file a negative size")
        return cls(base, files)

    @classmethod
    def loads(cls, text: str, bundle_id: str) -> Manifest:
        """Parse a stored manifest and check it is the one ``bundle_id`` names (raises ``CarriedFilesError``)."""
        manifest = cls.parse(text, f"the manifest of carried files {bundle_id}")
        if manifest.bundle_id != bundle_id:
            raise CarriedFilesError(
                f"the manifest of carried files {bundle_id} does not match its id (it was altered after upload); "
                "submit the config again"
            )
        return manifest


def bundle_folder(storage: StorageRoot, bundle_id: str) -> str:
    """Where a bundle lives in the storage root (a path or URI, for messages)."""
    return storage.uri_of(*CARRIED.split("/"), bundle_id)


def upload_bundle(storage: StorageRoot, staged_files: Path, manifest: Manifest) -> bool:
    """Upload the files staged under ``staged_files``, then the manifest; False when the bundle was already there
    (same id, same files)."""
    dest = storage.path(*CARRIED.split("/"), manifest.bundle_id)
    if dest.joinpath(MANIFEST).exists():
        return False
    local = storage.is_local
    for f in manifest.files:
        target = dest.joinpath(FILES, *f.path.split("/"))
        if local:
            target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(staged_files.joinpath(*f.path.split("/")).read_bytes())
    dest.joinpath(MANIFEST).write_text(manifest.dumps())
    return True


class CarriedFiles:
    """The bundles of one storage root as local folders: the resolver the deployment gives the config loaders."""

    def __init__(self, storage: StorageRoot, cache_dir: Path | None = None) -> None:
        self.storage = storage
        self.cache_dir = cache_dir or storage.state_dir / "carried"

    def __call__(self, bundle_id: str) -> Path:
        """The local folder the config's relative paths resolve against (its folder inside the bundle)."""
        if self.storage.is_local:
            folder = self.storage.local_path.joinpath(*CARRIED.split("/"), bundle_id)
            manifest = self._read_manifest(folder / MANIFEST, bundle_id)
            _check_present(folder / FILES, manifest.files, bundle_id, self.storage)
        else:
            folder = self._download(bundle_id)
            manifest = Manifest.loads((folder / MANIFEST).read_text(), bundle_id)
        return folder.joinpath(FILES, *manifest.base.split("/")) if manifest.base else folder / FILES

    def _read_manifest(self, path: Any, bundle_id: str) -> Manifest:
        try:
            text = path.read_text()
        except FileNotFoundError:
            raise CarriedFilesError(
                f"no carried files {bundle_id} in {bundle_folder(self.storage, bundle_id)} (or their upload did not "
                "finish); submit the config again with `hawk eval-set` / `hawk scan run`"
            ) from None
        return Manifest.loads(str(text), bundle_id)

    def _download(self, bundle_id: str) -> Path:
        """The bundle in the local cache, downloaded and checked first if it is not there yet."""
        target = self.cache_dir / bundle_id
        if (target / MANIFEST).is_file():
            return target
        remote = self.storage.path(*CARRIED.split("/"), bundle_id)
        manifest = self._read_manifest(remote.joinpath(MANIFEST), bundle_id)
        with building_folder(target, MANIFEST) as staging:
            for f in manifest.files:
                try:
                    data = remote.joinpath(FILES, *f.path.split("/")).read_bytes()
                except FileNotFoundError:
                    raise _missing(f, bundle_id, self.storage) from None
                if len(data) != f.size or hashlib.sha256(data).hexdigest() != f.sha256:
                    raise CarriedFilesError(
                        f"carried file {f.path} of {bundle_folder(self.storage, bundle_id)} is not the file that was "
                        "submitted (size or sha256 differ); submit the config again"
                    )
                local = staging.joinpath(FILES, *f.path.split("/"))
                local.parent.mkdir(parents=True, exist_ok=True)
                local.write_bytes(data)
            (staging / FILES).mkdir(exist_ok=True)
            (staging / MANIFEST).write_text(manifest.dumps())
        return target


def _missing(f: CarriedFile, bundle_id: str, storage: StorageRoot) -> CarriedFilesError:
    return CarriedFilesError(
        f"carried file {f.path} is missing from {bundle_folder(storage, bundle_id)}; submit the config again"
    )


def _check_present(
    files_dir: Path, files: Iterable[CarriedFile], bundle_id: str, storage: StorageRoot
) -> None:
    """Every listed file is there with its size (hashes are checked when a bundle is copied, not on every read)."""
    for f in files:
        try:
            size = files_dir.joinpath(*f.path.split("/")).stat().st_size
        except FileNotFoundError:
            raise _missing(f, bundle_id, storage) from None
        if size != f.size:
            raise CarriedFilesError(
                f"carried file {f.path} of {bundle_folder(storage, bundle_id)} has changed since it was submitted "
                f"({size} bytes, not {f.size}); submit the config again"
            )
