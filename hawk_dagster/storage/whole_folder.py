"""A local folder that appears whole or not at all: built beside its final place, then renamed into it.

Carried-file bundles fetched to this machine and runner environments are both used by several processes at once; a
reader must never see one half-written, and two writers finishing the same folder must both succeed.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def building_folder(target: Path, marker: str) -> Iterator[Path]:
    """Yield an empty temporary folder beside ``target``; when the block ends, rename it to ``target``.

    ``marker`` is a file the finished folder holds: if another process renamed its own copy into place first, that
    copy is kept. The temporary folder is removed however the block ends.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    try:
        yield staging
        try:
            staging.rename(target)
        except OSError:  # another process finished the same folder first
            if not (target / marker).exists():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
