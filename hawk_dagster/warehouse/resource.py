"""The PostgreSQL warehouse: ``HAWK_WAREHOUSE_URL`` when set, else the embedded server under the local root."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

import dagster as dg
from pydantic import Field, PrivateAttr

from hawk_dagster.storage.root import StorageRoot

if TYPE_CHECKING:
    from sqlalchemy import Engine

# SQLAlchemy, psycopg and alembic are imported when a step first needs the warehouse, not when the code location
# loads: every CLI start and every run worker loads it.


class WarehouseResource(dg.ConfigurableResource["WarehouseResource"]):
    storage_root: str = Field(description="The storage root; the embedded server keeps its data under it.")
    url: str | None = Field(default=None, description="A PostgreSQL URL; overrides HAWK_WAREHOUSE_URL.")

    _engine: Engine | None = PrivateAttr(default=None)

    @cached_property
    def resolved_url(self) -> str:
        from hawk_dagster.warehouse.engine import warehouse_url

        return self.url or warehouse_url(StorageRoot(self.storage_root).state_dir)

    def engine(self) -> Engine:
        """The migrated warehouse, opened once per step."""
        if self._engine is None:
            from hawk_dagster.warehouse.engine import open_warehouse

            self._engine = open_warehouse(self.resolved_url)
        return self._engine

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # Close pooled connections when the run's step ends rather than leaving them to process exit.
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None
