"""What a log's header says about its cell, read the same way by the runner's summary (the run table, the Dagster
metadata) and by the warehouse importer (``hawk list evals``), so the two never disagree: the agent label.
"""

from __future__ import annotations

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
