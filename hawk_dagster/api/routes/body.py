"""A config in a request body: YAML (JSON is YAML too), UTF-8, read whole within the server's body limit."""

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
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in CONFIG_MEDIA_TYPES:
        raise ApiError(
            415,
            f"send the config as one of {', '.join(CONFIG_MEDIA_TYPES)}; got {media or 'no Content-Type'}",
            field="Content-Type",
        )
    raw = await request.body()
    if not raw.strip():
        raise ApiError(422, "the body is empty; send the config", code="invalid_config", field="body")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise ApiError(422, f"the body is not UTF-8 text (byte {ex.start})", code="invalid_config",
                       field="body") from None  # fmt: skip
