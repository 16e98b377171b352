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
