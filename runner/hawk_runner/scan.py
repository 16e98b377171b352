"""Run one scan cell with Inspect Scout: the plan's scanners over one eval set's transcripts, resumable.

Scout gives every scan a random id and has no way to choose it, so each cell owns a folder
(``<results_dir>/<model>/``, one per model of the plan) and what is already there decides what to do: nothing ->
``scan``; an incomplete scan -> ``scan_resume`` (Scout re-runs only the transcripts whose scanners errored, when its
local scan buffer survives; otherwise it scans again and still writes each result once); a complete scan -> nothing.
A retried Dagster run of the same cell therefore continues the same scan instead of starting a second one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hawk_runner.log_lock import hold_output_folder
from hawk_runner.plan import ModelSpec, ScannerSpec, ScanPlan
from hawk_runner.reporting import Reporter
from hawk_runner.run import applied_environment
from hawk_runner.secrets import check_secrets
from hawk_runner.transcript_filter import parse_where, to_scout

if TYPE_CHECKING:  # Scout and Inspect are imported when a scan runs, not when the runner starts
    from inspect_ai.model import Model
    from inspect_scout import Scanner, ScannerWork, Status, Transcripts

NO_MODEL_DIR = "no-model"


class ScanSetupError(RuntimeError):
    """The scan cannot start: a scanner that does not resolve, arguments it does not take, a missing log folder."""


@dataclass(frozen=True)
class ScannerOutcome:
    key: str
    model: str | None
    scans: int
    results: int
    errors: int
    tokens: int


@dataclass(frozen=True)
class ScanOutcome:
    complete: bool
    results_dir: str
    scan_locations: list[str]
    scanners: list[ScannerOutcome] = field(default_factory=list)
    transcripts: int = 0
    duration_s: float = 0.0

    @property
    def errors(self) -> int:
        return sum(s.errors for s in self.scanners)

    def metadata(self) -> dict[str, Any]:
        return {
            "results_dir": self.results_dir,
            "complete": self.complete,
            "scan_locations": self.scan_locations,
            "transcripts": self.transcripts,
            "scanners": [asdict(s) for s in self.scanners],
            "errors": self.errors,
            "duration_s": round(self.duration_s, 2),
        }


def model_dir_name(model: ModelSpec | None) -> str:
    """The folder of one model's scan inside the cell's results folder."""
    if model is None:
        return NO_MODEL_DIR
    return re.sub(r"[^A-Za-z0-9._-]+", "_", model.name)


def execute_scan(plan: ScanPlan, reporter: Reporter) -> ScanOutcome:
    """Run (or resume, or find finished) the cell's scan for every model of the plan."""
    check_secrets(plan.required_secrets, os.environ)
    started = time.monotonic()
    # Scout reads ./scout.yaml and runs git in the working directory: run it somewhere neutral.
    with (
        contextlib.ExitStack() as held,
        applied_environment({"SCOUT_DISPLAY": "none", **plan.environment}),
        tempfile.TemporaryDirectory(prefix="hawk-scan-") as cwd,
    ):
        previous = os.getcwd()
        os.chdir(cwd)
        try:
            outcome = _execute(plan, reporter, held)
        finally:
            os.chdir(previous)
    outcome = replace(outcome, duration_s=time.monotonic() - started)
    reporter.materialization(outcome.metadata(), _data_version(outcome))
    reporter.check(
        "scan_complete",
        passed=outcome.complete,
        metadata={"errors": outcome.errors, "scan_locations": outcome.scan_locations},
    )
    return outcome


def _execute(plan: ScanPlan, reporter: Reporter, held: contextlib.ExitStack) -> ScanOutcome:
    """Scan the cell; ``held`` keeps the results folder's lock (taken only once there is something to write)."""
    from inspect_scout import columns as c
    from inspect_scout import scan, scan_resume, transcripts_from

    from hawk_runner import mock_provider  # noqa: F401  (registers hawk-mock even without entry points)

    _clear_transcript_cache()
    if not plan.log_dir.startswith("s3://") and not Path(plan.log_dir).is_dir():
        raise ScanSetupError(f"eval set {plan.eval_set_id!r} has no logs at {plan.log_dir}")
    scanners = {spec.key: _create_scanner(spec) for spec in plan.scanners}

    everything = transcripts_from(plan.log_dir)
    base: Transcripts | None = everything  # None: a limit chose none of this eval set's transcripts
    if plan.where:
        base = everything.where(to_scout(parse_where(plan.where)))
    if plan.transcript_ids is not None and base is not None:
        # A limit chose these at submission; an empty list means it chose none from this eval set.
        base = base.where(c.transcript_id.in_(plan.transcript_ids)) if plan.transcript_ids else None

    own = [spec for spec in plan.scanners if spec.where is not None or spec.transcript_ids is not None]
    worklist = None
    if own:
        from inspect_scout import ScannerWork

        worklist = [
            ScannerWork(spec.key, _scanner_transcripts(spec, everything, base)) for spec in plan.scanners
        ]
        transcripts = everything  # the worklist picks each scanner's transcripts from the whole eval set
    elif base is None:
        reporter.info(f"the scan's limit chose no transcripts of {plan.eval_set_id}: nothing to scan")
        return ScanOutcome(complete=True, results_dir=plan.results_dir, scan_locations=[])
    else:
        transcripts = base

    held.enter_context(
        hold_output_folder(plan.results_dir, f"scan {plan.scan_id}'s results folder for {plan.eval_set_id}")
    )
    locations: list[str] = []
    outcomes: list[ScannerOutcome] = []
    complete = True
    transcript_count = 0
    models: list[ModelSpec | None] = [*plan.models] or [None]  # no model: the scanners' own defaults
    for model in models:
        scans_dir = f"{plan.results_dir.rstrip('/')}/{model_dir_name(model)}"
        latest = latest_scan(scans_dir)
        label = model.name if model else "no model"
        new_ids: set[str] = set()
        if latest is not None and latest.complete:
            # A complete scan cannot be extended: if the eval set has gained transcripts since (a resumed eval set,
            # a scheduled re-run), scan the current set afresh; the warehouse keeps the newest scan per folder.
            covered = set((latest.spec.transcripts.transcript_ids or {}) if latest.spec.transcripts else {})
            new_ids = _selected_ids(transcripts, worklist) - covered
        if latest is None or new_ids:
            if latest is not None:
                reporter.info(
                    f"{len(new_ids)} transcript(s) are new since {latest.location}: scanning the current set"
                )
            reporter.info(
                f"scanning {plan.eval_set_id} with {', '.join(scanners)} ({label}) into {scans_dir}"
            )
            status = scan(
                scanners,
                transcripts=transcripts,
                scans=scans_dir,
                worklist=worklist,
                model=_build_model(model) if model else None,
                model_roles={role: _build_model(spec) for role, spec in plan.model_roles.items()} or None,
                max_transcripts=plan.max_transcripts,
                max_processes=plan.max_processes,
                tags=plan.tags or None,
                metadata=plan.metadata or None,
                display="none",
                log_level="warning",
            )
        elif not latest.complete:
            reporter.info(f"resuming the incomplete scan {latest.location} ({label})")
            status = scan_resume(latest.location, display="none", log_level="warning")
        else:
            reporter.info(f"scan {latest.location} ({label}) is already complete")
            status = latest
        locations.append(status.location)
        complete = complete and bool(status.complete)
        summary = _read_summary(status.location)
        transcript_count = max(transcript_count, _transcript_count(status.location))
        for key, counts in summary.get("scanners", {}).items():
            outcomes.append(
                ScannerOutcome(
                    key=key,
                    model=model.name if model else None,
                    scans=int(counts.get("scans", 0)),
                    results=int(counts.get("results", 0)),
                    errors=int(counts.get("errors", 0)),
                    tokens=int(counts.get("tokens", 0) or 0),
                )
            )
    return ScanOutcome(
        complete=complete,
        results_dir=plan.results_dir,
        scan_locations=locations,
        scanners=outcomes,
        transcripts=transcript_count,
    )


def latest_scan(scans_dir: str) -> Status | None:
    """The newest Scout scan in a cell's model folder (by its start time), or None."""
    from inspect_scout import scan_list

    if not _exists(scans_dir):
        return None
    scans = sorted(scan_list(scans_dir), key=lambda status: status.spec.timestamp)
    return scans[-1] if scans else None


def _selected_ids(transcripts: Transcripts, worklist: list[ScannerWork] | None) -> set[str]:
    """Transcript ids the scan would cover now (the worklists' union when scanners have their own filters)."""
    import asyncio

    async def ids(source: Transcripts) -> set[str]:
        async with source.reader() as reader:
            return {info.transcript_id async for info in reader.index()}

    if worklist is None:
        return asyncio.run(ids(transcripts))
    selected: set[str] = set()
    for work in worklist:
        selected |= (
            set(work.transcripts)
            if isinstance(work.transcripts, list)
            else asyncio.run(ids(work.transcripts))
        )
    return selected


def _scanner_transcripts(
    spec: ScannerSpec, everything: Transcripts, base: Transcripts | None
) -> Transcripts | list[str]:
    """A scanner's transcripts: Scout ``Transcripts``, or ``[]`` when a limit chose none of this eval set's. A
    scanner's own filter replaces the scan's: it starts from every transcript of the eval set, not from ``base``."""
    from inspect_scout import columns as c

    chosen: Transcripts | None = base
    if spec.where is not None:
        chosen = everything.where(to_scout(parse_where(spec.where))) if spec.where else everything
    if chosen is None:
        return []
    if spec.transcript_ids is not None:
        if not spec.transcript_ids:
            return []
        chosen = chosen.where(c.transcript_id.in_(spec.transcript_ids))
    return chosen


def _create_scanner(spec: ScannerSpec) -> Scanner[Any]:
    from inspect_scout._scanner.scanner import scanner_create

    try:
        return scanner_create(spec.name, dict(spec.args))
    except ValueError as exc:
        package = spec.name.split("/", 1)[0]
        raise ScanSetupError(
            f"scanner {spec.key!r}: {spec.name!r} is not a registered scanner ({exc}). Is the package that provides "
            f"{package!r} listed under scanners[].package, and does it register an `inspect_ai` entry point?"
        ) from None
    except TypeError as exc:
        raise ScanSetupError(f"scanner {spec.key!r} ({spec.name}): {exc}") from None


def _build_model(spec: ModelSpec) -> Model:
    from hawk_runner.tasks import build_model

    return build_model(spec)


def _clear_transcript_cache() -> None:
    # Scout caches a log folder's transcript index by path for the life of the process; a process that scans twice
    # (--direct, tests) must see logs added in between.
    try:
        from inspect_scout._transcript.eval_log import EvalLogTranscriptsView

        EvalLogTranscriptsView.clear_cache()
    except (ImportError, AttributeError):
        pass


def _exists(location: str) -> bool:
    if location.startswith("s3://"):
        from inspect_ai._util.file import filesystem

        return bool(filesystem(location).exists(location))
    return Path(location).exists()


def _read_json(location: str, name: str) -> dict[str, Any]:
    from inspect_ai._util.file import file

    try:
        with file(f"{location.rstrip('/')}/{name}", "r") as f:
            data = json.load(f)
    except FileNotFoundError:
        return {}
    return data if isinstance(data, dict) else {}


def _read_summary(location: str) -> dict[str, Any]:
    return _read_json(location, "_summary.json")


def _transcript_count(location: str) -> int:
    spec = _read_json(location, "_scan.json")
    return len((spec.get("transcripts") or {}).get("transcript_ids") or {})


def _data_version(outcome: ScanOutcome) -> str:
    import hashlib

    key = sorted((s.key, s.model or "", s.results, s.errors) for s in outcome.scanners)
    return hashlib.sha256(json.dumps([outcome.scan_locations, key]).encode()).hexdigest()[:16]
