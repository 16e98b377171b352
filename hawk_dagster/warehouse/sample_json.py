"""Inspect's sample JSON read without Inspect: the pieces the importer and the transcript renderer both need.

Logs hold each sample as ``EvalSample`` dumped to JSON; large content may be moved to the sample's ``attachments``
and referenced as ``attachment://<hash>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

ATTACHMENT_PREFIX = "attachment://"


def attachment_resolver(sample: Mapping[str, Any]) -> Callable[[str], str]:
    """Replaces ``attachment://<hash>`` references with the sample's attachment (unknown ones stay as they are)."""
    attachments = sample.get("attachments") or {}

    def resolve(text: str) -> str:
        if text.startswith(ATTACHMENT_PREFIX):
            return str(attachments.get(text[len(ATTACHMENT_PREFIX) :], text))
        return text

    return resolve


def message_text(content: Any, resolve: Callable[[str], str]) -> tuple[str | None, str | None]:
    """(text, reasoning) of a message's content: text parts joined by newlines, as ``ChatMessage.text`` does."""
    if isinstance(content, str):
        return resolve(content), None
    if not content:
        return ("" if content is not None else None), None
    texts: list[str] = []
    reasoning: list[str] = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            texts.append(resolve(part.get("text") or ""))
        elif kind == "reasoning":
            value = part.get("summary") if part.get("redacted") else part.get("reasoning")
            if value:
                reasoning.append(resolve(value))
    return "\n".join(texts), ("\n".join(reasoning) if reasoning else None)
