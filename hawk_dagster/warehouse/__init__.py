"""The PostgreSQL results warehouse: schema, migrations, the embedded server, and the Inspect log importer.

Names are imported lazily so that ``import hawk_dagster.warehouse`` (for the engine helpers) does not pay for
importing Inspect, which the importer needs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hawk_dagster.warehouse.counts import log_counts, warehouse_counts
    from hawk_dagster.warehouse.embedded import EmbeddedServer, ensure_embedded_server, stop_embedded_server
    from hawk_dagster.warehouse.engine import create_warehouse_engine, redact_url, warehouse_url
    from hawk_dagster.warehouse.importer import ImportReport, LogImportResult, LogStatus, import_eval_set
    from hawk_dagster.warehouse.migrate import downgrade, upgrade
    from hawk_dagster.warehouse.scores import score_rows, score_value_float

_EXPORTS = {
    "log_counts": "counts",
    "warehouse_counts": "counts",
    "EmbeddedServer": "embedded",
    "ensure_embedded_server": "embedded",
    "stop_embedded_server": "embedded",
    "create_warehouse_engine": "engine",
    "redact_url": "engine",
    "warehouse_url": "engine",
    "ImportReport": "importer",
    "LogImportResult": "importer",
    "LogStatus": "importer",
    "import_eval_set": "importer",
    "downgrade": "migrate",
    "upgrade": "migrate",
    "score_rows": "scores",
    "score_value_float": "scores",
}

__all__ = [
    "EmbeddedServer",
    "ImportReport",
    "LogImportResult",
    "LogStatus",
    "create_warehouse_engine",
    "downgrade",
    "ensure_embedded_server",
    "import_eval_set",
    "log_counts",
    "redact_url",
    "score_rows",
    "score_value_float",
    "stop_embedded_server",
    "upgrade",
    "warehouse_counts",
    "warehouse_url",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
