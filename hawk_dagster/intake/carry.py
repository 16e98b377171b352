"""Submitting a config from this machine into a configs folder: what it names on this machine goes with it.

``hawk eval-set`` and ``hawk scan run`` drop a config into the deployment's configs folder, where a sensor validates
it again on another machine. A config that names local files (``path`` task files, ``cyber`` folders, an approval
policy, local packages) would be refused there or fail at run time, so those files are carried: copied into a
staging folder here, checked, uploaded as a bundle (``hawk_dagster.storage.carried``), and the config gets a
``carried_files`` key naming the bundle. Before anything is written, the final config is validated exactly as the
sensor will validate it, against the staged copy of the bundle: what this module accepts, the sensor accepts.

What is carried, and the rules (each refusal names the field that asked for it):

- a ``path`` task file with its whole folder (the runner puts that folder on ``sys.path`` so the task can import
  its neighbours, and tasks often read data files beside them); a ``cyber`` folder; a local package folder (or a
  wheel/sdist file); the approval policy file.
- paths are laid out as they sit around the config's folder, so a ``../packages/x`` keeps resolving; the manifest
  records where the config's folder is inside the bundle.
- caches and version-control folders are skipped (:data:`SKIPPED_DIRS`, ``*.pyc``); symbolic links are followed
  only when they point inside the folder being carried (one pointing outside is refused, a dangling one skipped).
- at most :attr:`CarryLimits.max_files` files and :attr:`CarryLimits.max_bytes` bytes in all
  (``HAWK_CARRY_MAX_FILES``, ``HAWK_CARRY_MAX_MB``): a task file sitting in a home folder or a repository root
  is refused, with the advice to give it a folder of its own, rather than uploading the tree.
- an absolute or home-relative path (``/opt/x``, ``~/x``, ``file://...``) means nothing on another machine and is
  refused, with the relative path to write instead.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import re
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final

from hawk_dagster.config.carried import CarriedFilesError
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.local_files import LocalReference, package_location
from hawk_dagster.config.task_sources import resolve_local
from hawk_dagster.intake.watch import Config, Outcome, SubmitRefused, WatchedKind, refuse_if_claimed
from hawk_dagster.storage.carried import FILES, CarriedFile, Manifest, bundle_folder, upload_bundle
from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    from upath import UPath

SKIPPED_DIRS: Final = frozenset(
    {
        ".git",
        ".hg",
        ".svn",
        "__pycache__",
        ".venv",
        ".tox",
        ".nox",
        ".mypy_cache",
        ".pytest_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
        "node_modules",
        ".hawk",
    }
)
"""Folders never carried: version control, caches, virtual environments, and hawk's own local state."""
SKIPPED_SUFFIXES: Final = (".pyc", ".pyo")

MAX_FILES_ENV: Final = "HAWK_CARRY_MAX_FILES"
MAX_MB_ENV: Final = "HAWK_CARRY_MAX_MB"


class CarryError(Exception):
    """Why a config cannot be submitted as it is; ``field`` is the config field that asked for it ('' for none)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}" if field else message)
        self.field = field


@dataclass(frozen=True)
class CarryLimits:
    """How much a submission may carry in all."""

    max_files: int = 2000
    max_bytes: int = 100 * 1024 * 1024

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> CarryLimits:
        """The defaults, or ``HAWK_CARRY_MAX_FILES`` / ``HAWK_CARRY_MAX_MB`` when set (raises ``CarryError``)."""
        limits = cls()
        try:
            files = int(environ.get(MAX_FILES_ENV) or limits.max_files)
            megabytes = float(environ.get(MAX_MB_ENV) or limits.max_bytes / 2**20)
        except ValueError as exc:
            raise CarryError("", f"{MAX_FILES_ENV} and {MAX_MB_ENV} must be numbers ({exc})") from None
        if files < 1 or megabytes <= 0:
            raise CarryError("", f"{MAX_FILES_ENV} and {MAX_MB_ENV} must be positive")
        return cls(max_files=files, max_bytes=int(megabytes * 2**20))


# --- gathering ----------------------------------------------------------------------------------------------------


def _under(layout: str, name: str) -> str:
    return name if layout in ("", ".") else f"{layout}/{name}"


def _home_or_absolute(written: str, kind: str) -> bool:
    if kind == "package":
        return package_location(written) == "absolute"
    return written.startswith(("/", "~"))


def _relative_hint(written: str, config_dir: Path, kind: str) -> str:
    """``; write '<relative path>' instead`` when the absolute path can be written relative to the config."""
    if "@" in written or not written.startswith(("/", "~", "file://")):
        return ""
    try:
        target = Path(written.removeprefix("file://")).expanduser().resolve()
        relative = os.path.relpath(target, config_dir)
    except (OSError, ValueError):
        return ""
    if kind == "package" and not relative.startswith(".."):
        relative = f"./{relative}"
    return f"; write {relative!r} instead"


@dataclass
class _Gathered:
    """The files a submission carries, by their path in the bundle (``layout``), with the running totals."""

    limits: CarryLimits
    files: dict[str, Path] = field(default_factory=dict)
    fields: dict[str, str] = field(default_factory=dict)
    total_bytes: int = 0

    def add(self, real: Path, layout: str, ref: LocalReference, what: str) -> None:
        previous = self.files.get(layout)
        if previous is not None:
            if previous == real:
                return
            raise CarryError(
                ref.field,
                f"{ref.written!r}: {real} and {previous} (from {self.fields[layout]}) would both be carried as "
                f"{layout}; write paths that do not pass through symbolic links with '..'",
            )
        try:
            size = real.stat().st_size
        except OSError as exc:
            raise CarryError(
                ref.field, f"{ref.written!r}: cannot read {real} ({exc.strerror or exc})"
            ) from None
        self.files[layout] = real
        self.fields[layout] = ref.field
        self.total_bytes += size
        if len(self.files) > self.limits.max_files:
            raise CarryError(
                ref.field,
                f"{ref.written!r}: carrying {what} takes the files uploaded with this config past "
                f"{self.limits.max_files} (caches such as .git, __pycache__ and .venv are skipped); "
                f"{_advice(ref)}, or raise {MAX_FILES_ENV}",
            )
        if self.total_bytes > self.limits.max_bytes:
            raise CarryError(
                ref.field,
                f"{ref.written!r}: carrying {what} takes the files uploaded with this config past "
                f"{_size(self.limits.max_bytes)}; {_advice(ref)}, or raise {MAX_MB_ENV}",
            )

    def tree(self, root: Path, layout: str, ref: LocalReference, what: str) -> None:
        real_root = root.resolve()
        self._walk(real_root, real_root, layout, ref, what, frozenset({real_root}))

    def _walk(
        self,
        folder: Path,
        root: Path,
        layout: str,
        ref: LocalReference,
        what: str,
        ancestors: frozenset[Path],
    ) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError as exc:
            raise CarryError(
                ref.field, f"{ref.written!r}: cannot list {folder} ({exc.strerror or exc})"
            ) from None
        for entry in entries:
            here = _under(layout, entry.name)
            path = Path(entry.path)
            if entry.is_symlink():
                target = path.resolve()
                if not target.exists():
                    continue  # a dangling link: nothing to carry
                if not target.is_relative_to(root):
                    raise CarryError(
                        ref.field,
                        f"{ref.written!r}: {path} is a symbolic link to {target}, outside {root}; links are followed "
                        "only inside the folder being carried: copy the file in, or remove the link",
                    )
                if target.is_dir():
                    if entry.name not in SKIPPED_DIRS and target not in ancestors:
                        self._walk(target, root, here, ref, what, ancestors | {target})
                elif target.is_file() and not entry.name.endswith(SKIPPED_SUFFIXES):
                    self.add(target, here, ref, what)
            elif entry.is_dir(follow_symlinks=False):
                if entry.name not in SKIPPED_DIRS:
                    self._walk(path, root, here, ref, what, ancestors | {path})
            elif entry.is_file(follow_symlinks=False) and not entry.name.endswith(SKIPPED_SUFFIXES):
                self.add(path, here, ref, what)


def _size(n: int) -> str:
    return f"{n / 2**20:g} MiB" if n >= 2**20 else f"{n / 1024:g} KiB"


def _advice(ref: LocalReference) -> str:
    if ref.kind == "task file":
        return "a task file is carried with its whole folder (so it can import what is beside it): put it in a folder of its own"
    return "carry less (point at a smaller folder)"


def gather(
    config_dir: Path, refs: Sequence[LocalReference], limits: CarryLimits
) -> tuple[str, dict[str, Path], Path]:
    """What ``refs`` carry: (the config's folder inside the bundle, bundle path -> file here, the folder here that
    the bundle's ``files/`` stands for). Raises ``CarryError`` naming the field."""
    planned: list[tuple[LocalReference, str, Path]] = []
    ups = 0
    for ref in refs:
        written = ref.written.strip()
        if _home_or_absolute(written, ref.kind):
            raise CarryError(
                ref.field,
                f"{written!r} is a location on this machine only, so it cannot be carried to the deployment; "
                f"write it relative to the config's folder ({config_dir}) and it is uploaded with the config"
                + _relative_hint(written, config_dir, ref.kind),
            )
        normalised = posixpath.normpath(written)
        parts = normalised.split("/")
        up = next((i for i, part in enumerate(parts) if part != ".."), len(parts))
        if up >= len(config_dir.parts):
            raise CarryError(ref.field, f"{written!r} climbs above the root folder from {config_dir}")
        ups = max(ups, up)
        planned.append((ref, normalised, resolve_local(config_dir, written)))

    base = "/".join(config_dir.parts[len(config_dir.parts) - ups :]) if ups else ""
    anchor = config_dir.parents[ups - 1] if ups else config_dir
    gathered = _Gathered(limits)
    for ref, normalised, real in planned:
        layout = posixpath.normpath(posixpath.join(base, normalised)) if base else normalised
        if ref.kind == "task file":
            folder_layout = posixpath.dirname(layout) or "."
            gathered.tree(real.parent, folder_layout, ref, f"the task file's folder {real.parent}")
        elif ref.kind == "cyber":
            gathered.tree(real, layout, ref, f"the folder {real}")
        elif real.is_dir():  # a package folder
            gathered.tree(real, layout, ref, f"the folder {real}")
        elif real.is_file():  # an approval policy, or a built package (wheel, sdist)
            gathered.add(real, layout, ref, f"the file {real}")
        else:
            raise CarryError(
                ref.field,
                f"{ref.written!r} must name a file or folder relative to the config's folder; {real} does not exist",
            )
    return base, gathered.files, anchor


def stage(base: str, files: dict[str, Path], staged_files: Path) -> Manifest:
    """Copy the gathered files under ``staged_files`` (one read each: what is hashed is what is uploaded)."""
    entries = []
    for layout, real in sorted(files.items()):
        data = real.read_bytes()
        target = staged_files.joinpath(*layout.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        entries.append(CarriedFile(layout, len(data), hashlib.sha256(data).hexdigest()))
    staged_files.mkdir(parents=True, exist_ok=True)
    return Manifest(base, tuple(entries))


# --- the submission -------------------------------------------------------------------------------------------------


def with_top_level_keys(text: str, keys: dict[str, str]) -> str:
    """The YAML with a ``key: value`` line for each key it does not set yet, keeping comments and layout: at the top,
    or just after a leading ``---`` document marker (which must stay first)."""
    lines = [
        f"{key}: {value}\n"
        for key, value in keys.items()
        if not re.search(rf"^{re.escape(key)}\s*:", text, re.M)
    ]
    if not lines:
        return text
    rows = text.splitlines(keepends=True)
    at = 0
    for index, row in enumerate(rows):
        stripped = row.strip()
        if not stripped or stripped.startswith(("#", "%")):
            continue
        if re.fullmatch(r"---(\s+#.*)?", stripped):
            at = index + 1
        break
    if at and not rows[at - 1].endswith("\n"):
        rows[at - 1] += "\n"
    return "".join(rows[:at] + lines + rows[at:])


@dataclass(frozen=True)
class PreparedSubmission:
    """A config ready to publish: its file name and final text, and the staged bundle it carries (if any)."""

    name: str
    text: str
    manifest: Manifest | None
    staged_files: Path | None
    anchor: Path | None
    """The folder here that the bundle's ``files/`` stands for (for messages)."""


@contextlib.contextmanager
def prepare_submission(
    storage: StorageRoot,
    kind: WatchedKind[Config, Outcome],
    *,
    config_text: str,
    config_dir: Path,
    refs: Sequence[LocalReference],
    submission_id: str,
    already_carried: str | None = None,
    limits: CarryLimits | None = None,
) -> Iterator[PreparedSubmission]:
    """Stage what the config carries and check the final config as the sensor will; writes nothing to ``storage``.

    Raises ``CarryError`` (naming the field) when the config cannot be submitted as it is. The staged files live
    until the ``with`` block ends.
    """
    if already_carried is not None:
        raise CarryError(
            "carried_files",
            f"{already_carried!r} is written by `hawk {kind.label}` submissions, which upload the config's local "
            "files again from the paths relative to its folder: remove this line",
        )
    name = f"{submission_id}.yaml"
    try:
        refuse_if_claimed(storage, kind, submission_id, name)
    except SubmitRefused as exc:
        raise CarryError("", str(exc)) from None
    with tempfile.TemporaryDirectory(prefix="hawk-carry-") as tmp:
        manifest = staged = anchor = None
        keys = {kind.id_key: submission_id}
        if refs:
            base, files, anchor = gather(config_dir, refs, limits or CarryLimits.from_env())
            staged = Path(tmp) / FILES
            manifest = stage(base, files, staged)
            keys["carried_files"] = (
                f"'{manifest.bundle_id}'"  # quoted: an all-digit id would read as a number
            )
        text = with_top_level_keys(config_text, keys)
        _check_as_the_sensor_will(storage, kind, name, text, manifest, staged, anchor)
        yield PreparedSubmission(name, text, manifest, staged, anchor)


def _check_as_the_sensor_will(
    storage: StorageRoot,
    kind: WatchedKind[Config, Outcome],
    name: str,
    text: str,
    manifest: Manifest | None,
    staged: Path | None,
    anchor: Path | None,
) -> None:
    def staged_bundle(bundle_id: str) -> Path:
        if manifest is None or staged is None or bundle_id != manifest.bundle_id:
            raise CarriedFilesError(f"no carried files {bundle_id} staged with this submission")
        return staged.joinpath(*manifest.base.split("/")) if manifest.base else staged

    try:
        kind.load(kind.source_of(storage, name), text, kind.local_configs_dir(storage), staged_bundle)
    except ConfigError as exc:
        message = str(exc)
        if staged is not None and anchor is not None:
            message = _as_paths_here(message, staged, anchor)
        raise CarryError(
            "",
            "the deployment would refuse this config once submitted with its local files (only what is inside the "
            f"files and folders the config names is carried; paths below are as they would resolve):\n{message}",
        ) from None


def _as_paths_here(message: str, staged: Path, anchor: Path) -> str:
    """``message`` with the staging folder, however it was written (absolute, resolved, or relative to the working
    directory, as issues show nearby files), replaced by the folder it was staged from."""
    forms = {str(staged), str(staged.resolve())}
    forms |= {os.path.relpath(form) for form in list(forms)}
    for form in sorted(forms, key=len, reverse=True):
        message = message.replace(form, str(anchor))
    return message


def publish(storage: StorageRoot, kind: WatchedKind[Config, Outcome], prepared: PreparedSubmission) -> UPath:
    """Upload the carried files, then the config (last, so the sensor never sees a config whose files are not all
    there); returns where the config landed."""
    if prepared.manifest is not None and prepared.staged_files is not None:
        upload_bundle(storage, prepared.staged_files, prepared.manifest)
    target = kind.configs_dir(storage) / prepared.name
    write_atomically(target, prepared.text, local=storage.is_local)
    return target


def write_atomically(target: UPath, text: str, *, local: bool) -> None:
    """Write ``text`` so a reader sees the old file or the new one, never a part: a rename on a local folder (the
    temporary name is hidden, so the sensor skips it), one PUT on object stores."""
    if not local:
        target.write_text(text)
        return
    folder = Path(target.path).parent
    folder.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, Path(target.path))
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def carried_summary(storage: StorageRoot, manifest: Manifest) -> str:
    """One line saying what was carried and where to."""
    return (
        f"carried {len(manifest.files)} file(s), {manifest.total_bytes / 1024:.1f} KiB, to "
        f"{bundle_folder(storage, manifest.bundle_id)}"
    )
