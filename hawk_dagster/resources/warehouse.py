"""The PostgreSQL warehouse: ``HAWK_WAREHOUSE_URL`` when set, else the embedded server under the local root."""

from __future__ import annotations

from functools import cached_property

import dagster as dg
from pydantic import Field, PrivateAttr
from sqlalchemy import Engine

from hawk_dagster.storage import StorageRoot
from hawk_dagster.warehouse.engine import create_warehouse_engine, warehouse_url
from hawk_dagster.warehouse.migrate import upgrade


class WarehouseResource(dg.ConfigurableResource):
    storage_root: str = Field(description="The storage root; the embedded server keeps its data under it.")
    url: str | None = Field(default=None, description="A PostgreSQL URL; overrides HAWK_WAREHOUSE_URL.")

    _engine: Engine | None = PrivateAttr(default=None)

    @cached_property
    def resolved_url(self) -> str:
        return self.url or warehouse_url(StorageRoot(self.storage_root).state_dir)

    def engine(self) -> Engine:
        """A migrated engine (migrations are idempotent and fast at head)."""
        if self._engine is None:
            upgrade(self.resolved_url)
            self._engine = create_warehouse_engine(self.resolved_url)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # Close pooled connections when the run's step ends rather than leaving them to process exit.
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
