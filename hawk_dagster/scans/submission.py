"""Submitting a scan: resolve its sources and a global limit once, and keep them with the config; reading it back.

A scan's ``transcripts.filter.limit`` (and ``shuffle``) apply to the scan as a whole, across all its eval sets, but
the scan runs as one Dagster partition per eval set. So the limit is resolved once, at submission: the matching
transcripts of every source are listed (through Scout, with the same filter the cells will apply), shuffled with the
seed if asked, cut to the limit, and the chosen ids are stored per eval set in ``scans/<scan_id>/.resolution.json``.
Each cell then scans exactly its share. The same goes for a scanner's own filter with a limit.

Eval sets that a standing scan picks up later were not there to choose from: their cells apply the filter and, if
set, the limit to that eval set alone.
"""

from __future__ import annotations

import json
import random
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hawk_dagster.config.carried import CarriedResolver
from hawk_dagster.config.loader import LoadedScan, load_scan_config
from hawk_dagster.config.scan import TranscriptFilterConfig
from hawk_dagster.scans.sources import resolve_eval_sets
from hawk_dagster.storage.root import SCANS, StorageRoot
from hawk_dagster.storage.submissions import Submission, Submitted, load_submitted, write_submission

RESOLUTION = ".resolution.json"


@dataclass(frozen=True)
class ScanResolution:
    """What was decided at submission: the eval sets read, and the transcripts a limit chose (per eval set)."""

    eval_set_ids: list[str]
    transcript_ids: dict[str, list[str]] | None = None
    scanner_transcript_ids: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def submit_scan(
    storage: StorageRoot,
    loaded: LoadedScan,
    *,
    scan_id: str,
    config_text: str,
    base_dir: str | None,
    created_by: str | None = None,
) -> ScanResolution:
    """Resolve the scan's sources (and limits), then record the submission and its access groups. Raises before
    writing anything when a source names an unknown eval set, or ``ConfigError`` when the model-groups file cannot be
    used. ``base_dir`` is the local folder the config came from (None: not on this
    machine); a config with carried files resolves its paths in them again whenever it is read back."""
    from hawk_dagster.access.stored_groups import current_rules, record_scan_groups

    config = loaded.config
    rules = current_rules(
        storage
    )  # ConfigError before anything is written when the model-groups file is unusable
    eval_set_ids = resolve_eval_sets(storage, config)
    log_dirs = {eval_set_id: storage.eval_log_dir(eval_set_id) for eval_set_id in eval_set_ids}
    transcript_ids = _choose(config.transcripts.filter, log_dirs)
    scanner_ids = {
        item.result_key: chosen
        for _, item in config.scanner_items()
        if (chosen := _choose(item.filter, log_dirs)) is not None
    }
    resolution = ScanResolution(eval_set_ids, transcript_ids, scanner_ids)
    write_submission(
        storage,
        Submission.new(
            scan_id,
            config_text,
            source=loaded.source,
            base_dir=base_dir,
            created_by=created_by,
        ),
        kind=SCANS,
    )
    storage.path(SCANS, scan_id, RESOLUTION).write_text(json.dumps(asdict(resolution), indent=2) + "\n")
    record_scan_groups(storage, scan_id, config, eval_set_ids, rules)
    return resolution


def load_scan(
    source: str, text: str, base_dir: Path | None, carried: CarriedResolver | None = None
) -> LoadedScan:
    """The scan loader in the shape submissions and the configs folder call it."""
    return load_scan_config(source, text=text, base_dir=base_dir, carried=carried)


@dataclass(frozen=True)
class SubmittedScan(Submitted[LoadedScan]):
    """A submitted scan: its submission, its config as the current code validates it, and what submission resolved."""

    resolution: ScanResolution

    @property
    def scan_id(self) -> str:
        return self.submission.eval_set_id


_validated_scans: dict[tuple[str, ...], LoadedScan] = {}
"""Scan validation reads nothing but the config's text, so the scheduled-scans sensor and the standing-scan
condition, which read every scan each tick, validate each version of a config once per process."""


def load_submitted_scan(storage: StorageRoot, scan_id: str) -> SubmittedScan:
    """The scan's submission, config and resolution (raises ``SubmissionNotFoundError`` or ``ConfigError``)."""
    submitted = load_submitted(storage, scan_id, SCANS, load_scan, memo=_validated_scans)
    try:
        data: dict[str, Any] = json.loads(storage.path(SCANS, scan_id, RESOLUTION).read_text())
    except FileNotFoundError:
        data = {"eval_set_ids": []}
    return SubmittedScan(submitted.submission, submitted.loaded, ScanResolution(**data))


def _choose(f: TranscriptFilterConfig | None, log_dirs: dict[str, str]) -> dict[str, list[str]] | None:
    """The transcripts a filter's limit keeps, per eval set (None when there is no limit)."""
    if f is None or f.limit is None:
        return None
    matching = _matching_transcripts(f, log_dirs)
    ordered = sorted(matching)  # (eval set, transcript id): a stable order before shuffling or cutting
    if f.shuffle not in (None, False):
        seed = None if f.shuffle is True else int(f.shuffle)
        random.Random(seed).shuffle(ordered)
    chosen: dict[str, list[str]] = {eval_set_id: [] for eval_set_id in log_dirs}
    for eval_set_id, transcript_id in ordered[: f.limit]:
        chosen[eval_set_id].append(transcript_id)
    return chosen


def _matching_transcripts(f: TranscriptFilterConfig, log_dirs: dict[str, str]) -> list[tuple[str, str]]:
    """(eval set, transcript id) of every transcript the filter keeps, listed by Scout exactly as a cell would."""
    import asyncio
    import os

    from hawk_runner.transcript_filter import parse_where, to_scout
    from inspect_scout import transcripts_from

    # Scout would draw an "Indexing" progress bar on the terminal.
    os.environ.setdefault("SCOUT_DISPLAY", "none")

    async def listing(log_dir: str) -> list[str]:
        transcripts = transcripts_from(log_dir)
        if f.where:
            transcripts = transcripts.where(to_scout(parse_where(list(f.where))))
        async with transcripts.reader() as reader:
            return [info.transcript_id async for info in reader.index()]

    found: list[tuple[str, str]] = []
    for eval_set_id, log_dir in log_dirs.items():
        found.extend((eval_set_id, transcript_id) for transcript_id in asyncio.run(listing(log_dir)))
    return found
