"""Fresh virtual environments for eval sets that name packages.

Each such eval set runs in a new venv built with uv: our runner (pinned to exactly the version of this install) plus
the config's packages, so a task package's dependencies can never break the platform's own. uv's cache makes the
second build of the same set take a couple of seconds.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

from uv import find_uv_bin

RUNNER_DIST = "hawk-runner"


class EnvironmentBuildError(RuntimeError):
    """uv could not create the venv or resolve/install the packages; the message carries uv's own words."""


def runner_requirement(extras: list[str] | None = None) -> str:
    """A requirement that installs the very runner this process runs (PEP 610 tells us how it was installed).

    ``extras``: optional parts of the runner, e.g. ``["scan"]`` for Inspect Scout.
    """
    dist = distribution(RUNNER_DIST)
    name = f"{RUNNER_DIST}[{','.join(extras)}]" if extras else RUNNER_DIST
    direct_url = dist.read_text("direct_url.json")
    if direct_url:
        info = json.loads(direct_url)
        url = info.get("url", "")
        if "dir_info" in info or url.startswith("file://"):
            return f"{name} @ {url}"
        if "vcs_info" in info:
            vcs = info["vcs_info"]
            return f"{name} @ {vcs['vcs']}+{url}@{vcs['commit_id']}"
    return f"{name}=={dist.version}"


def _uv(args: list[str], what: str) -> None:
    proc = subprocess.run([find_uv_bin(), *args], capture_output=True, text=True)
    if proc.returncode != 0:
        tail = "\n".join((proc.stderr or proc.stdout).strip().splitlines()[-25:])
        raise EnvironmentBuildError(f"{what} failed (uv exit {proc.returncode}):\n{tail}")


def build_runner_venv(packages: list[str], dest: Path, *, extras: list[str] | None = None) -> Path:
    """Create ``dest`` as a venv holding the runner (with ``extras``) and ``packages``; return its Python."""
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    _uv(["venv", "--quiet", "--python", version, str(dest)], f"creating the runner environment in {dest}")
    python = dest / "bin" / "python"
    _uv(
        ["pip", "install", "--quiet", "--python", str(python), runner_requirement(extras), *packages],
        "installing the eval set's packages (" + ", ".join(packages) + ")",
    )
    return python
