"""Live per-cell progress from Inspect's hooks, throttled so a 10k-sample run does not flood the event log.

A resumed task reuses the samples its previous log finished without running them (no sample hook fires for them),
so a cell starts from that count (:func:`hawk_runner.log_dir.reusable_samples`, read before ``eval_set`` starts)
rather than from 0, and says how many were reused.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from inspect_ai.hooks import Hooks, SampleEnd, TaskEnd, TaskStart, hooks

from hawk_runner.reporting import CellProgress, Reporter

_MIN_INTERVAL_S = 1.0


class _ProgressState:
    def __init__(self) -> None:
        self.reporter: Reporter | None = None
        self.lock = threading.Lock()
        self.cells: dict[str, dict[str, int | str | float]] = {}
        self.reusable: dict[str, int] = {}
        """Per task id, the finished samples the previous log holds (what a resume reuses)."""

    def emit(self, eval_id: str, force: bool = False) -> None:
        cell = self.cells.get(eval_id)
        if cell is None or self.reporter is None:
            return
        now = time.monotonic()
        if not force and now - float(cell["last"]) < _MIN_INTERVAL_S:
            return
        cell["last"] = now
        self.reporter.progress(
            CellProgress(
                task=str(cell["task"]),
                model=str(cell["model"]),
                done=min(int(cell["done"]), int(cell["total"])) if int(cell["total"]) else int(cell["done"]),
                errors=int(cell["errors"]),
                total=int(cell["total"]),
                reused=int(cell["reused"]),
            )
        )


STATE = _ProgressState()


@contextmanager
def reporting_progress(reporter: Reporter, log_dir: str) -> Iterator[None]:
    """Report the cells' progress to ``reporter`` while ``eval_set`` runs into ``log_dir``, counting from the samples
    a resume will reuse."""
    from hawk_runner.log_dir import reusable_samples

    try:
        reusable = reusable_samples(log_dir)
    except Exception as ex:  # progress is a convenience: an unreadable log must not stop the run
        reporter.warning(f"progress will not count reused samples: {type(ex).__name__}: {ex}")
        reusable = {}
    with STATE.lock:
        STATE.reporter, STATE.reusable, STATE.cells = reporter, reusable, {}
    try:
        yield
    finally:
        with STATE.lock:
            STATE.reporter, STATE.reusable = None, {}


def _expected_samples(data: TaskStart) -> int:
    spec = data.spec
    samples = spec.dataset.samples or 0
    limit = spec.config.limit
    if isinstance(limit, int):
        samples = min(samples, limit)
    elif isinstance(limit, tuple | list) and len(limit) == 2:
        samples = max(0, min(samples, limit[1]) - limit[0])
    if spec.config.sample_id is not None:
        ids = spec.config.sample_id
        samples = len(ids) if isinstance(ids, list) else 1
    return samples * (spec.config.epochs or 1)


@hooks(name="hawk_progress", description="Reports per-cell sample progress to hawk-dagster.")
class ProgressHooks(Hooks):
    def enabled(self) -> bool:
        return STATE.reporter is not None

    async def on_task_start(self, data: TaskStart) -> None:
        with STATE.lock:
            total = _expected_samples(data)
            reused = STATE.reusable.get(data.spec.task_id, 0)
            reused = min(reused, total) if total else reused
            STATE.cells[data.eval_id] = {
                "task": data.spec.task,
                "model": data.spec.model,
                "done": reused,
                "errors": 0,
                "total": total,
                "reused": reused,
                "last": 0.0,
            }
            STATE.emit(data.eval_id, force=True)

    async def on_sample_end(self, data: SampleEnd) -> None:
        with STATE.lock:
            cell = STATE.cells.get(data.eval_id)
            if cell is None:
                return
            cell["done"] = int(cell["done"]) + 1
            if data.sample.error is not None:
                cell["errors"] = int(cell["errors"]) + 1
            STATE.emit(data.eval_id)

    async def on_task_end(self, data: TaskEnd) -> None:
        with STATE.lock:
            cell = STATE.cells.get(data.eval_id)
            if cell is None:
                return
            results = data.log.results
            if results is not None:
                cell["done"] = results.completed_samples
                cell["total"] = results.total_samples
            STATE.emit(data.eval_id, force=True)
