"""A keyword scanner: which messages of a transcript mention a word (text, tool-call arguments, tool errors)."""

from __future__ import annotations

import json

from inspect_scout import Result, Scanner, Transcript, scanner


@scanner(messages="all")
def keyword(keyword: str, ignore_case: bool = True) -> Scanner[Transcript]:
    """True when any message mentions ``keyword``; the explanation counts the messages and names their roles."""
    needle = keyword.lower() if ignore_case else keyword

    def mentions(text: str | None) -> bool:
        if not text:
            return False
        return needle in (text.lower() if ignore_case else text)

    async def scan(transcript: Transcript) -> Result:
        hits = []
        for message in transcript.messages:
            texts = [message.text]
            for call in getattr(message, "tool_calls", None) or []:
                texts.append(json.dumps(call.arguments))
            error = getattr(message, "error", None)
            if error is not None:
                texts.append(error.message)
            if any(mentions(text) for text in texts):
                hits.append(message)
        roles = sorted({m.role for m in hits})
        return Result(
            value=bool(hits),
            explanation=f"{len(hits)} message(s) mention {keyword!r}"
            + (f" ({', '.join(roles)})" if roles else ""),
            metadata={"hits": len(hits)},
        )

    return scan
