"""Forms posted by the pages: the body read as ``application/x-www-form-urlencoded`` (no multipart parser needed),
and the cross-site check every POST passes first.

CSRF: a browser sends ``Sec-Fetch-Site`` (and ``Origin``) with every POST; a post is accepted only when it says
``same-origin`` (or, from a browser without Fetch Metadata, its ``Origin`` host is this server's ``Host``). A post
with neither header is refused: these forms are for browsers, scripts use the API.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request

from hawk_dagster.api.errors import ApiError

FORM_TYPE: Final = "application/x-www-form-urlencoded"


def check_same_origin(request: Request) -> None:
    """403 unless the request comes from one of our own pages."""
    site = request.headers.get("sec-fetch-site")
    if site is not None:
        if site != "same-origin":
            raise ApiError(403, f"refused a cross-site form post (Sec-Fetch-Site: {site[:20]})")
        return
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        raise ApiError(403, "refused a form post without an Origin header")
    if urlsplit(origin).netloc != request.headers.get("host", ""):
        raise ApiError(403, "refused a cross-site form post (its Origin is another site)")


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields (the last value of a repeated one), after the same-origin check."""
    check_same_origin(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise ApiError(415, f"a form post must be {FORM_TYPE}", field="content-type")
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))
