"""The edit request file: a JSON array or JSONL of edits, parsed and validated as a whole before anything changes.

Each edit is the reference system's shape, ``{"sample_uuid": ..., "details": {"type": ..., ...}}``, or the same
fields flat (``{"sample_uuid": ..., "type": ..., ...}``):

- ``score_edit``: ``scorer``, a ``reason``, and at least one of ``value`` / ``answer`` / ``explanation`` /
  ``metadata`` (a field left out is unchanged; ``metadata`` replaces the score's metadata, as Inspect does);
- ``invalidate_sample``: a ``reason``;
- ``uninvalidate_sample``: a ``reason`` is optional (the reference system has none).

Errors name the edit (``line N`` of a JSONL file, 1-based; ``item N`` of a JSON array, 0-based) and the field. The
file is bounded (:data:`MAX_REQUEST_BYTES`, :data:`MAX_EDITS`) so a mistaken multi-GB file is refused at once.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, TypeAdapter, ValidationError

MAX_REQUEST_BYTES = 8 << 20
"""Largest request file read (8 MiB): 10,000 score edits with long explanations fit; a log by mistake does not."""
MAX_EDITS = 50_000
"""Most edits in one request."""
MAX_REASON_CHARS = 10_000

Scalar = str | int | float | bool | None
ScoreValue = Scalar | list[Scalar] | dict[str, Scalar]
"""Inspect's ``Value``: a scalar, a list of scalars or a dict."""

NonEmpty = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_REASON_CHARS)]


class RequestError(ValueError):
    """The request file cannot be used; the message names the edit and the field. Nothing was changed."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScoreEditDetails(_Strict):
    type: Literal["score_edit"]
    scorer: NonEmpty
    reason: Reason
    value: ScoreValue = None
    answer: str | None = None
    explanation: str | None = None
    metadata: dict[str, Any] | None = None


class InvalidateDetails(_Strict):
    type: Literal["invalidate_sample"]
    reason: Reason


class UninvalidateDetails(_Strict):
    type: Literal["uninvalidate_sample"]
    reason: Reason | None = None


Details = Annotated[ScoreEditDetails | InvalidateDetails | UninvalidateDetails, Field(discriminator="type")]


class _Nested(_Strict):
    sample_uuid: NonEmpty
    details: Details


_DETAILS: TypeAdapter[ScoreEditDetails | InvalidateDetails | UninvalidateDetails] = TypeAdapter(Details)
_NESTED = TypeAdapter(_Nested)
SCORE_FIELDS = ("value", "answer", "explanation", "metadata")
"""What a score edit may change; a field absent from the edit stays as it is."""


@dataclass(frozen=True)
class Edit:
    """One validated edit. ``changes`` holds only the score fields the edit gives (``None`` is a value: cleared)."""

    where: str
    """``line 3`` or ``item 2``: for messages."""
    sample_uuid: str
    type: str
    reason: str | None
    scorer: str = ""
    changes: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> tuple[str, str, str]:
        """What may appear once per request: (sample_uuid, type, scorer)."""
        return (self.sample_uuid, self.type, self.scorer)

    def as_json(self) -> dict[str, Any]:
        """The edit in the flat request shape (for the request id and summaries)."""
        data: dict[str, Any] = {"sample_uuid": self.sample_uuid, "type": self.type}
        if self.scorer:
            data["scorer"] = self.scorer
        data.update(dict(self.changes))
        if self.reason is not None:
            data["reason"] = self.reason
        return data


@dataclass(frozen=True)
class EditRequest:
    edits: tuple[Edit, ...]

    def request_id(self, author: str) -> str:
        """The same author and edits give the same id: a re-run of a request is recognised (and not applied twice)."""
        canonical = json.dumps([author, [e.as_json() for e in self.edits]], sort_keys=True, default=str)
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def read_request(path: Path) -> EditRequest:
    """Read and validate a request file (``.jsonl``: one edit per line; otherwise a JSON array, or JSONL if the
    text does not start with ``[``)."""
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_REQUEST_BYTES + 1)
    except OSError as ex:
        raise RequestError(f"cannot read {path}: {ex.strerror or ex}") from None
    if len(data) > MAX_REQUEST_BYTES:
        raise RequestError(
            f"{path} is larger than {MAX_REQUEST_BYTES >> 20} MiB; split the edits into several requests"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as ex:
        raise RequestError(f"{path} is not UTF-8 text (byte {ex.start})") from None
    return parse_request(text, jsonl=path.suffix.lower() == ".jsonl")


def parse_request(text: str, *, jsonl: bool | None = None) -> EditRequest:
    """Validate a request's text as a whole: every edit, then duplicates. Raises :class:`RequestError`."""
    if len(text.encode("utf-8")) > MAX_REQUEST_BYTES:
        raise RequestError(f"the request is larger than {MAX_REQUEST_BYTES >> 20} MiB; split it")
    stripped = text.lstrip("\ufeff \t\r\n")
    if jsonl is None:
        jsonl = not stripped.startswith("[")
    items: list[tuple[str, Any]] = []
    if jsonl:
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                items.append((f"line {number}", json.loads(line)))
            except json.JSONDecodeError as ex:
                raise RequestError(f"line {number}: not JSON: {ex.msg} (column {ex.colno})") from None
    else:
        try:
            parsed = json.loads(stripped)
        except json.JSONDecodeError as ex:
            raise RequestError(f"not JSON: {ex.msg} (line {ex.lineno}, column {ex.colno})") from None
        if not isinstance(parsed, list):
            raise RequestError(
                f"a JSON request must be an array of edits, not {type(parsed).__name__}; or write one edit per "
                "line (JSONL)"
            )
        items = [(f"item {index}", item) for index, item in enumerate(parsed)]
    if not items:
        raise RequestError("the request holds no edits")
    if len(items) > MAX_EDITS:
        raise RequestError(f"the request holds {len(items):,} edits; at most {MAX_EDITS:,} per request")
    edits = [_edit(where, item) for where, item in items]
    seen: dict[tuple[str, str, str], str] = {}
    for edit in edits:
        first = seen.setdefault(edit.key, edit.where)
        if first != edit.where:
            scorer = f", scorer {edit.scorer!r}" if edit.scorer else ""
            raise RequestError(
                f"{edit.where}: duplicate of {first} (sample {edit.sample_uuid!r}, {edit.type}{scorer}); "
                "each (sample_uuid, type, scorer) may appear once per request: merge them"
            )
    return EditRequest(tuple(edits))


def _edit(where: str, item: Any) -> Edit:
    if not isinstance(item, dict):
        raise RequestError(f"{where}: an edit must be a JSON object, not {type(item).__name__}")
    try:
        if "details" in item:
            nested = _NESTED.validate_python(item)
            uuid, details = nested.sample_uuid, nested.details
        else:
            rest = {k: v for k, v in item.items() if k != "sample_uuid"}
            if "sample_uuid" not in item:
                raise RequestError(f"{where}: field 'sample_uuid' is required")
            if "type" not in rest:
                unknown = sorted(set(rest) - {"type", *ScoreEditDetails.model_fields})
                hint = f" (unknown field {unknown[0]!r}: use 'details' or the flat shape)" if unknown else ""
                raise RequestError(f"{where}: field 'type' is required (allowed: {_ALLOWED['type']}){hint}")
            uuid = _NESTED.validate_python({"sample_uuid": item["sample_uuid"], "details": rest}).sample_uuid
            details = _DETAILS.validate_python(rest)
    except ValidationError as ex:
        details_of = item.get("details") if "details" in item else item
        kind = details_of.get("type") if isinstance(details_of, dict) else None
        raise RequestError(f"{where}: {_first_error(ex, nested='details' in item, kind=kind)}") from None
    if isinstance(details, ScoreEditDetails):
        changes = tuple((f, getattr(details, f)) for f in SCORE_FIELDS if f in details.model_fields_set)
        if not changes:
            raise RequestError(
                f"{where}: a score_edit must change at least one of {', '.join(SCORE_FIELDS)} (scorer "
                f"{details.scorer!r})"
            )
        return Edit(where, uuid, details.type, details.reason, details.scorer, changes)
    return Edit(where, uuid, details.type, details.reason)


_ALLOWED = {
    "type": "one of score_edit, invalidate_sample, uninvalidate_sample",
    "scorer": "the name of one of the sample's scorers",
    "reason": f"a non-empty string of at most {MAX_REASON_CHARS:,} characters",
    "sample_uuid": "the sample's uuid (see `hawk list samples`)",
    "value": "a score value: a number, string, boolean, null, a list of those or an object",
    "metadata": "an object",
}


_FIELDS: dict[str, type[BaseModel]] = {
    "score_edit": ScoreEditDetails,
    "invalidate_sample": InvalidateDetails,
    "uninvalidate_sample": UninvalidateDetails,
}


def _first_error(ex: ValidationError, *, nested: bool, kind: Any) -> str:
    error = ex.errors()[0]
    # drop list indexes and the discriminator tag pydantic adds to the path ("details.score_edit.value")
    loc = [str(part) for part in error["loc"] if not isinstance(part, int) and part not in _FIELDS]
    for index, part in enumerate(loc):  # a union's member names follow the field: "value.str" -> "value"
        if part in SCORE_FIELDS:
            loc = loc[: index + 1]
            break
    field = ".".join(loc)
    if not nested:
        field = field.removeprefix("details.")
    leaf = loc[-1] if loc else ""
    if error["type"] in ("union_tag_invalid", "union_tag_not_found"):
        field, leaf = ("details.type" if nested else "type"), "type"
    if error["type"] == "extra_forbidden":
        model = _FIELDS.get(kind) if isinstance(kind, str) else None
        allowed = ", ".join(model.model_fields) if model is not None and leaf not in ("details",) else ""
        if leaf in (loc[0] if loc else "",) and nested:
            allowed = "sample_uuid, details"
        elif not nested and model is not None:
            allowed = ", ".join(["sample_uuid", *model.model_fields])
        return f"unknown field {field!r}" + (f"; allowed for {kind}: {allowed}" if allowed else "")
    hint = _ALLOWED.get(leaf)
    return f"field {field!r}: {error['msg']}" + (f" (allowed: {hint})" if hint else "")
