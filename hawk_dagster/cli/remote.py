"""Commands through a deployment's API: with ``HAWK_API_URL`` set, ``hawk list ...``, ``hawk transcript``, ``hawk
eval-set`` and ``hawk scan run`` ask ``hawk serve`` there (with the signed-in user's token) instead of reading the
storage root and warehouse themselves; what they print is the same.

Errors come back in the API's one shape and end the command as a local error would: 4xx (bad input, not found,
forbidden, not signed in) exit 2 with the server's message, anything else exit 1.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any, Final, NoReturn

import click

from hawk_dagster.cli.common import EXIT_BAD_INPUT

if TYPE_CHECKING:
    from pathlib import Path

    import httpx

    from hawk_dagster.storage.carried import Manifest

API_URL_ENV: Final = "HAWK_API_URL"
TIMEOUT_SECONDS: Final = 60.0


def api_url() -> str | None:
    """The deployment's API (``HAWK_API_URL``), or None: work locally."""
    url = os.environ.get(API_URL_ENV, "").strip().rstrip("/")
    return url or None


def _headers() -> dict[str, str]:
    """The signed-in user's bearer token when sign-in is configured (``HAWK_OIDC_*``); none for a local server."""
    from hawk_dagster.auth.session import SignInError, cli_settings, current_access_token
    from hawk_dagster.auth.settings import oidc_settings_from_env

    try:
        if oidc_settings_from_env() is None:
            return {}
    except ValueError as ex:
        raise SignInError(str(ex)) from ex
    return {"Authorization": f"Bearer {current_access_token(cli_settings())}"}


def _fail(response: httpx.Response, prefix: str = "") -> NoReturn:
    try:
        error = response.json()["error"]
        message = str(error["message"])
        request_id = error.get("request_id")
    except (ValueError, KeyError, TypeError):
        message, request_id = response.text[:500] or response.reason_phrase, None
    if response.status_code == 401:
        message += " (run `hawk login`)"
    suffix = f" [request {request_id}]" if request_id and response.status_code >= 500 else ""
    click.echo(f"error: {prefix}{message}{suffix}", err=True)
    raise SystemExit(EXIT_BAD_INPUT if 400 <= response.status_code < 500 else 1)


@contextmanager
def _client() -> Iterator[httpx.Client]:
    import httpx

    url = api_url()
    assert url is not None
    try:
        with httpx.Client(base_url=url, headers=_headers(), timeout=TIMEOUT_SECONDS) as client:
            yield client
    except httpx.TransportError as ex:
        click.echo(f"error: cannot reach the API at {url} ({API_URL_ENV}): {ex}", err=True)
        raise SystemExit(1) from None


def get_json(path: str, params: Mapping[str, Any] | None = None) -> Any:
    with _client() as client:
        response = client.get(path, params=_params(params))
    if response.status_code >= 400:
        _fail(response)
    return response.json()


def get_text(path: str, params: Mapping[str, Any] | None = None) -> str:
    with _client() as client:
        response = client.get(path, params=_params(params))
    if response.status_code >= 400:
        _fail(response)
    return response.text


def stream_to(path: str, params: Mapping[str, Any] | None, out: IO[str]) -> None:
    """Copy a streamed answer (a CSV export) to ``out`` as it arrives."""
    with _client() as client, client.stream("GET", path, params=_params(params)) as response:
        if response.status_code >= 400:
            response.read()
            _fail(response)
        for chunk in response.iter_text():
            out.write(chunk)


def call_json(
    method: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    content: bytes | None = None,
    content_type: str | None = None,
    error_prefix: str = "",
) -> Any:
    """One request answered with JSON; an error answer ends the command (``error_prefix`` before its message)."""
    headers = {"Content-Type": content_type} if content_type else None
    with _client() as client:
        response = client.request(method, path, params=_params(params), content=content, headers=headers)
    if response.status_code >= 400:
        _fail(response, error_prefix)
    return response.json()


class StreamBroken(Exception):
    """A streamed answer stopped before its end (the connection dropped): ask again from the last cursor."""


def stream_records(path: str, params: Mapping[str, Any] | None = None) -> Iterator[Any]:
    """The JSON records of an NDJSON answer as they arrive (no read timeout: a followed stream may wait). An error
    answer ends the command; a connection lost on the way raises :class:`StreamBroken`."""
    import json

    import httpx

    url = api_url()
    assert url is not None
    timeout = httpx.Timeout(TIMEOUT_SECONDS, read=None)
    try:
        with (
            httpx.Client(base_url=url, headers=_headers(), timeout=timeout) as client,
            client.stream("GET", path, params=_params(params)) as response,
        ):
            if response.status_code >= 400:
                response.read()
                _fail(response)
            for line in response.iter_lines():
                if line.strip():
                    yield json.loads(line)
    except httpx.ConnectError as ex:
        raise StreamBroken(f"cannot reach the API at {url} ({API_URL_ENV}): {ex}") from None
    except (httpx.TransportError, json.JSONDecodeError) as ex:
        raise StreamBroken(f"the stream from {url} broke: {ex}") from None


def post_submission(path: str, text: str, bundle: tuple[Manifest, Path] | None) -> dict[str, Any]:
    """Submit a config: alone as YAML, or with the files it carries (their manifest and the folder they are staged
    in) as ``multipart/form-data``: ``config``, ``manifest``, then one ``files`` part per manifest entry."""
    with _client() as client, contextlib.ExitStack() as open_files:
        if bundle is None:
            response = client.post(path, content=text.encode(), headers={"Content-Type": "application/yaml"})
        else:
            manifest, staged = bundle
            parts = [
                ("files", (f.path, open_files.enter_context(staged.joinpath(*f.path.split("/")).open("rb"))))
                for f in manifest.files
            ]
            response = client.post(path, data={"config": text, "manifest": manifest.dumps()}, files=parts)
    if response.status_code >= 400:
        _fail(response)
    answer: dict[str, Any] = response.json()
    return answer


def _params(params: Mapping[str, Any] | None) -> dict[str, Any]:
    """Query parameters without the unset ones (booleans as the API reads them)."""
    out: dict[str, Any] = {}
    for key, value in (params or {}).items():
        if value is None or value == () or value == []:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else value
    return out
