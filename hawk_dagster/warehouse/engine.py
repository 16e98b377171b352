"""Where the warehouse is and how to connect to it.

``HAWK_WAREHOUSE_URL`` names any PostgreSQL server; without it the embedded server under ``<local_root>/pg`` is started
on demand. URLs may carry passwords, so anything that logs or displays one goes through :func:`redact_url`.
"""

from __future__ import annotations

import json
import math
import os
import re
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

WAREHOUSE_URL_ENV = "HAWK_WAREHOUSE_URL"
"""Environment variable naming an external warehouse; when unset the embedded server is used."""

DRIVER_SCHEME = "postgresql+psycopg"

_SCHEME_RE = re.compile(r"^(postgres|postgresql)(\+[a-z0-9_]+)?://", re.IGNORECASE)
_PASSWORD_RE = re.compile(r"(://[^:/@?#]*:)([^@/?#]*)(@)")


def normalize_url(url: str) -> str:
    """Make ``postgres://`` / ``postgresql://`` (and other drivers) use psycopg 3, which is what we install."""
    url = url.strip()
    match = _SCHEME_RE.match(url)
    if match is None:
        raise ValueError(f"not a PostgreSQL URL: {redact_url(url)}")
    return f"{DRIVER_SCHEME}://{url[match.end() :]}"


def redact_url(url: str) -> str:
    """The URL with its password replaced by ``***``; safe to log. Never raises."""
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        return _PASSWORD_RE.sub(r"\1***\3", url)
    if parsed.password is None:
        return url  # nothing secret: keep it exactly as given
    return parsed.render_as_string(hide_password=True)


def warehouse_url(local_root: Path) -> str:
    """The warehouse's SQLAlchemy URL: ``HAWK_WAREHOUSE_URL`` if set, else the embedded server's ``hawk`` database.

    Starting the embedded server is on demand and idempotent; the server stays up while any process that asked for
    it is alive (see :mod:`hawk_dagster.warehouse.embedded`).
    """
    configured = os.environ.get(WAREHOUSE_URL_ENV, "").strip()
    if configured:
        return normalize_url(configured)
    from hawk_dagster.warehouse.embedded import ensure_embedded_server

    return ensure_embedded_server(Path(local_root)).url()


def open_warehouse(url: str) -> Engine:
    """The one way a step or command gets the warehouse: migrated to head (one query when it already is), then an
    engine on it."""
    from hawk_dagster.warehouse.schema.migrate import upgrade

    upgrade(url)
    return create_warehouse_engine(url)


def create_warehouse_engine(
    url: str, *, pool_size: int = 5, max_overflow: int = 5, echo: bool = False
) -> Engine:
    """An engine for the warehouse (psycopg 3).

    Pre-ping and a recycle time survive server restarts and idle-connection reapers (the embedded server is restarted
    when the last process using it exits); LIFO keeps few connections warm. JSON is serialised strictly: PostgreSQL's
    JSONB rejects NaN/Infinity and NUL characters, so those are rewritten (see :func:`json_dumps`).

    Statements are never prepared (``prepare_threshold=None``): psycopg prepares a statement after its fifth use on a
    connection, and PostgreSQL then soon switches to a generic plan that cannot see the search text, so a selective
    trigram search was planned as a walk down the newest-first index (measured: 80 ms instead of 40 ms per page on
    the 1M-sample benchmark). Planning each query costs about a millisecond.
    """
    return create_engine(
        normalize_url(url),
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_pre_ping=True,
        pool_recycle=1800,
        pool_use_lifo=True,
        json_serializer=json_dumps,
        connect_args={"application_name": "hawk-dagster", "prepare_threshold": None},
        echo=echo,
    )


def json_dumps(value: Any) -> str:
    """Serialise for JSONB: non-finite floats become the strings ``"NaN"``/``"Infinity"``/``"-Infinity"``, and NUL
    characters (which PostgreSQL cannot store) become U+FFFD."""
    return json.dumps(jsonb_safe(value), ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def jsonb_safe(value: Any) -> Any:
    """A copy of a JSON-like value that PostgreSQL's JSONB accepts (see :func:`json_dumps`)."""
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd") if "\x00" in value else value
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {jsonb_safe(str(k)): jsonb_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonb_safe(v) for v in value]
    return value
