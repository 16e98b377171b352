"""The edits of one request applied to one in-memory ``EvalLog`` with Inspect's own editing API.

- score edits: ``inspect_ai.log.edit_score`` with a ``ScoreEdit`` carrying ``ProvenanceData`` (author, reason,
  timestamp), so the score's ``history`` and a ``ScoreEditEvent`` in the transcript show who changed what (Inspect's
  viewer shows both);
- ``invalidate_samples`` / ``uninvalidate_samples``: ``sample.invalidation`` and the log's ``invalidated`` flag, as
  Inspect records them;
- metrics recomputed once for the whole log (``recompute_metrics``); a log whose scorers' metrics cannot be resolved
  in this process (a custom scorer) keeps its old results, and the outcome says so.

``edit_score`` finds its sample by a scan of ``log.samples``; it is handed a one-sample view of the log instead, so a
thousand edits cost a thousand dictionary look-ups, not ten million comparisons.

Every provenance carries the request id (``metadata.hawk_request_id``): a re-run of the same request finds its edits
already in the log and does not apply them twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic_core import to_jsonable_python

from hawk_dagster.edits.request import SCORE_FIELDS, Edit

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog, EvalSample
    from inspect_ai.scorer import Score, ScoreEdit

REQUEST_KEY = "hawk_request_id"
"""Provenance metadata key holding the request id."""

APPLIED, ALREADY_APPLIED, UNCHANGED = "applied", "already applied", "unchanged"


class EvalRunningError(RuntimeError):
    """The log's eval is still running (or was interrupted): its runner would overwrite an edit."""


class LogMismatchError(RuntimeError):
    """The log no longer holds a sample or scorer the warehouse named: the warehouse is older than the log."""


@dataclass(frozen=True)
class AppliedEdit:
    edit: Edit
    status: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    edited_at: datetime


@dataclass
class LogOutcome:
    edits: list[AppliedEdit] = field(default_factory=list)
    metrics_recomputed: bool = False
    metrics_note: str = ""

    @property
    def changed(self) -> bool:
        return any(applied.status == APPLIED for applied in self.edits)


def apply_to_log(
    log: EvalLog, edits: list[Edit], *, author: str, request_id: str, now: datetime
) -> tuple[EvalLog, LogOutcome]:
    """Apply ``edits`` (all of one log) and return the new log and what happened to each edit."""
    from inspect_ai.log import ProvenanceData, invalidate_samples, uninvalidate_samples

    if log.status == "started":
        raise EvalRunningError(f"{log.location}: its eval is still running (log status 'started')")
    samples = {str(sample.uuid): sample for sample in log.samples or []}
    missing = sorted({e.sample_uuid for e in edits} - samples.keys())
    if missing:
        raise LogMismatchError(
            f"{log.location} holds no sample {', '.join(map(repr, missing[:5]))}: the warehouse is older than the "
            "log; import the eval set again (materialise its eval_warehouse partition) and retry"
        )

    def provenance(reason: str | None) -> ProvenanceData:
        return ProvenanceData(timestamp=now, author=author, reason=reason, metadata={REQUEST_KEY: request_id})

    outcome = LogOutcome()
    by_edit: dict[int, AppliedEdit] = {}
    shell = log.model_copy()
    for index, edit in enumerate(edits):
        if edit.type != "score_edit":
            continue
        sample = samples[edit.sample_uuid]
        score = (sample.scores or {}).get(edit.scorer)
        if score is None:
            have = ", ".join(sorted(sample.scores or {})) or "none"
            raise LogMismatchError(
                f"{log.location}: sample {edit.sample_uuid!r} has no score {edit.scorer!r} in the log (it has: "
                f"{have}); the warehouse is older than the log: import the eval set again and retry"
            )
        done = _applied_index(score, request_id)
        if done is not None:
            by_edit[index] = AppliedEdit(
                edit,
                ALREADY_APPLIED,
                _fields(_state(score, done), edit),
                _fields(_state(score, done + 1), edit),
                _edit_time(score, done, now),
            )
            continue
        before = _fields(_current(score), edit)
        shell.samples = [sample]
        _edit_score(shell, sample, edit, provenance(edit.reason))
        after = _fields(_current(sample.scores[edit.scorer]), edit)  # type: ignore[index]
        by_edit[index] = AppliedEdit(edit, APPLIED, before, after, now)

    # invalidations after score edits: Inspect copies the samples it changes
    for index, edit in enumerate(edits):
        if edit.type == "score_edit":
            continue
        sample = samples[edit.sample_uuid]
        current = _invalidation(sample)
        if edit.type == "invalidate_sample":
            if sample.invalidation is not None:
                mine = sample.invalidation.metadata.get(REQUEST_KEY) == request_id
                status = ALREADY_APPLIED if mine else UNCHANGED
                before = {"invalidation": None} if mine else current
                by_edit[index] = AppliedEdit(edit, status, before, current, now)
                continue
            log = invalidate_samples(log, [edit.sample_uuid], provenance(edit.reason))
        else:
            if sample.invalidation is None:
                by_edit[index] = AppliedEdit(edit, UNCHANGED, current, current, now)
                continue
            log = uninvalidate_samples(log, [edit.sample_uuid])
        changed = next(s for s in log.samples or [] if str(s.uuid) == edit.sample_uuid)
        samples[edit.sample_uuid] = changed
        by_edit[index] = AppliedEdit(edit, APPLIED, current, _invalidation(changed), now)
    outcome.edits = [by_edit[index] for index in range(len(edits))]

    if any(a.status == APPLIED and a.edit.type == "score_edit" for a in outcome.edits):
        from inspect_ai.log import recompute_metrics

        try:
            recompute_metrics(log)
            outcome.metrics_recomputed = True
        except Exception as exc:  # e.g. a custom scorer or metric this process cannot resolve
            outcome.metrics_note = (
                f"metrics not recomputed, the old results are kept: {type(exc).__name__}: {exc}"
            )
    return log, outcome


def _edit_score(shell: EvalLog, sample: EvalSample, edit: Edit, provenance: Any) -> None:
    from inspect_ai.log import edit_score
    from inspect_ai.scorer import ScoreEdit

    score_edit = ScoreEdit(**dict(edit.changes), provenance=provenance)
    edit_score(shell, sample.id, edit.scorer, score_edit, recompute_metrics=False, epoch=sample.epoch)


def _applied_index(score: Score, request_id: str) -> int | None:
    for index, entry in enumerate(score.history):
        if entry.provenance is not None and entry.provenance.metadata.get(REQUEST_KEY) == request_id:
            return index
    return None


def _edit_time(score: Score, index: int, default: datetime) -> datetime:
    provenance = score.history[index].provenance
    return provenance.timestamp if provenance is not None else default


def _state(score: Score, upto: int) -> dict[str, Any]:
    """The score's fields after its first ``upto`` history entries (the first entry is the original score)."""
    state: dict[str, Any] = {}
    for entry in score.history[:upto]:
        state.update(_given(entry))
    return state


def _given(entry: ScoreEdit) -> dict[str, Any]:
    return {name: getattr(entry, name) for name in SCORE_FIELDS if getattr(entry, name) != "UNCHANGED"}


def _current(score: Score) -> dict[str, Any]:
    return {name: getattr(score, name) for name in SCORE_FIELDS}


def _fields(state: dict[str, Any], edit: Edit) -> dict[str, Any]:
    """The fields the edit touches, JSON-ready."""
    return {name: to_jsonable_python(state.get(name)) for name, _ in edit.changes}


def _invalidation(sample: EvalSample) -> dict[str, Any]:
    if sample.invalidation is None:
        return {"invalidation": None}
    return {"invalidation": sample.invalidation.model_dump(mode="json", exclude={"metadata"})}
