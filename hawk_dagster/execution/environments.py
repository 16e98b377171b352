"""Separate virtual environments for eval sets and scans that name packages.

Each runs in a venv built with uv: our runner (pinned to exactly the version of this install) plus the config's
packages, so a task package's dependencies can never break the platform's own. A venv whose contents are known from
its requirements (pinned versions, local folders fingerprinted) is kept and reused by the next run with the same
requirements; any other (an unpinned name, a git branch) is built afresh each time. uv's cache makes a build take a
couple of seconds.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import distribution
from pathlib import Path

from uv import find_uv_bin

from hawk_dagster.storage.whole_folder import building_folder

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


REUSABLE_SPEC = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[A-Za-z0-9_,.-]+\])?==[A-Za-z0-9._+!-]+$")
"""A requirement pinned to one version (``name==1.2``, ``name[extra]==1.2``): the same spec installs the same thing."""


def environment_key(packages: list[str], extras: list[str] | None = None) -> str | None:
    """A key naming what an environment for these packages would hold, or None when it cannot be known.

    Reusable: pinned requirements (``name==version``) and local directories (fingerprinted by their files' names,
    sizes and modification times, so an edited local package gets a new environment). Anything else (an unpinned
    name, a git URL whose branch may move, a URL) gives None: such environments are always built fresh.
    """
    parts = [f"python {sys.version_info.major}.{sys.version_info.minor}", runner_requirement(extras)]
    runner_dir = _local_dir(parts[1].split(" @ ", 1)[1]) if " @ file://" in parts[1] else None
    if runner_dir is not None:
        parts.append(_fingerprint(runner_dir))
    for spec in packages:
        local = _local_dir(spec)
        if local is not None:
            parts.append(f"{spec} {_fingerprint(local)}")
        elif REUSABLE_SPEC.match(spec.strip()):
            parts.append(spec.strip())
        else:
            return None
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def _local_dir(spec: str) -> Path | None:
    path = Path(spec.removeprefix("file://")).expanduser()
    return path if path.is_absolute() and path.is_dir() else None


def _fingerprint(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and ".venv" not in path.parts:
            stat = path.stat()
            digest.update(f"{path.relative_to(folder)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


@contextmanager
def runner_python(packages: list[str], cache_dir: Path, *, extras: list[str] | None = None) -> Iterator[Path]:
    """The Python of an environment holding the runner and ``packages``, for the duration of the ``with`` block.

    Reused from ``cache_dir`` when one with the same :func:`environment_key` was built before, else built (into a
    temporary folder, then moved into place, so a half-built environment is never used and two runs building the
    same one at once both succeed). A non-reusable environment is built in a temporary folder removed afterwards.
    """
    key = environment_key(packages, extras)
    cache_dir.mkdir(parents=True, exist_ok=True)
    if key is None:
        with tempfile.TemporaryDirectory(prefix="fresh-", dir=cache_dir) as fresh:
            yield build_runner_venv(packages, Path(fresh) / "venv", extras=extras)
        return
    target = cache_dir / key
    if not (target / READY_MARKER).exists():
        with building_folder(target, READY_MARKER) as staging:
            build_runner_venv(packages, staging / "venv", extras=extras)
            (staging / READY_MARKER).write_text(
                json.dumps({"packages": packages, "extras": extras or []}) + "\n"
            )
    yield target / "venv" / "bin" / "python"


READY_MARKER = ".ready.json"
