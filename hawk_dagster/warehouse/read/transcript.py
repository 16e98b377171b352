"""A sample's conversation as Markdown: messages in order, tool calls and their results, scores, the error.

Rendered from the sample as Inspect wrote it into the log (``samples/<id>_epoch_<n>.json`` in the ``.eval`` zip), so
the transcript shows exactly what the model saw and said, whatever the warehouse chose to index. Read as plain JSON,
without Inspect: ``hawk transcript`` answers in a fraction of a second instead of loading Inspect for seconds.

:func:`sample_transcript` is the way in for a reader with a viewer: the sample is found through the viewer-filtered
``queries.sample_location`` (an invisible uuid raises ``UnknownIdError`` like an absent one) before its log is
opened. :func:`read_sample` opens a location it is given and must only be given one found that way.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, BinaryIO

from hawk_dagster.warehouse.sample_json import attachment_resolver, message_text

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from hawk_dagster.access.principal import Principal


class SampleNotInLogError(LookupError):
    """The log the warehouse points at does not hold the sample (it was rewritten or moved since the import)."""


@dataclass(frozen=True)
class SampleTranscript:
    """A sample's JSON from its log and where the warehouse says it lives (task, model, eval set, log)."""

    location: Mapping[str, Any]
    sample: dict[str, Any]

    def markdown(self) -> str:
        return render_markdown(self.sample, task=self.location["task"], model=self.location["model"])


def sample_transcript(engine: Engine, uuid: str, *, viewer: Principal | None = None) -> SampleTranscript:
    """The sample ``uuid`` as ``viewer`` may see it: ``UnknownIdError`` when absent or not visible,
    ``SampleNotInLogError`` when its log no longer holds it."""
    from hawk_dagster.warehouse.read.queries import sample_location

    where = sample_location(engine, uuid, viewer=viewer)
    return SampleTranscript(where, read_sample(where["location"], where["id"], where["epoch"], uuid))


def read_sample(location: str, sample_id: str, epoch: int, uuid: str) -> dict[str, Any]:
    """The sample's JSON from its log: a local path or a URI (``s3://``, read through fsspec)."""
    if not location.endswith(".eval"):
        return _read_with_inspect(location, uuid)  # a legacy .json log: one document, Inspect reads it
    import zipfile_zstd  # noqa: F401  (registers the zstd codec Inspect compresses members with)

    member = f"samples/{sample_id}_epoch_{epoch}.json"
    with _open(location) as stream, zipfile.ZipFile(stream) as log:
        try:
            data = json.loads(log.read(member))
        except KeyError:
            raise SampleNotInLogError(f"{location} holds no {member}; re-import the eval set") from None
    if not isinstance(data, dict) or data.get("uuid") != uuid:
        raise SampleNotInLogError(f"{member} in {location} is not sample {uuid}; re-import the eval set")
    return data


def _open(location: str) -> BinaryIO:
    if "://" not in location or location.startswith("file://"):
        return open(location.removeprefix("file://"), "rb")
    import fsspec

    stream: BinaryIO = fsspec.open(location, "rb").open()
    return stream


def _read_with_inspect(location: str, uuid: str) -> dict[str, Any]:
    from inspect_ai.log import read_eval_log_sample

    return read_eval_log_sample(location, uuid=uuid).model_dump(mode="json", exclude_none=True)


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


def _cell(value: Any) -> str:
    return _text(value).replace("\n", " ").replace("|", "\\|")


def _message(index: int, message: Mapping[str, Any], resolve: Callable[[str], str]) -> list[str]:
    role = message.get("role", "?")
    function = f" ({message.get('function')})" if role == "tool" and message.get("function") else ""
    lines = [f"### {index}. {role}{function}"]
    text, reasoning = message_text(message.get("content"), resolve)
    if role == "assistant" and reasoning:
        lines += ["", "> " + reasoning.replace("\n", "\n> ")]
    if text:
        lines += ["", text]
    for call in message.get("tool_calls") or [] if role == "assistant" else []:
        lines += [
            "",
            f"**tool call** `{call.get('function')}` (id `{call.get('id')}`)",
            "",
            _fence(_text(call.get("arguments")), "json"),
        ]
    error = message.get("error") if role == "tool" else None
    if error:
        lines += ["", f"**tool error** ({error.get('type')}): {error.get('message')}"]
    return lines


def render_markdown(sample: Mapping[str, Any], *, task: str | None = None, model: str | None = None) -> str:
    """The sample (Inspect's JSON form of ``EvalSample``) as Markdown."""
    lines = [
        f"# Sample {sample.get('id')} (epoch {sample.get('epoch')})",
        "",
        f"- uuid: `{sample.get('uuid')}`",
    ]
    if task:
        lines.append(f"- task: {task}")
    if model:
        lines.append(f"- model: {model}")
    if sample.get("target"):
        lines.append(f"- target: {_text(sample['target'])}")
    limit = sample.get("limit")
    if limit:
        lines.append(f"- limit hit: {limit.get('type')} ({limit.get('limit')})")
    if sample.get("total_time") is not None:
        working = sample.get("working_time") or 0
        lines.append(f"- time: {sample['total_time']:.1f} s total, {working:.1f} s working")
    if sample.get("metadata"):
        lines += ["", "## Metadata", "", _fence(_text(sample["metadata"]), "json")]
    lines += ["", "## Messages"]
    resolve = attachment_resolver(sample)
    for index, message in enumerate(sample.get("messages") or [], start=1):
        lines += ["", *_message(index, message, resolve)]
    scores = sample.get("scores") or {}
    if scores:
        lines += ["", "## Scores", "", "| scorer | value | answer | explanation |", "|---|---|---|---|"]
        for name, score in scores.items():
            lines.append(
                f"| {name} | {_text(score.get('value'))} | {_cell(score.get('answer'))} "
                f"| {_cell(score.get('explanation'))} |"
            )
    error = sample.get("error")
    if error:
        lines += ["", "## Error", "", error.get("message") or "", "", _fence(error.get("traceback") or "")]
    return "\n".join(lines) + "\n"
