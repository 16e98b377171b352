"""Page state lives in the URL query: :func:`url_with` builds a link to the same page with some parameters changed,
so every filter, sort, page and selection is a shareable link, and back/forward restore it."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from urllib.parse import urlencode

if TYPE_CHECKING:
    from fastapi import Request

QueryValue = str | int | float | bool | None | Iterable[str]


def encode(value: str | int | float | bool) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def url_with(request: Request, path: str | None = None, **changes: QueryValue) -> str:
    """The request's URL (or ``path``) with ``changes`` applied to its query: None or an empty value removes a
    parameter, a list sets a repeated one. Parameters keep their order; changing a filter should reset ``offset``
    (pass ``offset=None``)."""
    items = list(request.query_params.multi_items())
    names = {name.rstrip("_") for name in changes}
    kept = [(k, v) for k, v in items if k not in names]
    for raw_name, value in changes.items():
        name = raw_name.rstrip("_")  # ``from_=...`` for a parameter named like a keyword
        if value is None or value == "":
            continue
        if isinstance(value, str | int | float | bool):
            kept.append((name, encode(value)))
        else:
            kept.extend((name, str(v)) for v in value)
    query = urlencode(kept)
    base = path if path is not None else request.url.path
    return f"{base}?{query}" if query else base
