"""Import one scan cell's Scout results into the warehouse: ``scan``, ``scan_source``, ``scanner_result``.

A cell's results folder holds one Scout scan per model (``<results_dir>/<model or no-model>/scan_id=...``). Each is
read with Scout's own reader (``scan_results_df``: it decodes values and expands scanners that return several labelled
results into one row each) and replaces that source's rows in one transaction, so importing again (a resumed scan,
a re-run) never duplicates a result. Results join ``sample`` by transcript id = sample uuid; a transcript whose eval
set is not (yet) in the warehouse keeps ``sample_pk`` NULL until :func:`link_samples` runs again.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import Connection, Engine, delete, func, select, text, update
from sqlalchemy.dialects.postgresql import insert

from hawk_dagster.warehouse.ingest.scores import score_value_float
from hawk_dagster.warehouse.schema.models import Sample, Scan, ScannerResult, ScanSource


@dataclass
class ScanImportReport:
    scan_id: str
    eval_set_id: str
    sources: list[dict[str, Any]] = field(default_factory=list)

    @property
    def results(self) -> int:
        return sum(s["results"] for s in self.sources)

    @property
    def linked(self) -> int:
        return sum(s["linked"] for s in self.sources)


@dataclass(frozen=True)
class ScanRecord:
    """The scan-level facts stored in ``scan`` (from the submission)."""

    scan_id: str
    name: str | None = None
    config: dict[str, Any] | None = None
    created_by: str | None = None
    tags: list[str] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    standing: bool = False
    schedule: str | None = None
    model_groups: tuple[str, ...] = ()
    """Access groups the scan requires (``hawk_dagster.access``); empty: a new row gets the default group, a stored
    row keeps its own."""


def scan_lock_key(scan_id: str) -> int:
    """A 64-bit advisory lock key per scan, so two imports of one scan's cells never interleave their upserts."""
    return int.from_bytes(hashlib.sha256(f"hawk-scan:{scan_id}".encode()).digest()[:8], "big", signed=True)


def import_scan_cell(
    engine: Engine,
    record: ScanRecord,
    *,
    eval_set_id: str,
    results_dir: str,
    eval_logs_run_id: str | None = None,
    eval_logs_data_version: str | None = None,
) -> ScanImportReport:
    """Replace the cell's rows with what its Scout results hold now."""
    from hawk_runner.scan import latest_scan
    from inspect_scout import scan_results_df

    report = ScanImportReport(scan_id=record.scan_id, eval_set_id=eval_set_id)
    # The newest scan per model folder is the cell's truth (an older one covered fewer transcripts).
    scans = [status for folder in _model_folders(results_dir) if (status := latest_scan(folder)) is not None]
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": scan_lock_key(record.scan_id)})
        scan_pk = _upsert_scan(conn, record)
        for status in scans:
            results = scan_results_df(status.location)
            spec = results.spec
            model = spec.model.model if spec.model is not None else ""
            source_pk = _upsert_source(
                conn,
                scan_pk,
                eval_set_id=eval_set_id,
                model=model or "",
                location=status.location,
                scout_scan_id=spec.scan_id,
                complete=bool(results.complete),
                transcripts=len(spec.transcripts.transcript_ids) if spec.transcripts else None,
                eval_logs_run_id=eval_logs_run_id,
                eval_logs_data_version=eval_logs_data_version,
            )
            conn.execute(delete(ScannerResult).where(ScannerResult.scan_source_pk == source_pk))
            rows = [
                _result_row(row, scan_pk, source_pk)
                for frame in results.scanners.values()
                for row in frame.to_dict(orient="records")
            ]
            if rows:
                conn.execute(insert(ScannerResult), rows)
            linked = link_samples(conn, source_pk)
            report.sources.append(
                {"model": model, "location": status.location, "complete": bool(results.complete),
                 "results": len(rows), "linked": linked}
            )  # fmt: skip
    return report


def link_samples(conn: Connection, source_pk: UUID) -> int:
    """Point a source's results at their samples (by uuid); returns how many results are linked."""
    conn.execute(
        update(ScannerResult)
        .where(ScannerResult.scan_source_pk == source_pk, ScannerResult.sample_pk.is_(None))
        .where(Sample.uuid == ScannerResult.transcript_id)
        .values(sample_pk=Sample.pk)
    )
    return conn.execute(
        select(func.count())
        .select_from(ScannerResult)
        .where(ScannerResult.scan_source_pk == source_pk, ScannerResult.sample_pk.is_not(None))
    ).scalar_one()


def _model_folders(results_dir: str) -> list[str]:
    from upath import UPath

    root = UPath(results_dir)
    if not root.exists():
        return []
    return [
        str(p.path) if root.protocol in ("", "file") else str(p) for p in sorted(root.iterdir()) if p.is_dir()
    ]


def _upsert_scan(conn: Connection, record: ScanRecord) -> UUID:
    values = {
        "scan_id": record.scan_id,
        "name": record.name,
        "config": record.config,
        "created_by": record.created_by,
        "tags": list(record.tags),
        "metadata": record.metadata,
        "standing": record.standing,
        "schedule": record.schedule,
    }
    updated = [k for k in values if k != "scan_id"]
    if record.model_groups:
        values["model_groups"] = sorted(set(record.model_groups))
        updated.append("model_groups")
    else:
        from hawk_dagster.access.settings import access_settings_from_env

        values["model_groups"] = [access_settings_from_env().default_group]
    stmt = insert(Scan).values(values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[Scan.scan_id],
        set_={**{k: stmt.excluded[k] for k in updated}, "updated_at": text("now()")},
    ).returning(Scan.pk)
    return conn.execute(upsert).scalar_one()


def _upsert_source(conn: Connection, scan_pk: UUID, **values: Any) -> UUID:
    stmt = insert(ScanSource).values(scan_pk=scan_pk, **values)
    upsert = stmt.on_conflict_do_update(
        index_elements=[ScanSource.scan_pk, ScanSource.eval_set_id, ScanSource.model],
        set_={
            **{k: stmt.excluded[k] for k in values if k not in ("eval_set_id", "model")},
            "imported_at": text("now()"),
            "updated_at": text("now()"),
        },
    ).returning(ScanSource.pk)
    return conn.execute(upsert).scalar_one()


def _result_row(row: Mapping[Hashable, Any], scan_pk: UUID, source_pk: UUID) -> dict[str, Any]:
    value = _plain(row.get("value"))
    error = _plain(row.get("scan_error"))
    return {
        "scan_pk": scan_pk,
        "scan_source_pk": source_pk,
        "transcript_id": row["transcript_id"],
        "result_uuid": _plain(row.get("uuid")),
        "scanner_key": row["scanner_key"],
        "scanner_name": _plain(row.get("scanner_name")),
        "label": _plain(row.get("label")),
        "value": None if error else value,
        "value_type": _plain(row.get("value_type")),
        "value_float": None if error else score_value_float(value),
        "answer": _text(row.get("answer")),
        "explanation": _text(row.get("explanation")),
        "metadata": _json_object(row.get("metadata")),
        "error": error,
        "error_type": _plain(row.get("scan_error_type")),
        "total_tokens": _int(row.get("scan_total_tokens")),
        "model_usage": _json_object(row.get("scan_model_usage")),
        "scanned_at": _timestamp(row.get("timestamp")),
    }


def _plain(value: Any) -> Any:
    """pandas' missing values (NaN, NA, NaT) as None; numpy scalars as Python values."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    try:
        import pandas as pd

        if value is pd.NA or value is pd.NaT:
            return None
    except ImportError:
        pass
    return value


def _text(value: Any) -> str | None:
    value = _plain(value)
    return None if value is None else str(value)


def _int(value: Any) -> int | None:
    value = _plain(value)
    return None if value is None else int(value)


def _json_object(value: Any) -> dict[str, Any]:
    value = _plain(value)
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return {"text": value}
    return value if isinstance(value, dict) else {}


def _timestamp(value: Any) -> datetime | None:
    value = _plain(value)
    if value is None or isinstance(value, datetime):
        return value
    return datetime.fromisoformat(str(value))
