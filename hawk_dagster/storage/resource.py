"""The storage root as a Dagster resource, so sensors and assets get it injected and tests can swap it."""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from hawk_dagster.storage.root import StorageRoot, default_storage_root


class StorageResource(dg.ConfigurableResource["StorageResource"]):
    """Where configs, eval logs and scan results live: a local folder or ``s3://bucket/prefix``."""

    root: str = Field(
        default_factory=default_storage_root,
        description="Storage root: an absolute folder, file:// URI or s3://bucket/prefix (HAWK_STORAGE_ROOT).",
    )

    @property
    def storage(self) -> StorageRoot:
        return StorageRoot(self.root)
