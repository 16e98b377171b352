"""Watching a configs folder (``<root>/configs/eval-sets/``, ``<root>/configs/scans/``) for new or changed configs,
without Dagster.

Each configs sensor is a thin wrapper around :func:`process_new_configs`, called with its domain's
:class:`WatchedKind`: it lists the folder (local or ``s3://``, through ``universal_pathlib``), reads only what changed
since its cursor, validates each file, records a :class:`~hawk_dagster.storage.submissions.Submission` for the valid
ones and leaves ``<name>.error`` next to the invalid ones. It returns what to launch; turning that into partitions
and run requests is the sensor's job.

Rules (why they are what they are):

- **Cursor** ``{"ts": <max mtime seen>, "seen": {<name>: <sha256>}}`` for the files at ``ts``. S3 ``LastModified``
  has 1 s precision, so a file written in the same second as the last one we saw has the same ``ts``: files at
  ``ts`` are re-read and compared by content hash instead of being skipped on time alone.
- **Run key** ``<eval_set_id>@<sha256[:16]>``: the same bytes dropped again (even re-uploaded later) give the same
  key, which Dagster never launches twice; an edited file gives a new key, i.e. a new run of the same eval set.
  If a run already used the key, the submission is *not* rewritten, so the recorded config keeps matching what the
  eval set last ran (reverting a file to an earlier version therefore launches nothing: edit it to run again).
- **One file owns an eval set id.** A file claiming an id whose submission came from another config file that is
  still in the folder and still claims it is refused with an error file naming the owner. Within one tick files are
  handled in (mtime, name) order, so the first claimant wins, as it would have on separate ticks. This stops a
  copied config with a forgotten ``eval_set_id`` from silently running into someone else's log dir. A submission
  from outside the folder (``hawk local eval-set``) or from a deleted file does not own the id.
- A bad file never stops the others: every per-file problem (unreadable, not UTF-8, invalid, no usable id,
  duplicate id) becomes an error file and a :class:`Rejected` entry. Failures listing the folder or writing a
  submission propagate, so the tick fails with the cursor unchanged and the next tick retries (run keys make the
  retry idempotent).
- **Only regular files are configs, read within limits.** Nobody watches the sensor, so a name that is a symbolic
  link (to anywhere: a device, a pipe, someone else's file, nowhere), a directory, a FIFO or a device gets an error
  file saying what it is, and is never opened (a FIFO would block the tick, ``/dev/zero`` never ends); a file is
  read without following links and never beyond the YAML size limit plus one byte. A link is refused rather than
  followed because its target is outside the folder: its edits would not be seen, and relative task paths would
  resolve against the wrong folder. Error files are written by renaming a new file into place, so a link or pipe
  named ``<name>.error`` is replaced, never written through. On object stores only objects are listed (a prefix
  named ``x.yaml/`` is not a file and is skipped).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import logging
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Generic, Protocol, TypeVar

from upath import UPath
from upath._stat import UPathStatResult

from hawk_dagster.config.errors import ConfigError, ConfigIssue
from hawk_dagster.config.ids import eval_set_id_from_filename
from hawk_dagster.config.yaml_source import (
    UnreadableFileError,
    YamlReadError,
    decode_yaml_bytes,
    file_kind,
    local_path_of,
    read_bounded,
)
from hawk_dagster.intake.submitter import submitted_by
from hawk_dagster.storage.carried import CarriedFiles
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.storage.submissions import (
    ConfigLoader,
    Kind,
    Submission,
    SubmissionNotFoundError,
    read_submission,
)

logger = logging.getLogger(__name__)

Outcome = TypeVar("Outcome")


class LoadedConfig(Protocol):
    """What the watcher needs of any kind's loaded config."""

    @property
    def warnings(self) -> list[str]: ...


Config = TypeVar("Config", bound=LoadedConfig)

CONFIG_SUFFIXES = (".yaml", ".yml")
ERROR_SUFFIX = ".error"
RUN_KEY_HASH_CHARS = 16


# --- cursor ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchCursor:
    """How far the sensor has read one storage root: the newest mtime seen and the content hash of each file at that
    mtime.

    The cursor belongs to the Dagster instance, which can outlive a change of ``HAWK_STORAGE_ROOT``; a cursor written
    for another root says nothing about this one, so reading it starts from the beginning (run keys keep configs that
    already ran from running twice).
    """

    ts: float = 0.0
    seen: Mapping[str, str] = field(default_factory=dict)
    root: str = ""

    @classmethod
    def parse(cls, raw: str | None, root: str = "") -> WatchCursor:
        """Read a stored cursor for ``root``; empty, or written for another root, means "from the beginning"; a bare
        number is a timestamp-only cursor. A cursor from before roots were recorded is taken as this root's."""
        fresh = cls(root=root)
        if raw is None or not raw.strip():
            return fresh
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"configs cursor is not JSON: {raw!r}; reset the sensor's cursor") from e
        if isinstance(data, int | float) and not isinstance(data, bool):
            return cls(ts=float(data), root=root)
        if not isinstance(data, dict) or not isinstance(data.get("ts", 0), int | float):
            raise ValueError(
                f'configs cursor must look like {{"root": <uri>, "ts": <float>, "seen": {{<name>: <sha256>}}}}, '
                f"got {raw!r}"
            )
        if data.get("root") not in (None, root):
            return fresh
        seen = data.get("seen", {})
        if not isinstance(seen, dict):
            raise ValueError(f"configs cursor 'seen' must be an object, got {seen!r}")
        return cls(ts=float(data.get("ts", 0.0)), seen={str(k): str(v) for k, v in seen.items()}, root=root)

    def dumps(self) -> str:
        return json.dumps(
            {"root": self.root, "ts": self.ts, "seen": dict(sorted(self.seen.items()))}, separators=(",", ":")
        )


# --- listing -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigFile:
    """One config file in the configs folder, as listed (no content read yet); ``problem`` says why a name that
    looks like a config is not a regular file (it is then refused unread)."""

    name: str
    mtime: float  # see _changed_time
    path: UPath
    problem: str | None = None

    @property
    def stem(self) -> str:
        return next(self.name[: -len(s)] for s in CONFIG_SUFFIXES if self.name.lower().endswith(s))


def is_config_name(name: str) -> bool:
    """``*.yaml``/``*.yml``, not hidden; ``.error`` files and editor droppings never count as configs."""
    return not name.startswith(".") and name.lower().endswith(CONFIG_SUFFIXES)


def list_configs(configs_dir: UPath) -> list[ConfigFile]:
    """All config files directly in ``configs_dir``, oldest first; an absent folder has none.

    One listing request per tick on object stores (no per-file HEAD), with fsspec's listing cache dropped first so
    that a file another process uploaded since the last tick is seen.
    """
    local = local_path_of(configs_dir)
    if local is not None:
        return _list_local(configs_dir, local)
    fs = configs_dir.fs
    fs.invalidate_cache(configs_dir.path)
    try:
        entries = fs.ls(configs_dir.path, detail=True)
    except FileNotFoundError:
        return []
    files = []
    for info in entries:
        name = str(info["name"]).rstrip("/").rsplit("/", 1)[-1]
        if info.get("type") != "file" or not is_config_name(name):
            continue
        files.append(ConfigFile(name, float(UPathStatResult.from_info(info).st_mtime), configs_dir / name))
    return sorted(files, key=lambda f: (f.mtime, f.name))


def _list_local(configs_dir: UPath, folder: str) -> list[ConfigFile]:
    """A local folder's config names, each stamped with the later of its mtime and ctime (of the name itself, not
    of what a link points at).

    ``mv`` into the folder keeps a file's old mtime but sets its ctime, and a file dropped that way must still
    count as new. Object stores set ``LastModified`` on every upload.
    """
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    files = []
    for entry in entries:
        if not is_config_name(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except FileNotFoundError:
            continue  # removed since the listing
        problem = None if stat.S_ISREG(st.st_mode) else _not_a_file(entry.path, st.st_mode)
        files.append(ConfigFile(entry.name, max(st.st_mtime, st.st_ctime), configs_dir / entry.name, problem))
    return sorted(files, key=lambda f: (f.mtime, f.name))


def _not_a_file(path: str, mode: int) -> str:
    if stat.S_ISLNK(mode):
        try:
            target = os.readlink(path)
        except OSError:
            target = "somewhere unreadable"
        return (
            f"is a symbolic link (to {target}), and the configs folder takes regular files only: copy the config "
            "in instead of linking it"
        )
    return f"is {file_kind(mode)}, not a config file: the configs folder takes regular YAML files only"


def content_sha256(text: str) -> str:
    """The hash used in run keys; equal to :attr:`Submission.config_sha256` for the same text."""
    return hashlib.sha256(text.encode()).hexdigest()


def run_key_for(eval_set_id: str, sha256: str) -> str:
    return f"{eval_set_id}@{sha256[:RUN_KEY_HASH_CHARS]}"


# --- error files -------------------------------------------------------------------------------------------------


def error_file_for(config: UPath) -> UPath:
    return config.with_name(config.name + ERROR_SUFFIX)


def write_error_file(config: UPath, message: str, *, now: dt.datetime | None = None) -> UPath:
    """Leave the reason a config was refused next to it, where the person who dropped it will look."""
    when = (now or dt.datetime.now(dt.UTC)).isoformat(timespec="seconds")
    target = error_file_for(config)
    text = (
        f"# hawk rejected {config.name} at {when}: nothing was launched. "
        f"Fix the file and save it again; this note disappears once it is accepted.\n{message.rstrip()}\n"
    )
    local = local_path_of(target)
    if local is None:
        target.write_text(text)
    else:
        _replace_file(local, text)
    return target


def _replace_file(path: str, text: str) -> None:
    """Write ``text`` to a hidden file beside ``path`` and rename it over ``path``: whatever ``path`` was (a link
    to a file of someone else's, a FIFO nobody reads) is replaced, never written through or blocked on."""
    folder, name = os.path.split(path)
    fd, temporary = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder or ".")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes it private; the person who dropped the config must read it
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def remove_error_file(config: UPath) -> bool:
    """Drop a stale ``<name>.error``; True if there was one."""
    target = error_file_for(config)
    try:
        target.unlink()
    except FileNotFoundError:
        return False
    return True


# --- what a folder holds ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchedKind(Generic[Config, Outcome]):
    """What a configs folder holds: where it is, how a file is loaded and named, and how it is submitted.

    The same rules (cursor, run keys, error files, one file per id) serve every kind; each domain supplies its own
    (``hawk_dagster.evals.intake``, ``hawk_dagster.scans.intake``).
    """

    label: str
    folder: str
    submissions: Kind
    load: ConfigLoader[Config]
    configured_id: Callable[[Config], str | None]
    submit: Callable[[StorageRoot, Config, Submission], Outcome]
    """Record an accepted config and return what submitting decided (raises ``SubmitRefused`` when it cannot run,
    e.g. a scan of an unknown eval set)."""

    @property
    def id_key(self) -> str:
        return "eval_set_id" if self.submissions == EVALS else "scan_id"

    @property
    def what(self) -> str:
        return "eval set" if self.submissions == EVALS else "scan"

    def configs_dir(self, storage: StorageRoot) -> UPath:
        return storage.path(*self.folder.split("/"))

    def local_configs_dir(self, storage: StorageRoot) -> Path | None:
        """The configs folder as a local path (relative task paths resolve there), or None on object stores."""
        return storage.local_path.joinpath(*self.folder.split("/")) if storage.is_local else None

    def source_of(self, storage: StorageRoot, name: str) -> str:
        """How a config file is named in messages and submissions: a plain path locally, a URI on object stores."""
        return storage.uri_of(*self.folder.split("/"), name)


class SubmitRefused(Exception):
    """A valid config that still cannot be submitted; the message goes into its error file."""


# --- processing --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Accepted(Generic[Outcome]):
    """A valid config. ``submitted`` is False when its run key was already used: nothing written, nothing to run
    (and ``outcome``, what submitting decided, is None)."""

    name: str
    source: str
    eval_set_id: str
    sha256: str
    submission: Submission
    warnings: tuple[str, ...]
    submitted: bool
    outcome: Outcome | None = None

    @property
    def run_key(self) -> str:
        return run_key_for(self.eval_set_id, self.sha256)


@dataclass(frozen=True)
class Rejected:
    """A config that launched nothing; ``message`` is what its error file says (``error_file`` None if unwritable)."""

    name: str
    source: str
    message: str
    error_file: str | None


@dataclass(frozen=True)
class WatchResult(Generic[Outcome]):
    accepted: list[Accepted[Outcome]]
    rejected: list[Rejected]
    cursor: WatchCursor
    configs_dir: str

    @property
    def to_submit(self) -> list[Accepted[Outcome]]:
        return [a for a in self.accepted if a.submitted]


class _Refused(Exception):
    """A per-file problem; its message goes into the error file."""


def process_new_configs(
    storage: StorageRoot,
    cursor: WatchCursor,
    kind: WatchedKind[Config, Outcome],
    *,
    run_key_used: Callable[[str], bool] = lambda _key: False,
    created_by: str | None = None,
) -> WatchResult[Outcome]:
    """Handle every config file new or changed since ``cursor``; return what to launch and the next cursor.

    ``run_key_used`` says whether Dagster already has a run for a run key (the sensor asks the instance), so a
    re-dropped old version does not overwrite the submission of the version that actually ran.
    """
    configs_dir = kind.configs_dir(storage)
    base_dir = kind.local_configs_dir(storage)
    listing = list_configs(configs_dir)
    by_source = {kind.source_of(storage, f.name): f for f in listing}

    accepted: list[Accepted[Outcome]] = []
    rejected: list[Rejected] = []
    claimed: dict[str, str] = {}  # eval set id -> source, for files accepted in this tick
    new_ts = cursor.ts
    hashes: dict[str, tuple[float, str]] = {}  # name -> (mtime, sha256) of every file read this tick

    for f in (f for f in listing if f.mtime >= cursor.ts):
        source = kind.source_of(storage, f.name)
        if f.problem is not None:
            new_ts = max(new_ts, f.mtime)
            hashes[f.name] = (f.mtime, content_sha256(f"\0{f.problem}"))  # what it is stands in for content
            if not _seen(cursor, f, hashes[f.name][1]):
                rejected.append(_reject(f, source, f"{source} {f.problem}."))
            continue
        try:
            raw = read_bounded(f.path, follow_symlinks=False)
        except UnreadableFileError as e:
            if e.missing:
                continue  # deleted between listing and reading
            new_ts = max(new_ts, f.mtime)
            # An I/O error is not put in `seen`, so it is retried while the file stays at the cursor's ts; a file
            # that is too big or not a file is refused once.
            if not e.transient:
                hashes[f.name] = (f.mtime, content_sha256(f"\0{e.found}"))
                if _seen(cursor, f, hashes[f.name][1]):
                    continue
            issue = ConfigIssue(file=source, path="", found=e.found, allowed=e.allowed)
            rejected.append(_reject(f, source, str(ConfigError(source, [issue]))))
            continue
        new_ts = max(new_ts, f.mtime)
        try:
            text = decode_yaml_bytes(raw, file=source)
        except YamlReadError as e:
            hashes[f.name] = (f.mtime, hashlib.sha256(raw).hexdigest())
            if not _seen(cursor, f, hashes[f.name][1]):
                rejected.append(_reject(f, source, str(ConfigError(source, e.issues))))
            continue
        sha = content_sha256(text)
        hashes[f.name] = (f.mtime, sha)
        if _seen(cursor, f, sha):
            continue  # already handled on an earlier tick in the same second
        try:
            eval_set_id, warnings, loaded = _validate(storage, f, source, text, base_dir, kind)
            _check_owner(storage, eval_set_id, source, claimed, by_source, base_dir, kind)
        except _Refused as e:
            rejected.append(_reject(f, source, str(e)))
            continue
        claimed[eval_set_id] = source
        key = run_key_for(eval_set_id, sha)
        submission = Submission.new(
            eval_set_id,
            text,
            source=source,
            base_dir=str(base_dir) if base_dir is not None else None,
            created_by=submitted_by(text) or created_by,  # the API server's callers (intake.submitter)
        )
        submitted = not run_key_used(key)
        outcome: Outcome | None = None
        if submitted:
            try:
                outcome = kind.submit(storage, loaded, submission)
            except SubmitRefused as e:
                rejected.append(_reject(f, source, str(e)))
                continue
        _remove_error_quietly(f)
        accepted.append(
            Accepted(f.name, source, eval_set_id, sha, submission, tuple(warnings), submitted, outcome)
        )

    seen = {name: sha for name, (mtime, sha) in hashes.items() if mtime == new_ts}
    return WatchResult(accepted, rejected, WatchCursor(new_ts, seen, cursor.root), str(configs_dir))


def refuse_if_claimed(
    storage: StorageRoot, kind: WatchedKind[Config, Outcome], submission_id: str, name: str
) -> None:
    """Raise ``SubmitRefused`` when a config file ``name`` claiming ``submission_id`` would be refused because another
    file in the folder owns that id (the rule the sensor applies; for submitting from elsewhere)."""
    listing = list_configs(kind.configs_dir(storage))
    by_source = {kind.source_of(storage, f.name): f for f in listing}
    source = kind.source_of(storage, name)
    try:
        _check_owner(storage, submission_id, source, {}, by_source, kind.local_configs_dir(storage), kind)
    except _Refused as e:
        raise SubmitRefused(str(e)) from None


def _seen(cursor: WatchCursor, f: ConfigFile, digest: str) -> bool:
    """Whether an earlier tick handled this file as it is now (same time as the cursor, same content)."""
    return f.mtime == cursor.ts and cursor.seen.get(f.name) == digest


def _validate(
    storage: StorageRoot,
    f: ConfigFile,
    source: str,
    text: str,
    base_dir: Path | None,
    kind: WatchedKind[Config, Outcome],
) -> tuple[str, list[str], Config]:
    try:
        loaded = kind.load(source, text, base_dir, CarriedFiles(storage))
    except ConfigError as e:
        raise _Refused(str(e)) from e
    except (
        OSError
    ):  # the storage failed us (e.g. fetching carried files), not the config: the next tick retries
        raise
    except Exception as e:  # a loader bug must not stop the other files
        logger.exception("validating %s failed unexpectedly", source)
        raise _Refused(f"{source}: could not be validated ({type(e).__name__}: {e})") from e
    eval_set_id = kind.configured_id(loaded)
    key = kind.id_key
    if not eval_set_id:
        try:
            eval_set_id = eval_set_id_from_filename(f.stem)
        except ValueError as e:
            raise _Refused(
                f"{source}: {key}: the file sets no {key} and its name {f.stem!r} cannot be one ({e}). "
                f"Add `{key}: <id>` to the file or rename it."
            ) from e
    return eval_set_id, list(loaded.warnings), loaded


def _check_owner(
    storage: StorageRoot,
    eval_set_id: str,
    source: str,
    claimed: Mapping[str, str],
    by_source: Mapping[str, ConfigFile],
    base_dir: Path | None,
    kind: WatchedKind[Config, Outcome],
) -> None:
    """Refuse ``source`` if another config file in the folder already owns ``eval_set_id`` (see module doc)."""
    owner = claimed.get(eval_set_id)
    if owner is None:
        try:
            owner = read_submission(storage, eval_set_id, kind.submissions).source
        except (SubmissionNotFoundError, ConfigError):  # none, or one nobody can use: it owns nothing
            return
        owner_file = by_source.get(owner)
        if (
            owner == source
            or owner_file is None
            or _claimed_id(storage, owner_file, owner, base_dir, kind) != eval_set_id
        ):
            return
    if owner == source:
        return
    raise _Refused(
        f"{source}: {kind.id_key}: {kind.what} {eval_set_id!r} already belongs to {owner}, so this file was not "
        f"submitted. Give this file its own {kind.id_key} (or rename it if the id comes from the file name), or edit "
        f"{owner.rsplit('/', 1)[-1]} to change that {kind.what}."
    )


def _claimed_id(
    storage: StorageRoot,
    f: ConfigFile,
    source: str,
    base_dir: Path | None,
    kind: WatchedKind[Config, Outcome],
) -> str | None:
    """The id a config file currently resolves to, or None if it is unreadable or invalid."""
    try:
        text = decode_yaml_bytes(read_bounded(f.path, follow_symlinks=False), file=source)
        loaded = kind.load(source, text, base_dir, CarriedFiles(storage))
        return kind.configured_id(loaded) or eval_set_id_from_filename(f.stem)
    except Exception:
        return None


def _reject(f: ConfigFile, source: str, message: str) -> Rejected:
    try:
        written: str | None = str(write_error_file(f.path, message))
    except Exception:
        logger.exception("could not write the error file for %s", source)
        written = None
    return Rejected(f.name, source, message, written)


def _remove_error_quietly(f: ConfigFile) -> None:
    try:
        remove_error_file(f.path)
    except Exception:
        logger.exception("could not remove the stale error file for %s", f.name)
