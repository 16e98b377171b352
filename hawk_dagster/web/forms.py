"""Forms posted by the pages: the body read as ``application/x-www-form-urlencoded`` (no multipart parser needed),
and the cross-site check every POST passes first.

CSRF: a browser sends ``Sec-Fetch-Site`` (and ``Origin``) with every POST; a post is accepted only when it says
``same-origin`` (or, from a browser without Fetch Metadata, its ``Origin`` host is this server's ``Host``). A post
with neither header is refused: these forms are for browsers, scripts use the API.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import parse_qsl

from fastapi import Request

from hawk_dagster.api.errors import ApiError

FORM_TYPE: Final = "application/x-www-form-urlencoded"


def check_same_origin(request: Request, public_url: str | None = None) -> None:
    """403 unless the request comes from one of our own pages (the rule of ``api.session_cookies``, applied to every
    form post, with or without a sign-in cookie)."""
    from hawk_dagster.api.session_cookies import cross_site_refusal, own_origin

    headers = {name.lower(): value for name, value in request.headers.items()}
    origin = own_origin(request.scope, headers, public_url)
    refusal = cross_site_refusal("POST", headers, origin, relies_on_cookies=True)
    if refusal is not None:
        raise ApiError(403, f"refused the form post: {refusal}")


async def form_fields(request: Request) -> dict[str, str]:
    """The posted fields (the last value of a repeated one), after the same-origin check."""
    check_same_origin(request, request.app.state.settings.public_url)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != FORM_TYPE:
        raise ApiError(415, f"a form post must be {FORM_TYPE}", field="content-type")
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ApiError(400, "the form is not UTF-8") from None
    return dict(parse_qsl(text, keep_blank_values=True))
