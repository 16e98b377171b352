"""Live progress of a Dagster run, read from its event log: a progress bar per cell on a terminal, plain lines
otherwise (CI logs, pipes). Reading the event log rather than the runner keeps one source of truth: the same lines
appear in the Dagster UI."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import dagster as dg
from hawk_runner.reporting import CellProgress
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hawk_dagster.warehouse.read.headline import headline_name

POLL_INTERVAL_S = 0.5


class RunWatcher(threading.Thread):
    """Polls the run's event log until stopped, showing progress and step failures as they arrive."""

    def __init__(
        self,
        instance: dg.DagsterInstance,
        run_id: str,
        console: Console,
        on_first_progress: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(daemon=True)
        self.instance, self.run_id, self.console = instance, run_id, console
        self.on_first_progress = on_first_progress
        self.stop_event = threading.Event()
        self.cells: dict[tuple[str, str], CellProgress] = {}
        self._cursor: str | None = None
        self._printed: dict[tuple[str, str], tuple[int, int]] = {}

    def run(self) -> None:
        if self.console.is_terminal:
            self._run_with_bars()
        else:
            while not self.stop_event.wait(POLL_INTERVAL_S):
                self._poll(self._print_line)
            self._poll(self._print_line)

    def stop(self) -> None:
        self.stop_event.set()
        self.join(timeout=10)

    def _poll(self, on_progress: Callable[[CellProgress], None]) -> None:
        try:
            conn = self.instance.get_records_for_run(self.run_id, cursor=self._cursor)
        except Exception:  # the run may not be registered yet
            return
        self._cursor = conn.cursor
        for record in conn.records:
            entry = record.event_log_entry
            progress = CellProgress.from_message(entry.user_message or "")
            if progress is not None:
                if not self.cells and self.on_first_progress is not None:
                    self.on_first_progress()
                self.cells[(progress.task, progress.model)] = progress
                on_progress(progress)

    def _print_line(self, p: CellProgress) -> None:
        key = (p.task, p.model)
        if self._printed.get(key) == (p.done, p.total):
            return
        self._printed[key] = (p.done, p.total)
        errors = f", {p.errors} errors" if p.errors else ""
        reused = f" ({p.reused} reused)" if p.reused else ""
        print(f"  {p.task} [{p.model}]: {p.done}/{p.total} samples{reused}{errors}", flush=True)

    def _run_with_bars(self) -> None:
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[errors]}"),
            TimeElapsedColumn(),
        )
        bars: dict[tuple[str, str], Any] = {}
        with Progress(*columns, console=self.console, transient=False) as progress:

            def show(p: CellProgress) -> None:
                key = (p.task, p.model)
                errors = " ".join(
                    part
                    for part in (
                        f"[dim]{p.reused} reused" if p.reused else "",
                        f"[red]{p.errors} errors" if p.errors else "",
                    )
                    if part
                )
                if key not in bars:
                    bars[key] = progress.add_task(
                        f"{p.task} [dim]{p.model}", total=p.total or None, errors=errors
                    )
                progress.update(bars[key], completed=p.done, total=p.total or None, errors=errors)

            while not self.stop_event.wait(POLL_INTERVAL_S):
                self._poll(show)
            self._poll(show)


def results_table(cells: list[dict[str, Any]]) -> Table:
    """Task x agent x model: samples, errors, headline metric (named as ``hawk list evals`` names it)."""
    table = Table(title="Results", show_lines=False)
    for column in ("task", "agent", "model", "status", "samples", "errors", "headline metric"):
        table.add_column(column, justify="right" if column in ("samples", "errors") else "left")
    for cell in cells:
        metric = "-"
        if cell.get("headline_value") is not None:
            name = headline_name(cell.get("headline_score"), cell.get("headline_metric"))
            metric = f"{name} = {cell['headline_value']:.3f}"
        status = cell["status"] if cell["status"] == "success" else f"[red]{cell['status']}"
        table.add_row(
            cell["task"],
            cell.get("agent") or "-",
            cell["model"],
            status,
            f"{cell['samples']}/{cell['total']}",
            str(cell["errors"]),
            metric,
        )
    return table
