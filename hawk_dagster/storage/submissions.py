"""A submitted eval set or scan: the user's YAML kept verbatim next to its results, plus where it came from.

Every entry point (``hawk local eval-set``, the configs sensor, ``hawk eval-set``) records a submission before it
asks Dagster for a run, and the ``eval_logs`` asset reads it back by partition key. So a run re-launched from the
Dagster UI, or resumed after a crash, runs exactly the config that was submitted, with relative task paths still
resolving against the folder the config came from, or inside the files carried with it (``carried_files``). Scans are recorded the same way under ``scans/<scan_id>/``.
"""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.config.errors import ConfigError, ConfigIssue
from hawk_dagster.config.yaml_source import UnreadableFileError, YamlReadError, read_bounded, read_yaml_file
from hawk_dagster.storage.carried import CarriedFiles
from hawk_dagster.storage.root import EVALS, SCANS, StorageRoot

if TYPE_CHECKING:
    from upath import UPath

Kind = Literal["evals", "scans"]

CONFIG_SNAPSHOT = ".config.yaml"
SUBMISSION_RECORD = ".submission.json"


class SubmissionNotFoundError(LookupError):
    """The eval set or scan has no recorded submission (its partition was added by hand, or the root changed)."""


@dataclass(frozen=True)
class Submission:
    eval_set_id: str
    config_text: str
    source: str
    base_dir: str | None
    created_by: str
    submitted_at: str
    config_sha256: str

    @classmethod
    def new(
        cls,
        eval_set_id: str,
        config_text: str,
        *,
        source: str,
        base_dir: str | None,
        created_by: str | None = None,
    ) -> Submission:
        return cls(
            eval_set_id=eval_set_id,
            config_text=config_text,
            source=source,
            base_dir=base_dir,
            created_by=created_by or _current_user(),
            submitted_at=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            config_sha256=hashlib.sha256(config_text.encode()).hexdigest(),
        )


def _current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no passwd entry in some containers
        return "unknown"


def write_submission(storage: StorageRoot, submission: Submission, kind: Kind = EVALS) -> None:
    """Write the snapshot and its record into ``evals/<id>/`` or ``scans/<id>/`` (creating the folder).

    For scans, ``Submission.eval_set_id`` holds the scan id.
    """
    log_dir = storage.path(kind, submission.eval_set_id)
    log_dir.mkdir(parents=True, exist_ok=True)
    log_dir.joinpath(CONFIG_SNAPSHOT).write_text(submission.config_text)
    record = {k: v for k, v in asdict(submission).items() if k != "config_text"}
    log_dir.joinpath(SUBMISSION_RECORD).write_text(json.dumps(record, indent=2) + "\n")


def read_submission(storage: StorageRoot, eval_set_id: str, kind: Kind = EVALS) -> Submission:
    """One read per file (the scan sensors read every scan each tick; on S3 each read is a request), each within
    the YAML size limit; ``SubmissionNotFoundError`` when there is none, ``ConfigError`` when it cannot be used."""
    log_dir = storage.path(kind, eval_set_id)
    snapshot = log_dir.joinpath(CONFIG_SNAPSHOT)
    try:
        text = read_yaml_file(snapshot, file=str(snapshot))
    except YamlReadError as exc:
        if not exc.missing:  # too big, not UTF-8, not a file: the storage root is shared, so it can happen
            raise ConfigError(str(snapshot), exc.issues) from None
        if kind == SCANS:
            raise SubmissionNotFoundError(
                f"scan {eval_set_id!r} has no submitted config at {snapshot}; submit it with `hawk local scan "
                f"CONFIG`, `hawk scan run CONFIG` or by dropping the YAML into {storage.scan_configs}"
            ) from None
        raise SubmissionNotFoundError(
            f"eval set {eval_set_id!r} has no submitted config at {snapshot}; submit it with "
            f"`hawk local eval-set CONFIG`, `hawk eval-set CONFIG` or by dropping the YAML into {storage.eval_set_configs}"
        ) from None
    record = _read_record(log_dir.joinpath(SUBMISSION_RECORD))
    return Submission(
        eval_set_id=eval_set_id,
        config_text=text,
        source=record.get("source", str(snapshot)),
        base_dir=record.get("base_dir"),
        created_by=record.get("created_by", "unknown"),
        submitted_at=record.get("submitted_at", ""),
        config_sha256=hashlib.sha256(text.encode()).hexdigest(),
    )


def _read_record(path: UPath) -> dict[str, Any]:
    """The submission record (``{}`` when there is none); ``ConfigError`` when it is not one we wrote."""
    try:
        record = json.loads(read_bounded(path))
    except UnreadableFileError as exc:
        if exc.missing:
            return {}
        problem = exc.found
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or nested too deep for the decoder
        problem = f"text that is not a JSON object ({type(exc).__name__})"
    else:
        if isinstance(record, dict):
            return record
        problem = f"JSON that is not an object ({type(record).__name__})"
    issue = ConfigIssue(
        file=str(path), path="", found=problem, allowed="the JSON object hawk wrote at submission"
    )
    raise ConfigError(str(path), [issue])


Loaded = TypeVar("Loaded")

MEMO_SIZE = 1024
"""Validated configs a memo keeps before it starts afresh."""


@dataclass(frozen=True)
class Submitted(Generic[Loaded]):
    """A submission and its config as the current code validates it (``Loaded``: the kind's loader result)."""

    submission: Submission
    loaded: Loaded


ConfigLoader = Callable[[str, str, Path | None, CarriedResolver | None], Loaded]
"""(source, text, base dir, where its carried files are) -> the loaded config; raises ``ConfigError``."""


def load_submitted(
    storage: StorageRoot,
    submission_id: str,
    kind: Kind,
    load: ConfigLoader[Loaded],
    memo: dict[tuple[str, ...], Loaded] | None = None,
) -> Submitted[Loaded]:
    """Read a submission and validate its config again, once: the one way every step gets a submitted config.

    Validation runs again on purpose: the platform may have been upgraded since submission, and nothing must run
    from a config the current code would refuse. ``memo`` keeps validated configs by their exact text, for loaders
    whose result depends on nothing else (a long-lived process that reads the same configs every tick validates each
    version once). A config that carried files with it (``carried_files``) resolves its paths inside them, fetched
    to this machine first when the root is an object store (``hawk_dagster.storage.carried``).
    """
    submission = read_submission(storage, submission_id, kind)
    key = (
        storage.uri,
        kind,
        submission_id,
        submission.config_sha256,
        submission.source,
        submission.base_dir or "",
    )
    loaded = memo.get(key) if memo is not None else None
    if loaded is None:
        base_dir = Path(submission.base_dir) if submission.base_dir else None
        loaded = load(submission.source, submission.config_text, base_dir, CarriedFiles(storage))
        if memo is not None:
            if len(memo) >= MEMO_SIZE:
                memo.clear()
            memo[key] = loaded
    return Submitted(submission, loaded)
