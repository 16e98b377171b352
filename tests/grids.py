"""Small grids for end-to-end tests: config files written next to a copy of the example task file."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

EXAMPLES = Path(__file__).resolve().parents[1] / "configs" / "examples"


def write_grid(folder: Path, name: str = "grid.yaml", **overrides: object) -> Path:
    """A 2 tasks x 1 agent x 2 mock models grid (3 samples per task) plus ``overrides`` as top-level keys."""
    folder.mkdir(parents=True, exist_ok=True)
    tasks_dir = folder / "tasks"
    if not tasks_dir.exists():
        shutil.copytree(EXAMPLES / "tasks", tasks_dir)
    config: dict[str, object] = {
        "name": "e2e",
        "tasks": [
            {
                "path": "tasks/arithmetic.py",
                "items": [
                    {"name": "addition", "args": {"n": 3}},
                    {"name": "multiplication", "args": {"n": 3}},
                ],
            }
        ],
        "agents": [{"package": "inspect-ai", "items": [{"name": "react"}]}],
        "models": [
            {
                "items": [
                    {"name": "hawk-mock/careful", "args": {"accuracy": 1.0}},
                    {"name": "hawk-mock/sloppy", "args": {"accuracy": 0.0}},
                ]
            }
        ],
        "message_limit": 10,
    }
    config.update(overrides)
    path = folder / name
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


GATED_TASK = """
from pathlib import Path

import anyio
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import match
from inspect_ai.solver import Generate, Solver, TaskState, generate, solver


@solver
def wait_for(gate: str) -> Solver:
    async def solve(state: TaskState, generate: Generate) -> TaskState:
        while not Path(gate).exists():
            await anyio.sleep(0.1)
        return state

    return solve


@task
def gated(n: int, gate: str) -> Task:
    samples = [Sample(input=f"What is {i} + 1?", target=str(i + 1)) for i in range(n)]
    return Task(dataset=samples, solver=[wait_for(gate), generate()], scorer=match())
"""


def write_gated_grid(folder: Path, eval_set_id: str, gate: Path, samples: int = 4) -> Path:
    """One task of ``samples`` samples that each wait until the file ``gate`` exists (a run that surely runs
    while a test looks at it), on the careful mock model."""
    config = write_grid(
        folder,
        eval_set_id=eval_set_id,
        tasks=[
            {
                "path": "tasks/gated.py",
                "items": [{"name": "gated", "args": {"n": samples, "gate": str(gate)}}],
            }
        ],
        agents=[],
        models=[{"items": [{"name": "hawk-mock/careful"}]}],
    )
    (folder / "tasks" / "gated.py").write_text(GATED_TASK)
    return config
