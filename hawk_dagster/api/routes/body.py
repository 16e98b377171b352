"""Text request bodies (a config: YAML, JSON being YAML too; sample edits: JSON or JSONL), UTF-8, read whole within
the server's body limit; or, for a config that names local files, a ``multipart/form-data`` body carrying them
(``api.carried_upload``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from fastapi import Request
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from hawk_dagster.api.carried_upload import (
    CONFIG_FIELD,
    FILES_FIELD,
    MANIFEST_FIELD,
    ReceivedBundle,
    checked_manifest,
)
from hawk_dagster.api.errors import ApiError

if TYPE_CHECKING:
    from hawk_dagster.access.principal import Principal
    from hawk_dagster.api.submissions import Accepted, Check

CONFIG_MEDIA_TYPES: Final = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain",
                             "application/json")  # fmt: skip

CONFIG_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The config as YAML (or JSON), exactly as `hawk validate` takes it.",
        "content": {
            **{media: {"schema": {"type": "string"}} for media in CONFIG_MEDIA_TYPES[:1]},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": [CONFIG_FIELD],
                    "properties": {
                        CONFIG_FIELD: {"type": "string", "description": "The config."},
                        MANIFEST_FIELD: {
                            "type": "string",
                            "description": "The carried files' manifest (JSON: version, base, files [path, size, "
                            "sha256]), as `hawk eval-set` stages it.",
                        },
                        FILES_FIELD: {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": "One part per manifest entry, in its order.",
                        },
                    },
                }
            },
        },
    }
}
MULTIPART: Final = "multipart/form-data"


@dataclass(frozen=True)
class SubmissionBody:
    """A config's text and the files it carries (None: the body was the config alone)."""

    text: str
    bundle: ReceivedBundle | None


def _media(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _decoded(raw: bytes, field: str, what: str = "the config", code: str = "invalid_config") -> str:
    if not raw.strip():
        raise ApiError(422, f"the {field} is empty; send {what}", code=code, field=field)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise ApiError(
            422, f"the {field} is not UTF-8 text (byte {ex.start})", code=code, field=field
        ) from None


async def config_text(request: Request) -> str:
    return (await body_text(request, CONFIG_MEDIA_TYPES, "the config", code="invalid_config"))[1]


async def body_text(
    request: Request, media_types: tuple[str, ...], what: str, *, code: str
) -> tuple[str, str]:
    """``(media type, text)`` of a non-empty UTF-8 body of one of ``media_types``; 415 or 422 otherwise."""
    media = _media(request)
    if media not in media_types:
        raise ApiError(
            415,
            f"send {what} as one of {', '.join(media_types)}; got {media or 'no Content-Type'}",
            field="Content-Type",
        )
    return media, _decoded(await request.body(), "body", what, code)


@asynccontextmanager
async def submission_body(request: Request) -> AsyncIterator[SubmissionBody]:
    """The config, and with a multipart body the files it carries (their spooled parts live until the block ends)."""
    if _media(request) != MULTIPART:
        yield SubmissionBody(await config_text(request), None)
        return
    settings = request.app.state.settings
    limits = settings.carry_limits
    try:
        form = await request.form(max_files=limits.max_files + 1, max_fields=8,
                                  max_part_size=settings.max_body_bytes)  # fmt: skip
    except ApiError:
        raise
    except HTTPException as ex:  # Starlette's multipart parser: too many parts, a field too large, malformed
        raise ApiError(
            413 if "Too many" in str(ex.detail) or "exceeded" in str(ex.detail) else 400,
            f"the multipart body was refused: {ex.detail}",
            field="body",
        ) from None
    try:
        unknown = sorted(set(form.keys()) - {CONFIG_FIELD, MANIFEST_FIELD, FILES_FIELD})
        if unknown:
            raise ApiError(422, f"unknown form field {unknown[0]!r}; send {CONFIG_FIELD}, {MANIFEST_FIELD} and "
                           f"{FILES_FIELD}", field=unknown[0])  # fmt: skip
        config = form.get(CONFIG_FIELD)
        raw = (await config.read()) if isinstance(config, UploadFile) else (config or "").encode()
        text = _decoded(raw, CONFIG_FIELD)
        parts = form.getlist(FILES_FIELD)
        if not all(isinstance(part, UploadFile) for part in parts):
            raise ApiError(
                422, f"every {FILES_FIELD} part must be a file part (with a filename)", field=FILES_FIELD
            )
        manifest_text = form.get(MANIFEST_FIELD)
        bundle = None
        if manifest_text is not None or parts:
            if not isinstance(manifest_text, str):
                raise ApiError(
                    422, f"send the {MANIFEST_FIELD} (a form field) with the files", field=MANIFEST_FIELD
                )
            manifest = checked_manifest(manifest_text, len(parts), limits)
            bundle = ReceivedBundle(manifest, [part.file for part in parts if isinstance(part, UploadFile)])
        yield SubmissionBody(text, bundle)
    finally:
        await form.close()


async def submit_from(request: Request, principal: Principal, submit: Check) -> Accepted:
    """Read the submission (with its files, if it carries any) and hand it to ``submit`` in a worker thread (storage
    and YAML work block)."""
    from fastapi.concurrency import run_in_threadpool

    from hawk_dagster.api.submissions import submit_received

    async with submission_body(request) as body:
        accepted: Accepted = await run_in_threadpool(
            submit_received, submit, request.app.state.storage, body.text, principal, body.bundle,
            request.app.state.settings.carry_limits,
        )  # fmt: skip
    return accepted
