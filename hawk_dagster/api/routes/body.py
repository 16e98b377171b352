"""Text request bodies (a config: YAML, JSON being YAML too; sample edits: JSON or JSONL), UTF-8, read whole within
the server's body limit."""

from __future__ import annotations

from typing import Any, Final

from fastapi import Request

from hawk_dagster.api.errors import ApiError

CONFIG_MEDIA_TYPES: Final = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml", "text/plain",
                             "application/json")  # fmt: skip

CONFIG_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "description": "The config as YAML (or JSON), exactly as `hawk validate` takes it.",
        "content": {media: {"schema": {"type": "string"}} for media in CONFIG_MEDIA_TYPES[:1]},
    }
}


async def config_text(request: Request) -> str:
    return (await body_text(request, CONFIG_MEDIA_TYPES, "the config", code="invalid_config"))[1]


async def body_text(
    request: Request, media_types: tuple[str, ...], what: str, *, code: str
) -> tuple[str, str]:
    """``(media type, text)`` of a non-empty UTF-8 body of one of ``media_types``; 415 or 422 otherwise."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in media_types:
        raise ApiError(
            415,
            f"send {what} as one of {', '.join(media_types)}; got {media or 'no Content-Type'}",
            field="Content-Type",
        )
    raw = await request.body()
    if not raw.strip():
        raise ApiError(422, f"the body is empty; send {what}", code=code, field="body")
    try:
        return media, raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise ApiError(
            422, f"the body is not UTF-8 text (byte {ex.start})", code=code, field="body"
        ) from None
