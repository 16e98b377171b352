"""Import an eval set's Inspect logs into the warehouse.

Rules:

- **Newest log per task_id wins**, by the rule the runner's summary uses too (``hawk_runner.log_choice``: newest
  ``created``, ties broken by status, completed samples and file name). Logs whose header cannot be read take no
  part in the choice:
  they are reported as failed, or as superseded when their file name shows they are older than a readable log of
  the same task (a leftover of a killed run must not fail every later import). A log older than the one already
  imported for its task is reported as superseded, so a stale file never overwrites newer rows.
- **The newest log is the truth for its eval:** samples whose uuid is not in it are deleted (a sample re-run after an
  error gets a new uuid for the same id and epoch), samples upsert on ``uuid`` (a uuid owned by another eval fails
  the log), scores upsert on (sample, scorer, key) and scores a sample no longer has are deleted; a re-imported
  sample's messages and sample models are replaced wholesale. The eval's model roles upsert on (eval, role).
- **A log still ``started``** (a killed or running eval) imports as partial: the samples flushed so far, status
  ``started``. The next import of the completed (or resumed) log completes the same eval row in place.
- **Unchanged bytes are a no-op:** a log whose fingerprint (sha256 of a local file, ETag on object stores) equals
  the stored ``eval.file_hash`` is skipped without writing anything.
- **One transaction per log**, holding a transaction-scoped advisory lock keyed on the eval set id, so two importers
  of the same eval set serialise per log and the second one finds the first one's hash and skips. A log that fails
  (corrupt zip, truncated file, bad data) rolls back alone: earlier rows of that eval stay as they were and the
  other logs still import. Deadlocks/serialisation failures are retried; a database that cannot be reached raises
  (it is not the log's fault, and the caller should retry the whole import).
- **Reading** (:mod:`hawk_dagster.warehouse.ingest.eval_zip`): headers as ``read_eval_log(header_only=True)`` reads them,
  without the per-sample reductions; then the ``.eval`` zip is opened once (object-store logs are downloaded to a
  temporary file first), the sample list comes from the raw summaries, and each ``samples/*.json`` member is
  decompressed and decoded with ``json.loads`` and turned into rows straight away
  (:mod:`hawk_dagster.warehouse.ingest.rows`), ``chunk_size`` samples at a time, so memory is bounded by a few chunks
  whatever the log's size. No pydantic models per sample, no per-sample zip directory reads (``read_eval_log_sample``
  re-reads the central directory for every sample: quadratic).
- **Writing** (:mod:`hawk_dagster.warehouse.ingest.writer`): per chunk, new samples, their scores, messages and sample
  models ``COPY``'d straight into their tables; samples the eval already holds through staging tables and set-based
  upserts. Reading runs one chunk ahead in a background thread, so parsing overlaps with the database's work on the
  previous chunk.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import math
import queue
import re
import threading
import time
import zipfile
from collections.abc import Generator, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import PurePosixPath
from typing import Any, TypeVar
from uuid import UUID

import fsspec
import psycopg
import psycopg.errors
from hawk_runner.log_choice import newest_per_task, parse_created, preference
from hawk_runner.log_facts import agent_label, headline
from inspect_ai.log import EvalLog, EvalResults, list_eval_logs
from pydantic import BaseModel
from pydantic_core import to_jsonable_python
from sqlalchemy import Connection, Engine, bindparam, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.types import Text

from hawk_dagster.warehouse.ingest.eval_zip import (
    SampleKey,
    SampleReadError,
    SampleSource,
    open_samples,
    read_log_header,
)
from hawk_dagster.warehouse.ingest.rows import SampleRows, sample_rows
from hawk_dagster.warehouse.ingest.writer import ChunkWriter
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, ModelRole, table_of

logger = logging.getLogger(__name__)

SAMPLE_CHUNK_SIZE = 250
"""Samples read, turned into rows and written per round: bounds memory (a few chunks of rows at a time)."""

READ_AHEAD = True
"""Parse the next chunk in a background thread while the database works on the current one."""

IMPORT_SETTINGS = {
    # Timestamps are COPY'd as Inspect's ISO strings; any without an offset are UTC.
    "TimeZone": "UTC",
    # Trigram GIN indexes take new rows into their pending list and merge it into the index when it outgrows this
    # limit (default 4MB); merging larger batches with more memory measured ~20% faster for message text. The
    # writer merges what is left at the end of each log, so no index work is deferred past the import.
    "gin_pending_list_limit": "64MB",
    "work_mem": "256MB",
    "maintenance_work_mem": "256MB",
}
"""Settings for each log's import transaction (``SET LOCAL``)."""

_DEADLOCK_RETRIES = 3

_eval_table = table_of(Eval)
_eval_set_table = table_of(EvalSet)
_model_role_table = table_of(ModelRole)

T = TypeVar("T")

__all__ = [
    "ImportReport",
    "LogImportResult",
    "LogStatus",
    "SampleReadError",
    "discover_logs",
    "eval_set_lock_key",
    "file_fingerprint",
    "import_eval_set",
    "import_log",
]


class LogStatus(StrEnum):
    """What happened to one log file."""

    IMPORTED = "imported"
    SKIPPED_UNCHANGED = "skipped_unchanged"
    SUPERSEDED = "superseded"
    FAILED = "failed"


@dataclass
class LogImportResult:
    """Outcome for one log file."""

    file: str
    task_id: str | None
    status: LogStatus
    samples: int = 0
    scores: int = 0
    messages: int = 0
    error: str | None = None
    eval_id: str | None = None
    log_status: str | None = None
    seconds: float = 0.0


@dataclass
class ImportReport:
    """Outcome of :func:`import_eval_set`: one entry per log file found, plus totals."""

    eval_set_id: str
    log_dir: str
    logs: list[LogImportResult] = field(default_factory=list)
    seconds: float = 0.0
    warehouse_description: str = ""
    """Where the rows went (the engine's URL, password redacted): for run metadata and CLI output."""

    def with_status(self, status: LogStatus) -> list[LogImportResult]:
        """Entries with the given status."""
        return [log for log in self.logs if log.status == status]

    @property
    def imported(self) -> list[LogImportResult]:
        """Logs whose rows were written."""
        return self.with_status(LogStatus.IMPORTED)

    @property
    def skipped(self) -> list[LogImportResult]:
        """Logs whose bytes were already imported (nothing written)."""
        return self.with_status(LogStatus.SKIPPED_UNCHANGED)

    @property
    def superseded(self) -> list[LogImportResult]:
        """Older logs of a task that has a newer one (stale files from killed or extended runs)."""
        return self.with_status(LogStatus.SUPERSEDED)

    @property
    def failed(self) -> list[LogImportResult]:
        """Logs that could not be read or written; their eval's earlier rows are untouched."""
        return self.with_status(LogStatus.FAILED)

    @property
    def imported_count(self) -> int:
        """Number of logs imported (for run metadata)."""
        return len(self.imported)

    @property
    def skipped_count(self) -> int:
        """Number of logs skipped as unchanged (for run metadata)."""
        return len(self.skipped)

    @property
    def ok(self) -> bool:
        """True when no log failed."""
        return not self.failed

    @property
    def samples(self) -> int:
        """Samples written by this import (skipped logs count zero)."""
        return sum(log.samples for log in self.logs)

    @property
    def scores(self) -> int:
        """Score rows written by this import."""
        return sum(log.scores for log in self.logs)

    @property
    def messages(self) -> int:
        """Message rows written by this import."""
        return sum(log.messages for log in self.logs)

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly form (for Dagster metadata and ``--json`` output)."""
        return {
            "eval_set_id": self.eval_set_id,
            "log_dir": self.log_dir,
            "warehouse": self.warehouse_description,
            "seconds": round(self.seconds, 3),
            "totals": {
                "logs": len(self.logs),
                **{status.value: len(self.with_status(status)) for status in LogStatus},
                "samples": self.samples,
                "scores": self.scores,
                "messages": self.messages,
            },
            "logs": [{**asdict(log), "status": log.status.value} for log in self.logs],
        }

    def summary(self) -> str:
        """One line for logs and the CLI."""
        counts = ", ".join(f"{len(self.with_status(s))} {s.value}" for s in LogStatus if self.with_status(s))
        return (
            f"eval set {self.eval_set_id}: {len(self.logs)} logs ({counts or 'none'}); "
            f"{self.samples} samples, {self.scores} scores, {self.messages} messages written in {self.seconds:.2f}s"
        )


@dataclass(frozen=True)
class LogCandidate:
    """A readable log file and its header."""

    location: str
    task_id: str
    header: EvalLog
    size: int | None

    @property
    def name(self) -> str:
        """File name without its directory, for messages."""
        return PurePosixPath(self.location).name

    @property
    def created(self) -> datetime:
        """``EvalSpec.created``: when the run that wrote this file started."""
        return parse_created(self.header.eval.created)

    def sort_key(self) -> tuple[datetime, int, int, str]:
        """Newest-wins order (``hawk_runner.log_choice``)."""
        results = self.header.results
        completed = results.completed_samples if results is not None else 0
        return preference(self.header.eval.created, self.header.status, completed, self.name)


@dataclass(frozen=True)
class UnreadableLog:
    """A log file whose header could not be read.

    ``superseded_by`` names a readable log of the same task (task_id and time from the file name) created after this
    file: such a file is a leftover (e.g. a run killed mid-write, then resumed) and does not fail the import.
    """

    location: str
    task_id: str | None
    error: str
    superseded_by: str | None = None


@dataclass
class LogSelection:
    """The logs of a log dir, split into the newest per task_id, the older ones, and unreadable files."""

    newest: dict[str, LogCandidate] = field(default_factory=dict)
    superseded: list[LogCandidate] = field(default_factory=list)
    unreadable: list[UnreadableLog] = field(default_factory=list)


def discover_logs(log_dir: str) -> LogSelection:
    """List the Inspect logs directly in ``log_dir`` (local path or ``s3://`` URI) and pick the newest per task_id."""
    selection = LogSelection()
    candidates: list[LogCandidate] = []
    try:
        infos = list_eval_logs(log_dir, recursive=False)
    except FileNotFoundError:
        infos = []  # nothing written yet
    for info in infos:
        try:
            header = read_log_header(info.name)
        except Exception as exc:  # corrupt, truncated or unreadable: report it, import the rest
            selection.unreadable.append(
                UnreadableLog(
                    info.name, info.task_id or None, _describe(info.name, "cannot read log header", exc)
                )
            )
            continue
        candidates.append(
            LogCandidate(location=info.name, task_id=header.eval.task_id, header=header, size=info.size)
        )
    selection.newest, selection.superseded = newest_per_task(
        candidates, lambda c: c.task_id, LogCandidate.sort_key
    )
    for index, bad in enumerate(selection.unreadable):
        newer = selection.newest.get(bad.task_id or "")
        written = _filename_time(bad.location)
        if newer is not None and written is not None and newer.created > written:
            selection.unreadable[index] = replace(bad, superseded_by=newer.location)
    return selection


_FILENAME_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2})-(\d{2})-(\d{2})([+-]\d{2})-(\d{2})_")


def _filename_time(location: str) -> datetime | None:
    """The creation time Inspect puts at the front of a log's file name (``2026-11-21T20-22-39-00-00_...``)."""
    match = _FILENAME_TIME.match(PurePosixPath(location).name)
    if match is None:
        return None
    day, hh, mm, ss, tz_h, tz_m = match.groups()
    try:
        return datetime.fromisoformat(f"{day}T{hh}:{mm}:{ss}{tz_h}:{tz_m}")
    except ValueError:
        return None


def eval_set_lock_key(eval_set_id: str) -> int:
    """The bigint key of the advisory lock that serialises imports of one eval set."""
    digest = hashlib.blake2b(f"hawk-import:{eval_set_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def file_fingerprint(location: str) -> tuple[str, int | None]:
    """Content fingerprint and size of a log file: ``sha256:<hex>`` locally, ``etag:<etag>`` on object stores.

    Taken before the file is read, so if the file changes while it is imported the stored fingerprint is the older
    one and the next import picks the change up.
    """
    fs, path = fsspec.core.url_to_fs(location)
    info = fs.info(path)
    size = info.get("size")
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    if "file" not in protocols and "local" not in protocols:
        etag = info.get("ETag") or info.get("etag")
        if etag:
            return f"etag:{str(etag).strip(chr(34))}", size
    digest = hashlib.sha256()
    with fs.open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}", size


def import_eval_set(
    engine: Engine,
    log_dir: str,
    eval_set_id: str,
    *,
    eval_set_name: str | None = None,
    config_snapshot: dict[str, Any] | None = None,
    created_by: str | None = None,
    tags: Sequence[str] | None = None,
    metadata: dict[str, Any] | None = None,
    model_groups: Sequence[str] | None = None,
    force: bool = False,
    chunk_size: int = SAMPLE_CHUNK_SIZE,
) -> ImportReport:
    """Import every task's newest log in ``log_dir`` into the warehouse as eval set ``eval_set_id``.

    Registers (upserts) the eval set row first, so a submission is visible before it has logs. ``force`` re-imports
    logs whose bytes are unchanged. Failed logs are reported, not raised; database outages raise.
    ``model_groups`` are the access groups the eval set requires (``hawk_dagster.access``); not given, a new row
    gets the default group (visible to administrators and holders of that group only) and a stored row keeps its own.
    """
    started = time.monotonic()
    report = ImportReport(
        eval_set_id=eval_set_id,
        log_dir=log_dir,
        warehouse_description=engine.url.render_as_string(hide_password=True),
    )
    _upsert_eval_set(
        engine,
        eval_set_id,
        name=eval_set_name,
        config=config_snapshot,
        created_by=created_by,
        tags=tags,
        metadata=metadata,
        log_dir=log_dir,
        model_groups=model_groups,
    )

    selection = discover_logs(log_dir)
    for bad in selection.unreadable:
        if bad.superseded_by is None:
            report.logs.append(
                LogImportResult(
                    file=bad.location, task_id=bad.task_id, status=LogStatus.FAILED, error=bad.error
                )
            )
        else:
            superseded_by = PurePosixPath(bad.superseded_by).name
            error = f"{bad.error}; ignored: superseded by the newer {superseded_by}"
            report.logs.append(
                LogImportResult(
                    file=bad.location, task_id=bad.task_id, status=LogStatus.SUPERSEDED, error=error
                )
            )
    for old in selection.superseded:
        report.logs.append(
            LogImportResult(
                file=old.location,
                task_id=old.task_id,
                status=LogStatus.SUPERSEDED,
                eval_id=old.header.eval.eval_id,
                log_status=old.header.status,
            )
        )
    for candidate in selection.newest.values():
        report.logs.append(
            _import_log_with_retry(engine, eval_set_id, candidate, force=force, chunk_size=chunk_size)
        )

    with engine.begin() as conn:
        conn.execute(
            update(_eval_set_table)
            .where(_eval_set_table.c.eval_set_id == eval_set_id)
            .values(last_imported_at=func.now(), updated_at=func.now())
        )
    report.logs.sort(key=lambda r: (r.task_id or "", r.status != LogStatus.IMPORTED, r.file))
    report.seconds = time.monotonic() - started
    logger.info(report.summary())
    for failed in report.failed:
        logger.error("import failed: %s", failed.error)
    return report


def import_log(
    engine: Engine, eval_set_id: str, location: str, *, chunk_size: int = SAMPLE_CHUNK_SIZE
) -> LogImportResult:
    """Re-import one log of an eval set the warehouse already holds (after ``hawk edit-samples`` rewrote it).

    The same rules as :func:`import_eval_set` for that log (newest per task, unchanged bytes skipped, one
    transaction), without listing and fingerprinting the eval set's other logs.
    """
    started = time.monotonic()
    try:
        header = read_log_header(location)
    except Exception as exc:
        return LogImportResult(
            file=location,
            task_id=None,
            status=LogStatus.FAILED,
            error=_describe(location, "cannot read log header", exc),
        )
    fs, path = fsspec.core.url_to_fs(location)
    candidate = LogCandidate(
        location=location, task_id=header.eval.task_id, header=header, size=fs.size(path)
    )
    result = _import_log_with_retry(engine, eval_set_id, candidate, force=False, chunk_size=chunk_size)
    result.seconds = time.monotonic() - started
    return result


# ---------------------------------------------------------------------------------------------------------------
# one log


def _import_log_with_retry(
    engine: Engine, eval_set_id: str, candidate: LogCandidate, *, force: bool, chunk_size: int
) -> LogImportResult:
    started = time.monotonic()
    result: LogImportResult
    for attempt in range(1, _DEADLOCK_RETRIES + 1):
        try:
            result = _import_log(engine, eval_set_id, candidate, force=force, chunk_size=chunk_size)
            break
        except DBAPIError as exc:
            if isinstance(exc.orig, psycopg.errors.TransactionRollback) and attempt < _DEADLOCK_RETRIES:
                logger.warning(
                    "retrying %s after %s (attempt %d)", candidate.name, type(exc.orig).__name__, attempt
                )
                time.sleep(0.2 * attempt)
                continue
            if isinstance(exc, OperationalError) or exc.connection_invalidated:
                raise  # the database is unreachable: not this log's fault, let the caller retry the whole import
            result = _failed(candidate, _describe(candidate.name, "database rejected the data", exc))
            break
        except psycopg.Error as exc:  # raised by the COPY writer, which talks to psycopg directly
            if isinstance(exc, psycopg.errors.TransactionRollback) and attempt < _DEADLOCK_RETRIES:
                logger.warning(
                    "retrying %s after %s (attempt %d)", candidate.name, type(exc).__name__, attempt
                )
                time.sleep(0.2 * attempt)
                continue
            if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                raise
            result = _failed(candidate, _describe(candidate.name, "database rejected the data", exc))
            break
        except Exception as exc:
            logger.exception("importing %s failed", candidate.location)
            result = _failed(candidate, _describe(candidate.name, "cannot import log", exc))
            break
    result.seconds = time.monotonic() - started
    return result


def _failed(candidate: LogCandidate, error: str) -> LogImportResult:
    return LogImportResult(
        file=candidate.location,
        task_id=candidate.task_id,
        status=LogStatus.FAILED,
        error=error,
        eval_id=candidate.header.eval.eval_id,
        log_status=candidate.header.status,
    )


def _import_log(
    engine: Engine, eval_set_id: str, candidate: LogCandidate, *, force: bool, chunk_size: int
) -> LogImportResult:
    header = candidate.header
    result = LogImportResult(
        file=candidate.location,
        task_id=candidate.task_id,
        status=LogStatus.IMPORTED,
        eval_id=header.eval.eval_id,
        log_status=header.status,
    )
    file_hash, size = file_fingerprint(candidate.location)

    # Cheap check without the lock: the common re-import case writes nothing and waits for nobody.
    if not force:
        with engine.connect() as conn:
            stored = _stored_eval(conn, eval_set_id, candidate.task_id)
        if stored is not None and stored.file_hash == file_hash:
            result.status = LogStatus.SKIPPED_UNCHANGED
            return result

    with engine.begin() as conn:
        # Reading chunks from object storage can leave the transaction idle between statements.
        conn.execute(text("SET LOCAL idle_in_transaction_session_timeout = 0"))
        for name, value in IMPORT_SETTINGS.items():
            conn.execute(select(func.set_config(name, value, True)))  # SET LOCAL: this transaction only
        conn.execute(select(func.pg_advisory_xact_lock(eval_set_lock_key(eval_set_id))))
        stored = _stored_eval(conn, eval_set_id, candidate.task_id)
        if stored is not None and stored.file_hash == file_hash and not force:
            result.status = LogStatus.SKIPPED_UNCHANGED  # another importer got here first
            return result
        if (
            stored is not None
            and stored.log_created_at is not None
            and stored.log_created_at > candidate.created
        ):
            result.status = LogStatus.SUPERSEDED
            result.error = (
                f"{candidate.name}: a newer log of this task (created {stored.log_created_at.isoformat()}) "
                "is already imported"
            )
            return result

        with open_samples(candidate.location) as source:
            keys = source.keys()
            eval_pk = _upsert_eval(conn, eval_set_id, candidate, len(keys), file_hash=file_hash, size=size)
            _replace_model_roles(conn, eval_pk, header)
            # Samples the newest log no longer has go first, so UNIQUE(eval_pk, id, epoch) holds for re-runs of a
            # sample (same id and epoch, new uuid).
            keep = [key.uuid or f"{candidate.task_id}:{key.id}:{key.epoch}" for key in keys]
            conn.execute(
                text(
                    "DELETE FROM sample WHERE eval_pk = :eval_pk AND uuid NOT IN (SELECT unnest(:keep))"
                ).bindparams(bindparam("keep", type_=ARRAY(Text))),
                {"eval_pk": eval_pk, "keep": keep},
            )
            writer = ChunkWriter(conn, eval_pk)
            headline = _Headline.of(header)
            chunks = _sample_chunks(source, keys, chunk_size, candidate.task_id, header.eval.model, headline)
            # closing(): the reader thread stops before the zip is closed, even when a write fails
            with contextlib.closing(read_ahead(chunks) if READ_AHEAD else chunks) as ready:
                for chunk in ready:
                    counts = writer.write(chunk)
                    result.samples += counts.samples
                    result.scores += counts.scores
                    result.messages += counts.messages
            writer.finish()
    return result


def _sample_chunks(
    source: SampleSource,
    keys: Sequence[SampleKey],
    chunk_size: int,
    task_id: str,
    eval_model: str,
    headline: _Headline,
) -> Generator[list[SampleRows], None, None]:
    """Rows of the log's samples, ``chunk_size`` samples at a time (each sample parsed, turned into rows, dropped)."""
    for start in range(0, len(keys), max(1, chunk_size)):
        chunk = keys[start : start + max(1, chunk_size)]
        try:
            rows: list[SampleRows] = []
            for key in chunk:
                data, raw = source.read(key)
                rows.append(
                    sample_rows(
                        data, task_id=task_id, eval_model=eval_model, headline=headline.flags, raw=raw
                    )
                )
                del data, raw
        except Exception as exc:
            shown = ", ".join(key.label() for key in chunk[:3]) + (" ..." if len(chunk) > 3 else "")
            raise SampleReadError(f"reading samples {shown}: {type(exc).__name__}: {exc}") from exc
        yield rows


def read_ahead(items: Iterator[T], depth: int = 1) -> Generator[T, None, None]:
    """Iterate ``items`` in a background thread, up to ``depth`` items ahead of the consumer.

    The importer's reader (decompressing and parsing JSON) then overlaps with the database work of the previous chunk,
    which waits on the server with the GIL released. Exceptions raised by the reader surface in the consumer; when
    the consumer stops early the reader stops at its next item.
    """
    box: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def put(item: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                box.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
            put(("end", None))
        except BaseException as exc:
            put(("error", exc))

    thread = threading.Thread(target=run, name="hawk-import-reader", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = box.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(queue.Empty):
                box.get_nowait()
            thread.join(timeout=0.05)


def _replace_model_roles(conn: Connection, eval_pk: UUID, header: EvalLog) -> None:
    """Upsert the eval's model roles on (eval_pk, role) and delete roles the log no longer has."""
    roles = header.eval.model_roles or {}
    rows = [
        {
            "eval_pk": eval_pk,
            "role": _clean(role),
            "model": _clean(config.model),
            "config": _jsonable(config.config) or {},
            "base_url": _clean(config.base_url),
            "args": _jsonable(config.args) or {},
        }
        for role, configs in roles.items()
        # A role may name several models (Inspect picks among them); the table holds one model per role: the first.
        if (config := configs[0] if isinstance(configs, list) else configs) is not None
    ]
    if rows:
        stmt = insert(_model_role_table)
        stmt = stmt.on_conflict_do_update(
            index_elements=[_model_role_table.c.eval_pk, _model_role_table.c.role],
            set_={
                **{c: stmt.excluded[c] for c in ("model", "config", "base_url", "args")},
                "updated_at": func.now(),
            },
        )
        conn.execute(stmt, rows)
    conn.execute(
        delete(_model_role_table).where(
            _model_role_table.c.eval_pk == eval_pk,
            _model_role_table.c.role.not_in([row["role"] for row in rows]),
        )
    )


@dataclass(frozen=True)
class _StoredEval:
    pk: UUID
    file_hash: str
    log_created_at: datetime | None


def _stored_eval(conn: Connection, eval_set_id: str, task_id: str) -> _StoredEval | None:
    row = conn.execute(
        select(_eval_table.c.pk, _eval_table.c.file_hash, _eval_table.c.log_created_at).where(
            _eval_table.c.eval_set_id == eval_set_id, _eval_table.c.task_id == task_id
        )
    ).one_or_none()
    return None if row is None else _StoredEval(row.pk, row.file_hash, row.log_created_at)


@dataclass(frozen=True)
class _Headline:
    """Which score rows are the headline: the resolved headline score, else the task's first scorer."""

    scorer: str | None
    score: str | None
    metric: str | None
    value: float | None

    @classmethod
    def of(cls, header: EvalLog) -> _Headline:
        resolved = headline(header)  # the runner's summary reads it the same way
        if resolved is not None:
            return cls(resolved.scorer, resolved.score, resolved.metric, resolved.value)
        scorers = header.eval.scorers or []
        return cls(scorers[0].name if scorers else None, None, None, None)

    def flags(self, scorer: str, keys: list[str]) -> list[bool]:
        if scorer != self.scorer:
            return [False] * len(keys)
        if self.score is not None and self.score != scorer and self.score in keys:
            return [key == self.score for key in keys]
        # scalar score, or a dict scorer whose headline key is unknown (unscored log): the first key
        return [i == 0 for i in range(len(keys))]


def _upsert_eval(
    conn: Connection,
    eval_set_id: str,
    candidate: LogCandidate,
    sample_count: int,
    *,
    file_hash: str,
    size: int | None,
) -> UUID:
    header = candidate.header
    spec, stats, results = header.eval, header.stats, header.results
    headline = _Headline.of(header)
    epochs = spec.config.epochs
    total = results.total_samples if results is not None else None
    if total is None and spec.dataset.samples is not None:
        total = spec.dataset.samples * (epochs or 1)
    completed = results.completed_samples if results is not None else sample_count
    row: dict[str, Any] = {
        "eval_set_id": eval_set_id,
        "task_id": candidate.task_id,
        "eval_id": spec.eval_id,
        "run_id": spec.run_id,
        "inspect_eval_set_id": spec.eval_set_id,
        "task_name": _clean(spec.task),
        "task_version": None if spec.task_version is None else str(spec.task_version),
        "task_file": _clean(spec.task_file),
        "task_registry_name": _clean(spec.task_registry_name),
        "task_args": _jsonable(spec.task_args) or {},
        "agent": _clean(agent_label(header)),
        "plan": _jsonable(header.plan),
        "model": _clean(spec.model),
        "model_args": _jsonable(spec.model_args) or {},
        "model_generate_config": _jsonable(spec.model_generate_config) or {},
        "model_roles": _jsonable(spec.model_roles) or None,
        "epochs": epochs,
        "status": header.status,
        "total_samples": total,
        "completed_samples": completed,
        "log_created_at": _parse_datetime(spec.created),
        "started_at": _parse_datetime(stats.started_at),
        "completed_at": _parse_datetime(stats.completed_at),
        "error_message": _clean(header.error.message) if header.error else None,
        "error_traceback": _clean(header.error.traceback) if header.error else None,
        "location": candidate.location,
        "file_hash": file_hash,
        "file_size_bytes": size,
        "model_usage": _jsonable(stats.model_usage) or {},
        "headline_scorer": headline.scorer if headline.metric is not None else None,
        "headline_score": headline.score,
        "headline_metric": headline.metric,
        "headline_value": headline.value,
        "tags": [_clean(t) for t in spec.tags or []],
        "metadata": _jsonable(spec.metadata) or {},
        "imported_at": func.now(),
        "config": _jsonable(spec.config) or {},
        "message_limit": spec.config.message_limit,
        "token_limit": spec.config.token_limit,
        "time_limit_seconds": spec.config.time_limit,
        "working_limit_seconds": spec.config.working_limit,
        "metrics": _score_metrics(results),
    }
    stmt = insert(_eval_table).values(row)
    upsert = stmt.on_conflict_do_update(
        index_elements=[_eval_table.c.eval_set_id, _eval_table.c.task_id],
        set_={
            **{c: stmt.excluded[c] for c in row if c not in ("eval_set_id", "task_id")},
            "updated_at": func.now(),
        },
    ).returning(_eval_table.c.pk)
    pk: UUID = conn.execute(upsert).scalar_one()
    return pk


def _upsert_eval_set(
    engine: Engine,
    eval_set_id: str,
    *,
    name: str | None,
    config: dict[str, Any] | None,
    created_by: str | None,
    tags: Sequence[str] | None,
    metadata: dict[str, Any] | None,
    log_dir: str,
    model_groups: Sequence[str] | None = None,
) -> None:
    """Register the eval set; fields not given keep their stored values (a new row without ``model_groups`` gets the
    default group: closed, never open)."""
    given = {
        "name": name,
        "config": _jsonable(config) if config is not None else None,
        "created_by": created_by,
        "tags": list(tags) if tags is not None else None,
        "metadata": _jsonable(metadata) if metadata is not None else None,
        "model_groups": sorted(set(model_groups)) if model_groups else None,
    }
    values = {
        "eval_set_id": eval_set_id,
        "log_dir": log_dir,
        **{k: v for k, v in given.items() if v is not None},
    }
    updated = [c for c in values if c != "eval_set_id"]
    if "model_groups" not in values:
        from hawk_dagster.access.settings import access_settings_from_env

        values["model_groups"] = [access_settings_from_env().default_group]
    stmt = insert(_eval_set_table).values(values)
    stmt = stmt.on_conflict_do_update(
        index_elements=[_eval_set_table.c.eval_set_id],
        set_={**{c: stmt.excluded[c] for c in updated}, "updated_at": func.now()},
    )
    with engine.begin() as conn:
        conn.execute(stmt)


# ---------------------------------------------------------------------------------------------------------------
# small helpers


def _score_metrics(results: EvalResults | None) -> list[dict[str, Any]] | None:
    """The log's scores and their metrics as ``eval.metrics`` stores them (non-finite values as null: JSON has no
    NaN); None when the log has no results (a run still going, or killed)."""
    if results is None:
        return None
    return [
        {
            "scorer": score.scorer,
            "score": score.name,
            "reducer": score.reducer,
            "scored_samples": score.scored_samples,
            "metrics": {
                name: float(m.value) if math.isfinite(float(m.value)) else None
                for name, m in score.metrics.items()
            },
        }
        for score in results.scores
    ]


def _jsonable(value: Any) -> Any:
    """Plain JSON-able Python for a JSONB column (pydantic models without their unset None fields)."""
    if value is None:
        return None
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    return to_jsonable_python(value, exclude_none=True, fallback=repr)


def _clean(value: str | None) -> str | None:
    """PostgreSQL text cannot hold NUL characters."""
    if value is None:
        return None
    return value.replace("\x00", "\ufffd") if "\x00" in value else value


def _parse_datetime(value: str | datetime | None) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        parsed = value
    else:
        parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


_CORRUPT_ZIP_HINTS = ("eocd", "central directory", "not a zip file", "bad magic", "crc", "zstd", "decompress")


def _describe(location: str, what: str, exc: BaseException) -> str:
    """``<file name>: <what failed>: <exception type>: <first line>``, plus a plain hint for corrupt zips."""
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    reason = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    if isinstance(exc, zipfile.BadZipFile) or any(hint in reason.lower() for hint in _CORRUPT_ZIP_HINTS):
        reason += " (the log file is truncated or corrupt)"
    if len(reason) > 1000:
        reason = reason[:1000] + "..."
    return f"{PurePosixPath(location).name}: {what}: {reason}"
