"""The storage root: one place for configs, eval logs and scan results, local folder or ``s3://bucket/prefix``.

Everything goes through ``universal_pathlib`` so the same code runs on a laptop folder and on S3 (or moto/MinIO,
selected with ``AWS_ENDPOINT_URL``/``AWS_ENDPOINT_URL_S3``); nothing else in the project builds paths by hand.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from upath import UPath

STORAGE_ROOT_ENV = "HAWK_STORAGE_ROOT"
DEFAULT_LOCAL_ROOT = ".hawk"

EVAL_SET_CONFIGS = "configs/eval-sets"
SCAN_CONFIGS = "configs/scans"
EVALS: Final = "evals"
SCANS: Final = "scans"


def default_storage_root() -> str:
    """``HAWK_STORAGE_ROOT`` if set, else ``.hawk`` under the working directory (made absolute)."""
    root = os.environ.get(STORAGE_ROOT_ENV, "").strip()
    if root:
        return root if "://" in root else str(Path(root).expanduser().resolve())
    return str(Path(DEFAULT_LOCAL_ROOT).resolve())


@dataclass(frozen=True)
class StorageRoot:
    """A storage root URI (``/abs/dir``, ``file:///abs/dir`` or ``s3://bucket/prefix``)."""

    uri: str

    @classmethod
    def from_env(cls) -> StorageRoot:
        return cls(default_storage_root())

    @property
    def is_local(self) -> bool:
        return "://" not in self.uri or self.uri.startswith("file://")

    @property
    def local_path(self) -> Path:
        """The root as a local directory; only valid when :attr:`is_local`."""
        if not self.is_local:
            raise ValueError(f"storage root {self.uri} is not a local folder")
        return Path(self.uri.removeprefix("file://"))

    @property
    def state_dir(self) -> Path:
        """Where machine-local state lives (embedded PostgreSQL, the Dagster instance, runner output): the root itself
        when it is a local folder, else ``.hawk`` in the working directory."""
        return self.local_path if self.is_local else Path(DEFAULT_LOCAL_ROOT).resolve()

    @property
    def runner_logs_dir(self) -> Path:
        """Where runners started on this machine write their output (``<state>/runner-logs/<id>.log``)."""
        return self.state_dir / "runner-logs"

    def path(self, *parts: str) -> UPath:
        from upath import UPath  # here: fsspec costs a read-only command that only needs state_dir 70 ms

        return UPath(self.uri).joinpath(*parts)

    def uri_of(self, *parts: str) -> str:
        """A location string Inspect and Scout accept: a plain path locally, a URI on object stores (a local root
        needs no fsspec: read-only commands build these)."""
        if self.is_local:
            return str(self.local_path.joinpath(*parts))
        return str(self.path(*parts))

    @property
    def eval_set_configs(self) -> UPath:
        return self.path(*EVAL_SET_CONFIGS.split("/"))

    def eval_log_dir(self, eval_set_id: str) -> str:
        return self.uri_of(EVALS, eval_set_id)

    @property
    def scan_configs(self) -> UPath:
        return self.path(*SCAN_CONFIGS.split("/"))

    def scan_results_dir(self, scan_id: str, eval_set_id: str) -> str:
        """Where one scan cell's Scout results live: ``scans/<scan_id>/<eval_set_id>/``."""
        return self.uri_of(SCANS, scan_id, eval_set_id)
