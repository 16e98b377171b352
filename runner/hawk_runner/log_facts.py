"""What a log's header says about its cell, read the same way by the runner's summary (the run table, the Dagster
metadata) and by the warehouse importer (``hawk list evals``), so the two never disagree: the agent label and the
headline metric.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog


def agent_label(header: EvalLog) -> str | None:
    """Explicit solver if one was passed, else a named plan, else the plan's solver steps joined."""
    if header.eval.solver:
        return header.eval.solver
    plan = header.plan
    if plan.name and plan.name != "plan":
        return plan.name
    steps = [step.solver for step in plan.steps]
    if plan.finish is not None:
        steps.append(plan.finish.solver)
    return ",".join(steps) or None


@dataclass(frozen=True)
class Headline:
    """The log's headline metric as Inspect resolves it (a declared headline, else the first score's first metric):
    the scorer, the score it was read from (the scorer's name, or a dict scorer's key), the metric and its value
    (None when not finite, e.g. nothing was scored)."""

    scorer: str
    score: str
    metric: str
    value: float | None


def headline(header: EvalLog) -> Headline | None:
    """The header's headline metric, or None when nothing was scored."""
    from inspect_ai.log import headline_metric

    resolved = headline_metric(header)
    if resolved is None:
        return None
    value = float(resolved.metric.value)
    return Headline(
        scorer=resolved.score.scorer,
        score=resolved.score.name,
        metric=resolved.name,
        value=value if math.isfinite(value) else None,
    )
