"""A sample's conversation as Markdown: messages in order, tool calls and their results, scores, the error.

Rendered from Inspect's own ``EvalSample`` (read from the log), so the transcript shows exactly what the model saw and
said, attachments resolved, whatever the warehouse chose to index.
"""

from __future__ import annotations

import json
from typing import Any

from inspect_ai.log import EvalSample
from inspect_ai.model import ChatMessage, ChatMessageAssistant, ChatMessageTool


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, indent=2, default=str)


def _fence(body: str, lang: str = "") -> str:
    fence = "```"
    while fence in body:
        fence += "`"
    return f"{fence}{lang}\n{body.rstrip()}\n{fence}"


def _message(index: int, message: ChatMessage) -> list[str]:
    role = message.role
    lines = [
        f"### {index}. {role}" + (f" ({message.function})" if isinstance(message, ChatMessageTool) else "")
    ]
    if isinstance(message, ChatMessageAssistant):
        reasoning = (
            [c.reasoning for c in message.content if getattr(c, "type", None) == "reasoning"]
            if isinstance(message.content, list)
            else []
        )
        for block in reasoning:
            lines += ["", "> " + block.replace("\n", "\n> ")]
    text = message.text
    if text:
        lines += ["", text]
    if isinstance(message, ChatMessageAssistant):
        for call in message.tool_calls or []:
            lines += [
                "",
                f"**tool call** `{call.function}` (id `{call.id}`)",
                "",
                _fence(_text(call.arguments), "json"),
            ]
    if isinstance(message, ChatMessageTool) and message.error is not None:
        lines += ["", f"**tool error** ({message.error.type}): {message.error.message}"]
    return lines


def render_markdown(sample: EvalSample, *, task: str | None = None, model: str | None = None) -> str:
    title = f"# Sample {sample.id} (epoch {sample.epoch})"
    lines = [title, "", f"- uuid: `{sample.uuid}`"]
    if task:
        lines.append(f"- task: {task}")
    if model:
        lines.append(f"- model: {model}")
    if sample.target:
        lines.append(f"- target: {_text(sample.target)}")
    if sample.limit is not None:
        lines.append(f"- limit hit: {sample.limit.type} ({sample.limit.limit})")
    if sample.total_time is not None:
        lines.append(f"- time: {sample.total_time:.1f} s total, {sample.working_time or 0:.1f} s working")
    if sample.metadata:
        lines += ["", "## Metadata", "", _fence(_text(sample.metadata), "json")]
    lines += ["", "## Messages"]
    for index, message in enumerate(sample.messages, start=1):
        lines += ["", *_message(index, message)]
    if sample.scores:
        lines += ["", "## Scores", "", "| scorer | value | answer | explanation |", "|---|---|---|---|"]
        for name, score in sample.scores.items():
            explanation = (score.explanation or "").replace("\n", " ").replace("|", "\\|")
            answer = (score.answer or "").replace("\n", " ").replace("|", "\\|")
            lines.append(f"| {name} | {_text(score.value)} | {answer} | {explanation} |")
    if sample.error is not None:
        lines += ["", "## Error", "", sample.error.message, "", _fence(sample.error.traceback or "")]
    return "\n".join(lines) + "\n"
