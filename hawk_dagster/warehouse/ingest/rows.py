"""Warehouse rows from one sample's JSON (as Inspect writes it to ``samples/<id>_epoch_<n>.json``).

Rows are tuples in the column order of :data:`SAMPLE_COLUMNS`, :data:`MESSAGE_COLUMNS` and :data:`SCORE_COLUMNS`,
ready for ``COPY ... FROM STDIN`` (psycopg ``write_row``): JSONB columns are JSON text, timestamps are Inspect's ISO
strings (PostgreSQL parses them), ``None`` is NULL. Message and score rows leave the sample's pk out (it is known only
after the sample upsert); the importer puts it in front.

PostgreSQL text and JSONB cannot hold NUL characters, JSONB rejects NaN/Infinity, and a lone UTF-16 surrogate
(``"\\ud800"`` in JSON) cannot be encoded. NUL and lone surrogates only ever appear in the raw JSON as ``\\u``
escapes, so one scan of the member's bytes rules them out for almost every sample; a non-finite number makes the
strict JSON encoder raise. Either way the sample is sanitised once, as a whole, and its rows rebuilt (NUL and lone
surrogates become U+FFFD, non-finite floats the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``). Clean samples take
the fast path with no per-field checks.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from hawk_dagster.warehouse.ingest.scores import score_rows
from hawk_dagster.warehouse.sample_json import attachment_resolver, message_text
from hawk_dagster.warehouse.schema.search import search_document

SAMPLE_COLUMNS = (
    "uuid",
    "id",
    "epoch",
    "input",
    "target",
    "output",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "reasoning_tokens",
    "input_tokens_cache_read",
    "input_tokens_cache_write",
    "total_time_seconds",
    "working_time_seconds",
    "message_count",
    "turn_count",
    "action_count",
    "retries",
    "error_message",
    "error_traceback",
    "limit",
    "started_at",
    "completed_at",
    "invalidation_timestamp",
    "invalidation_author",
    "invalidation_reason",
    "search_text",
    "metadata",
    "model_usage",
    "headline_value",
    "limit_value",
    "message_limit",
    "token_limit",
    "token_limit_type",
    "token_limit_usage",
    "time_limit_seconds",
    "role_usage",
)
"""Sample columns the importer writes (besides ``eval_pk``); the rest are generated or defaulted."""

MESSAGE_COLUMNS = (
    "sample_pk",
    "message_order",
    "message_id",
    "role",
    "source",
    "content_text",
    "content_reasoning",
    "tool_calls",
    "tool_call_id",
    "tool_call_function",
    "tool_error_type",
    "tool_error_message",
    "model",
)

SCORE_COLUMNS = (
    "sample_pk",
    "sample_uuid",
    "scorer",
    "key",
    "value",
    "value_float",
    "answer",
    "explanation",
    "metadata",
    "is_headline",
    "scored_at",
)

SAMPLE_MODEL_COLUMNS = ("sample_pk", "model")

_TOKEN_FIELDS = (
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "reasoning_tokens",
    "input_tokens_cache_read",
    "input_tokens_cache_write",
)

HeadlineFlags = Callable[[str, list[str]], list[bool]]
"""(scorer, keys of its rows) -> which rows are the headline."""


@dataclass
class SampleRows:
    """Everything one sample contributes to the warehouse."""

    uuid: str
    key: tuple[str, int]
    sample: tuple[Any, ...]
    messages: list[tuple[Any, ...]] = field(default_factory=list)
    """Message rows without sample_pk."""
    scores: list[tuple[Any, ...]] = field(default_factory=list)
    """Score rows without sample_pk (sample_uuid first)."""
    models: list[str] = field(default_factory=list)


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))

dumps: Callable[[Any], str] = _ENCODER.encode
"""JSON text for a JSONB column (compact, UTF-8, strict: raises ValueError on NaN/Infinity). One shared encoder:
``json.dumps`` with non-default options builds a new encoder per call, which costs more than encoding a short value."""

_BAD_ESCAPES = (b"\\u0000", b"\\ud", b"\\uD")


def needs_sanitising(raw: bytes | None) -> bool:
    """True when the raw JSON may hold a NUL or a lone surrogate (both only ever appear as ``\\u`` escapes, so one
    memchr-speed scan rules them out for almost every sample). Non-finite numbers are caught when dumping JSONB."""
    return raw is None or (b"\\u" in raw and any(marker in raw for marker in _BAD_ESCAPES))


def sanitise(value: Any) -> Any:
    """A copy of a JSON value that PostgreSQL text and JSONB accept (see the module docstring)."""
    if isinstance(value, str):
        return _clean_text(value)
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {_clean_text(str(k)): sanitise(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitise(v) for v in value]
    return value


def _clean_text(text: str) -> str:
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def sample_rows(
    data: dict[str, Any],
    *,
    task_id: str,
    eval_model: str | None,
    headline: HeadlineFlags,
    raw: bytes | None = None,
) -> SampleRows:
    """Rows for one sample's JSON. ``raw`` (the member's bytes) lets clean samples skip sanitising."""
    if needs_sanitising(raw):
        return _sample_rows(sanitise(data), task_id, eval_model, headline)
    try:
        return _sample_rows(data, task_id, eval_model, headline)
    except ValueError:  # NaN or Infinity in a value bound for JSONB
        return _sample_rows(sanitise(data), task_id, eval_model, headline)


def _sample_rows(
    data: dict[str, Any], task_id: str, eval_model: str | None, headline: HeadlineFlags
) -> SampleRows:
    resolve = attachment_resolver(data)
    sample_id = str(data["id"])
    epoch = int(data["epoch"])
    uuid = data.get("uuid") or f"{task_id}:{sample_id}:{epoch}"  # Inspect < 0.3.70 wrote no uuid

    message_rows: list[tuple[Any, ...]] = []
    transcript: list[str] = []
    action_count = 0
    messages = data.get("messages") or []
    for order, message in enumerate(messages):
        text, reasoning = message_text(message.get("content"), resolve)
        tool_calls = message.get("tool_calls")
        error = message.get("error")
        if text:
            transcript.append(text)
        if tool_calls:
            action_count += len(tool_calls)
            transcript.extend(_tool_call_text(call, resolve) for call in tool_calls)
        if error and error.get("message"):
            transcript.append(error["message"])
        message_rows.append(
            (
                order,
                message.get("id"),
                message.get("role"),
                message.get("source"),
                text,
                reasoning,
                dumps(tool_calls) if tool_calls else None,
                message.get("tool_call_id"),
                message.get("function"),
                error.get("type") if error else None,
                error.get("message") if error else None,
                message.get("model"),
            )
        )

    usage: dict[str, dict[str, Any]] = data.get("model_usage") or {}
    totals: dict[str, int | None] = {
        **dict.fromkeys(_TOKEN_FIELDS),
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
    }
    for model_usage in usage.values():
        for name in _TOKEN_FIELDS:
            value = model_usage.get(name)
            if value is not None:
                totals[name] = (totals[name] or 0) + int(value)

    error = data.get("error")
    limit = data.get("limit")
    invalidation = data.get("invalidation")
    retries = data.get("error_retries")
    input_value = data.get("input")
    target = data.get("target")
    output = _completion(data.get("output"), resolve)
    input_text = (
        resolve(input_value)
        if isinstance(input_value, str)
        else "\n".join(message_text(m.get("content"), resolve)[0] or "" for m in input_value or [])
    )
    target_text = target if isinstance(target, str) else "\n".join(str(t) for t in target or [])
    search_text = search_document(
        sample_id, input_text if not messages else "", target_text, transcript, output
    )

    sample = (
        uuid,
        sample_id,
        epoch,
        dumps(input_value),
        dumps(target),
        output,
        totals["input_tokens"],
        totals["output_tokens"],
        totals["total_tokens"],
        totals["reasoning_tokens"],
        totals["input_tokens_cache_read"],
        totals["input_tokens_cache_write"],
        data.get("total_time"),
        data.get("working_time"),
        len(messages),
        data.get("turn_count"),
        action_count,
        len(retries) if retries is not None else None,
        error.get("message") if error else None,
        error.get("traceback") if error else None,
        limit.get("type") if limit else None,
        data.get("started_at"),
        data.get("completed_at"),
        invalidation.get("timestamp") if invalidation else None,
        invalidation.get("author") if invalidation else None,
        invalidation.get("reason") if invalidation else None,
        search_text,
        dumps(data.get("metadata") or {}),
        dumps(usage),
    )

    exploded = list(score_rows(data.get("scores")))
    scored_at = _scored_at(data.get("events"))
    flags = [False] * len(exploded)
    by_scorer: dict[str, list[int]] = {}
    for index, score in enumerate(exploded):
        by_scorer.setdefault(score.scorer, []).append(index)
    for scorer, indexes in by_scorer.items():
        for index, flag in zip(indexes, headline(scorer, [exploded[i].key for i in indexes]), strict=True):
            flags[index] = flag
    score_rows_out = [
        (
            uuid,
            score.scorer,
            score.key,
            dumps(score.value),
            score.value_float,
            _text_or_none(score.answer),
            _text_or_none(score.explanation),
            dumps(score.metadata),
            flag,
            scored_at.get(score.scorer),
        )
        for score, flag in zip(exploded, flags, strict=True)
    ]
    headline_value = next((s.value_float for s, flag in zip(exploded, flags, strict=True) if flag), None)
    sample_row: tuple[Any, ...] = (
        *sample,
        headline_value,
        limit.get("limit") if limit else None,
        data.get("message_limit"),
        data.get("token_limit"),
        data.get("token_limit_type"),
        data.get("token_limit_usage"),
        data.get("time_limit"),
        dumps(data.get("role_usage") or {}),
    )

    models = list(usage)
    if eval_model and eval_model not in usage:
        models.append(eval_model)
    return SampleRows(
        uuid=uuid,
        key=(sample_id, epoch),
        sample=sample_row,
        messages=message_rows,
        scores=score_rows_out,
        models=models,
    )


def _tool_call_text(call: dict[str, Any], resolve: Callable[[str], str]) -> str:
    """``function`` and the argument values as text (strings raw, so ``sudo`` in a bash command is found)."""
    arguments = call.get("arguments") or {}
    values = (
        [resolve(v) if isinstance(v, str) else dumps(v) for v in arguments.values()]
        if isinstance(arguments, dict)
        else [str(arguments)]
    )
    return " ".join([call.get("function") or "", *values])


def _scored_at(events: list[dict[str, Any]] | None) -> dict[str, str]:
    """Scorer name -> timestamp of its last final (non-intermediate) score event."""
    found: dict[str, str] = {}
    for event in events or ():
        if event.get("event") == "score" and not event.get("intermediate"):
            scorer, timestamp = event.get("scorer"), event.get("timestamp")
            if scorer and timestamp:
                found[scorer] = timestamp
    return found


def _completion(output: dict[str, Any] | None, resolve: Callable[[str], str]) -> str:
    """``ModelOutput.completion``, falling back to the first choice's text as Inspect's validator does."""
    if not output:
        return ""
    completion = output.get("completion")
    if completion:
        return resolve(completion)
    choices = output.get("choices") or []
    if not choices:
        return ""
    return message_text((choices[0].get("message") or {}).get("content"), resolve)[0] or ""


def _text_or_none(value: Any) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return dumps(value)
