"""How the runner talks back: through Dagster Pipes in a subprocess, or straight to a callback in-process.

Progress lines carry a fixed prefix so readers of the Dagster event log (``hawk local eval-set``'s progress bar,
``hawk logs``) can pick them out of ordinary log lines.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any, Protocol

PROGRESS_PREFIX = "hawk-progress "

OUTPUT_FILE_ENV = "HAWK_RUNNER_OUTPUT"
"""Set by whoever starts the runner to send the runner's own stdout and stderr (Inspect's, task code's) to this file."""

FAILURE_MESSAGE = "hawk_runner_failure"
"""Key of the Pipes custom message that says, in one line, why the runner stopped without a result."""


@dataclass(frozen=True)
class CellProgress:
    """Samples done out of total for one running task (a grid cell x model); ``reused`` of the done ones were finished
    by an earlier run and reused by this resume."""

    task: str
    model: str
    done: int
    errors: int
    total: int
    reused: int = 0

    def to_message(self) -> str:
        return PROGRESS_PREFIX + json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_message(cls, message: str) -> CellProgress | None:
        if not message.startswith(PROGRESS_PREFIX):
            return None
        try:
            return cls(**json.loads(message[len(PROGRESS_PREFIX) :]))
        except (ValueError, TypeError):
            return None


class Reporter(Protocol):
    def info(self, message: str) -> None: ...

    def warning(self, message: str) -> None: ...

    def progress(self, progress: CellProgress) -> None: ...

    def materialization(self, metadata: dict[str, Any], data_version: str) -> None: ...

    def check(self, name: str, passed: bool, metadata: dict[str, Any]) -> None: ...
