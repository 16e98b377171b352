"""Submitting eval sets and scans over HTTP: the body is the config, checked exactly as ``hawk validate`` and the
configs sensor check it (``config.loader``, strict, then ``intake.submit``), written to the configs folder with the
caller as its submitter. A config naming local files comes with them (``api.carried_upload``): they are laid out in
a private folder and carried from there exactly as a local ``hawk eval-set`` carries them. Any refusal names the
field and writes nothing.

Blocking (storage and YAML work): called from a worker thread.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hawk_dagster.access.policy import can_submit, can_view
from hawk_dagster.access.principal import Principal
from hawk_dagster.access.stored_groups import current_rules, eval_set_groups_of, required_for_submission
from hawk_dagster.api.carried_upload import ReceivedBundle, require_named, unpack
from hawk_dagster.api.errors import ApiError, not_found
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.config.ids import generate_eval_set_id
from hawk_dagster.config.loader import load_eval_set_config, load_scan_config
from hawk_dagster.config.local_files import LocalReference, eval_set_references, scan_references
from hawk_dagster.intake.carry import CarryError, CarryLimits
from hawk_dagster.intake.submit import submit_to_configs_folder
from hawk_dagster.intake.submitter import submitted_by, with_marks
from hawk_dagster.intake.watch import SubmitRefused, refuse_if_claimed
from hawk_dagster.storage.carried import FILES
from hawk_dagster.storage.root import EVALS, SCANS, StorageRoot
from hawk_dagster.storage.submissions import Kind, SubmissionNotFoundError, read_submission

if TYPE_CHECKING:
    from sqlalchemy import Engine

log = logging.getLogger(__name__)

BODY_NAME = "config.yaml"
"""How the body is named in messages (it has no file name)."""


@dataclass(frozen=True)
class Accepted:
    id: str
    config_path: str
    """Where the config landed in the configs folder (the sensor picks it up from there)."""
    carried: dict[str, Any] | None = None
    """The bundle stored with it (``bundle_id``, ``files``, ``bytes``), when the config named local files."""


Check = Callable[[StorageRoot, str, Principal, "Received", CarryLimits], Accepted]
"""A submission of one kind: :func:`submit_eval_set` or :func:`submit_scan`."""


@dataclass(frozen=True)
class Received:
    """A submission's private working folder: where the config's relative paths resolve (its carried files laid
    out around it, or nothing), and the folder standing for the bundle's ``files/``."""

    config_dir: Path
    files_dir: Path
    bundle: ReceivedBundle | None

    def hide(self, message: str) -> str:
        """``message`` without the server's private folders (they mean nothing to a caller)."""
        shown_as = (
            (self.config_dir, "."),
            (self.files_dir, "<carried files>"),
            (self.files_dir.parent, "<upload>"),
        )
        for folder, shown in shown_as:
            for form in (str(folder.resolve()), str(folder)):
                message = message.replace(form, shown)
        return message


@contextlib.contextmanager
def received(bundle: ReceivedBundle | None) -> Iterator[Received]:
    """The carried files unpacked (checked against their manifest) in a folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="hawk-api-") as work:
        files_dir = Path(work) / FILES
        config_dir = unpack(bundle, Path(work)) if bundle is not None else files_dir
        config_dir.mkdir(parents=True, exist_ok=True)
        yield Received(config_dir, files_dir, bundle)


def config_error(ex: ConfigError, where: Received) -> ApiError:
    """422 naming the first issue's field; the server's own folders are not named."""
    first = ex.issues[0]
    return ApiError(422, where.hide(str(ex)), code="invalid_config", field=first.path or None)


def block_style(text: str) -> str:
    """The config with a block-style top level: a flow-style document (JSON, ``{a: 1}``) is dumped again as block
    YAML, so the id line the submission adds lands inside the mapping. Block documents are kept as written."""
    import yaml

    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return text  # the loader says what is wrong with it
    if not isinstance(node, yaml.MappingNode) or not node.flow_style:
        return text
    dumped: str = yaml.safe_dump(yaml.safe_load(text), sort_keys=False, allow_unicode=True)
    return dumped


def _refuse_taken_id(
    storage: StorageRoot, kind: Kind, what: str, submission_id: str, principal: Principal
) -> None:
    """An id already submitted by someone else is theirs: submitting it again would replace their config."""
    try:
        existing = read_submission(storage, submission_id, kind)
    except (SubmissionNotFoundError, ConfigError):
        return
    if existing.created_by != principal.subject and not principal.is_admin:
        field = "eval_set_id" if kind == EVALS else "scan_id"
        raise ApiError(
            409, f"{what} id {submission_id!r} is taken; choose another {field}", code="conflict", field=field
        )


def _submit(
    storage: StorageRoot,
    kind: Any,
    text: str,
    submission_id: str,
    carried: str | None,
    where: Received,
    refs: list[LocalReference],
    limits: CarryLimits,
) -> Accepted:
    what = "eval set" if kind.submissions == EVALS else "scan"
    try:
        refuse_if_claimed(storage, kind, submission_id, f"{submission_id}.yaml")
    except SubmitRefused as ex:
        folder = kind.source_of(storage, "").rstrip("/") + "/"
        raise ApiError(409, str(ex).replace(folder, ""), code="conflict", field=kind.id_key) from None
    try:
        submitted = submit_to_configs_folder(
            storage,
            kind,
            text=text,
            base_dir=where.config_dir,
            refs=refs,
            submission_id=submission_id,
            already_carried=carried,
            limits=limits,
        )
    except CarryError as ex:
        message = where.hide(str(ex).replace(kind.source_of(storage, f"{submission_id}.yaml"), BODY_NAME))
        raise ApiError(422, f"this {what} cannot be submitted: {message}", code="invalid_config",
                       field=ex.field or None) from None  # fmt: skip
    manifest = submitted.manifest
    bundle = (
        None
        if manifest is None
        else {"bundle_id": manifest.bundle_id, "files": len(manifest.files), "bytes": manifest.total_bytes}
    )
    return Accepted(submission_id, str(submitted.target), bundle)


def _refuse_unless_holding(principal: Principal, required: frozenset[str], what: str) -> None:
    if not can_submit(principal, required):
        missing = sorted(required - principal.groups)
        raise ApiError(
            403,
            f"{what} needs model group{'s' if len(missing) != 1 else ''} {', '.join(missing)}, which you do not hold",
            code="forbidden",
        )


def _groups_file_error(ex: ConfigError) -> ApiError:
    """The deployment's model-groups file cannot be used: nothing can be submitted until its operators fix it (the
    file's content is theirs, not the caller's, so it is logged, not shown)."""
    log.error("model-groups file unusable, submissions refused: %s", ex)
    return ApiError(
        503, "the deployment's model-groups file cannot be used; tell its operators", code="not_ready"
    )


def submit_received(
    submit: Check,
    storage: StorageRoot,
    text: str,
    principal: Principal,
    bundle: ReceivedBundle | None,
    limits: CarryLimits,
) -> Accepted:
    """Check and submit a config with the files it carries (``bundle``; None: the config alone), laid out in a
    private folder for the length of the submission."""
    with received(bundle) as where:
        return submit(storage, block_style(text), principal, where, limits)


def submit_eval_set(
    storage: StorageRoot, text: str, principal: Principal, where: Received, limits: CarryLimits
) -> Accepted:
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND

    try:
        loaded = load_eval_set_config(BODY_NAME, text=text, base_dir=where.config_dir, strict=True)
    except ConfigError as ex:
        raise config_error(ex, where) from None
    refs = eval_set_references(loaded.config)
    require_named(where.config_dir, refs, where.bundle, limits, where.hide)
    try:
        required = required_for_submission(storage, loaded.config)
    except ConfigError as ex:
        raise _groups_file_error(ex) from None
    _refuse_unless_holding(principal, required, "this eval set")
    eval_set_id = loaded.config.eval_set_id or generate_eval_set_id(loaded.config.name)
    _refuse_taken_id(storage, EVALS, "eval set", eval_set_id, principal)
    return _submit(storage, EVAL_SET_CONFIGS_KIND, with_marks(text, principal.subject), eval_set_id,
                   loaded.config.carried_files, where, refs, limits)  # fmt: skip


def submit_scan(
    storage: StorageRoot, text: str, principal: Principal, where: Received, limits: CarryLimits
) -> Accepted:
    from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND
    from hawk_dagster.scans.sources import UnknownEvalSetError, resolve_eval_sets

    try:
        loaded = load_scan_config(BODY_NAME, text=text, base_dir=where.config_dir)
    except ConfigError as ex:
        raise config_error(ex, where) from None
    refs = scan_references(loaded.config)
    require_named(where.config_dir, refs, where.bundle, limits, where.hide)
    named = [s.eval_set_id for s in loaded.config.transcripts.sources if s.eval_set_id]
    unreadable = ApiError(
        422,
        f"transcripts.sources: the scan names or matches eval sets you cannot read (named: {', '.join(named) or 'none'})",
        code="invalid_config",
        field="transcripts.sources",
    )
    try:
        reads = resolve_eval_sets(storage, loaded.config)
    except UnknownEvalSetError:
        raise unreadable from None
    try:
        sources = eval_set_groups_of(storage, reads, current_rules(storage))
        required = required_for_submission(storage, loaded.config)
    except ConfigError as ex:
        raise _groups_file_error(ex) from None
    except UnknownEvalSetError:
        raise unreadable from None
    if not all(can_view(principal, sources.get(eval_set_id, ())) for eval_set_id in reads):
        raise unreadable  # a hidden eval set answers as an absent one (one without groups is closed)
    _refuse_unless_holding(principal, required, "this scan")
    scan_id = loaded.config.scan_id or generate_eval_set_id(loaded.config.name, "scan")
    _refuse_taken_id(storage, SCANS, "scan", scan_id, principal)
    return _submit(storage, SCAN_CONFIGS_KIND, with_marks(text, principal.subject), scan_id,
                   loaded.config.carried_files, where, refs, limits)  # fmt: skip


def resume_scan(storage: StorageRoot, engine: Engine, scan_id: str, principal: Principal) -> Accepted:
    """Submit the scan's own config again with a fresh resume mark: new content, so the sensor starts its cells
    again, and each cell's runner resumes Scout's incomplete scan (only what errored runs again). The submitter
    stays the original one."""
    from hawk_dagster.intake.carry import write_atomically
    from hawk_dagster.scans.intake import SCAN_CONFIGS_KIND

    try:
        submission = read_submission(storage, scan_id, SCANS)
    except (SubmissionNotFoundError, ConfigError):
        raise not_found("scan") from None
    if not can_view(principal, _scan_groups(engine, storage, scan_id)):
        raise not_found("scan")  # the same answer as an absent scan
    subject = submitted_by(submission.config_text) or submission.created_by
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    text = with_marks(submission.config_text, subject, resumed_at=now)
    name = f"{scan_id}.yaml"
    folder_prefix = SCAN_CONFIGS_KIND.source_of(storage, "").rstrip("/") + "/"
    if submission.source.startswith(folder_prefix) and "/" not in submission.source[len(folder_prefix) :]:
        name = submission.source[
            len(folder_prefix) :
        ]  # the file that owns the scan id, when it came from the folder
    target = SCAN_CONFIGS_KIND.configs_dir(storage) / name
    write_atomically(target, text, local=storage.is_local)
    return Accepted(scan_id, str(target))


def _scan_groups(engine: Engine, storage: StorageRoot, scan_id: str) -> frozenset[str]:
    """The groups a scan requires: as the warehouse holds them, else as stored beside its results; neither: none
    (closed to all but administrators)."""
    from sqlalchemy import select

    from hawk_dagster.access.stored_groups import read_stored_groups
    from hawk_dagster.warehouse.schema.models import Scan

    with engine.connect() as conn:
        stored = conn.execute(select(Scan.model_groups).where(Scan.scan_id == scan_id)).scalar()
    if stored:
        return frozenset(stored)
    beside = read_stored_groups(storage, SCANS, scan_id)
    return frozenset(beside.groups) if beside is not None else frozenset()
