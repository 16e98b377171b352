"""One way to answer with a page: :func:`render` fills a template of ``web/templates`` with the request, the
signed-in principal and the page's values; :func:`error_page` answers errors (the one 404 page for what is absent or
hidden, a sign-in page for 401, the field at fault for 422) as HTML on page paths.

Templates are autoescaped; values marked :class:`markupsafe.Markup` (the charts) go in as they are.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import jinja2
from fastapi.responses import HTMLResponse

from hawk_dagster.web.urls import url_with

if TYPE_CHECKING:
    from fastapi import Request

    from hawk_dagster.access.principal import Principal

TEMPLATES: Final = Path(__file__).parent / "templates"
STATIC: Final = Path(__file__).parent / "static"
STATIC_PATH: Final = "/static"
SECURITY_HEADERS: Final = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; object-src 'none';"
        " base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
"""Every page: only our own origin's scripts, styles and images (nothing from elsewhere can load), no framing."""


@cache
def static_url(name: str) -> str:
    """``/static/<name>?v=<content hash>``: a changed file gets a new URL, so browsers may cache them long."""
    digest = hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:10]
    return f"{STATIC_PATH}/{name}?v={digest}"


@cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    env.globals.update(static_url=static_url, url_with=url_with)
    return env


def render(
    request: Request,
    template: str,
    principal: Principal | None,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **values: Any,
) -> HTMLResponse:
    """``template`` filled with ``values``, the request and the principal (the header's signed-in user)."""
    html = environment().get_template(template).render(request=request, principal=principal, **values)
    return HTMLResponse(html, status_code=status_code, headers={**SECURITY_HEADERS, **(headers or {})})


def error_page(
    request: Request, status_code: int, message: str, *, headers: dict[str, str] | None = None
) -> HTMLResponse:
    """The HTML answer for an error on a page path. A 404 never says whether the thing exists: one page for both."""
    titles = {401: "Sign in", 403: "Not allowed", 404: "Not found", 422: "Invalid request"}
    if status_code == 404:
        message = "There is nothing here, or you may not see it."
    return render(
        request,
        "error.html",
        None,
        status_code=status_code,
        headers=headers,
        title=titles.get(status_code, "Error"),
        message=message,
        status=status_code,
    )
