"""The request id: taken from ``X-Request-ID`` when it is sane, else made here; in every response and log line.

A contextvar carries it, so any log record made while a request is handled (ours, SQLAlchemy's, uvicorn's error
log) gets it through :class:`RequestIdLogFilter`, including in the threadpool (Starlette copies the context into
worker threads).
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid
from typing import Final

REQUEST_ID_HEADER: Final = "X-Request-ID"
_SANE = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")
"""What a client-given id may look like: short, printable, no spaces (ids are echoed into logs and headers)."""

_current: contextvars.ContextVar[str] = contextvars.ContextVar("hawk_request_id", default="-")


def request_id_from(header: str | None) -> str:
    """The client's id when it is sane, else a new one (a bad header is replaced, not refused)."""
    if header is not None and _SANE.match(header):
        return header
    return uuid.uuid4().hex


def current_request_id() -> str:
    """The id of the request being handled ('-' outside a request)."""
    return _current.get()


def set_request_id(request_id: str) -> contextvars.Token[str]:
    return _current.set(request_id)


def reset_request_id(token: contextvars.Token[str]) -> None:
    _current.reset(token)


class RequestIdLogFilter(logging.Filter):
    """Adds ``record.request_id`` (for ``%(request_id)s`` in the log format) to every record it sees."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id()
        return True


LOG_FORMAT: Final = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"
