"""What an eval set's logs say about its cells: state, sample counts, retries, tokens, and the errors samples hit.

The logs are the record that outlives every process, so this is what ``hawk status`` reports once the runner is gone
(and, for cells the running runner has not reached, while it runs). The newest log of each task is the one that
counts, by the importer's own rule; older ones (beside it, or set aside in ``superseded/``) count as attempts.
"""

from __future__ import annotations

import json
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import fsspec
from hawk_runner.log_dir import SUPERSEDED_DIR

from hawk_dagster.monitoring.report import CellState, TokenUsage

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

MAX_SUPERSEDED_READ = 200
"""Superseded logs whose task is read to count attempts; beyond that, attempts are a lower bound."""


@dataclass
class SampleError:
    kind: str
    message: str


@dataclass
class LogCell:
    task: str
    task_id: str
    agent: str | None
    model: str | None
    state: CellState
    done: int
    total: int | None
    errors: int
    retries: int
    attempts: int
    tokens: dict[str, TokenUsage]
    log: str
    samples_in_log: int
    """Samples the log holds (what the importer imports from it)."""
    sample_errors: list[SampleError] = field(default_factory=list)
    eval_error: SampleError | None = None


@dataclass
class LogState:
    cells: list[LogCell]
    unreadable: list[str]
    """``file: why`` for logs that could not be read."""


_TYPE_NAME = re.compile(r"^(?:[A-Za-z_][\w]*\.)*([A-Z][\w]*)(?::|\()")
"""``ValueError: text`` (Python's own form), ``ValueError('text')`` (Inspect's repr of a sample error), and their
module-qualified forms (``openai.RateLimitError: ...``)."""


def error_kind(message: str) -> SampleError:
    """The error's type as its kind (``ValueError``); a message that names no type is kind ``error``."""
    first = next((line.strip() for line in message.strip().splitlines() if line.strip()), "")
    match = _TYPE_NAME.match(first)
    return SampleError(kind=match.group(1) if match else "error", message=first[:500] or "(no message)")


def read_log_state(log_dir: str) -> LogState:
    from hawk_runner.log_facts import agent_label
    from inspect_ai.log import read_eval_log_sample_summaries

    from hawk_dagster.warehouse.ingest.importer import discover_logs

    selection = discover_logs(log_dir)
    attempts = Counter(candidate.task_id for candidate in selection.superseded)
    attempts.update(_superseded_task_ids(log_dir))
    cells: list[LogCell] = []
    unreadable = [bad.error for bad in selection.unreadable if bad.superseded_by is None]
    for task_id, candidate in selection.newest.items():
        header = candidate.header
        try:
            summaries = read_eval_log_sample_summaries(candidate.location)
        except Exception as ex:  # a log being written can be briefly unreadable; its header still counts
            unreadable.append(
                f"{candidate.location}: cannot read sample summaries: {type(ex).__name__}: {ex}"
            )
            summaries = []
        sample_errors = [error_kind(s.error) for s in summaries if s.error]
        results = header.results
        done = results.completed_samples if results is not None else len(summaries)
        cells.append(
            LogCell(
                task=header.eval.task,
                task_id=task_id,
                agent=agent_label(header),
                model=header.eval.model,
                state=_state(header.status),
                done=max(done, len(summaries)),
                total=results.total_samples if results is not None else _expected(header),
                errors=len(sample_errors),
                retries=sum(s.retries or 0 for s in summaries),
                attempts=1 + attempts.get(task_id, 0),
                tokens=_tokens(header, summaries),
                log=candidate.location,
                samples_in_log=len(summaries),
                sample_errors=sample_errors,
                eval_error=error_kind(header.error.message) if header.error is not None else None,
            )
        )
    return LogState(cells=cells, unreadable=unreadable)


def _state(status: str) -> CellState:
    return status if status in ("success", "error", "cancelled", "started") else "started"  # type: ignore[return-value]


def _expected(header: EvalLog) -> int | None:
    samples = header.eval.dataset.samples
    if samples is None:
        return None
    return samples * (header.eval.config.epochs or 1)


def _tokens(header: EvalLog, summaries: list[Any]) -> dict[str, TokenUsage]:
    """Per model: the header's totals once the eval finished, else the finished samples' sums (a running log)."""
    usage: dict[str, list[int]] = {}
    sources = [header.stats.model_usage] if header.stats.model_usage else [s.model_usage for s in summaries]
    for by_model in sources:
        for model, used in (by_model or {}).items():
            totals = usage.setdefault(model, [0, 0, 0])
            totals[0] += used.input_tokens
            totals[1] += used.output_tokens
            totals[2] += used.total_tokens
    return {model: TokenUsage(input=i, output=o, total=t) for model, (i, o, t) in sorted(usage.items())}


def _superseded_task_ids(log_dir: str) -> list[str]:
    """The task id of each log set aside in ``superseded/`` (read from the zip's start record or header)."""
    fs, root = fsspec.core.url_to_fs(log_dir.rstrip("/") + "/" + SUPERSEDED_DIR)
    try:
        names = sorted(fs.ls(root, detail=False))[:MAX_SUPERSEDED_READ]
    except (FileNotFoundError, NotADirectoryError):
        return []
    task_ids: list[str] = []
    for name in names:
        try:
            with fs.open(name, "rb") as handle, zipfile.ZipFile(handle) as archive:
                members = set(archive.namelist())
                member = "header.json" if "header.json" in members else "_journal/start.json"
                task_id = json.loads(archive.read(member))["eval"]["task_id"]
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            continue  # not a log, or torn: it is not an attempt we can attribute
        task_ids.append(str(task_id))
    return task_ids
