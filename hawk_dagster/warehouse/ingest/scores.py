"""Score normalisation: the raw value is kept as JSON, and a numeric ``value_float`` is derived only when honest.

``inspect_ai.scorer.value_to_float`` maps anything it does not recognise (``"abc"``, lists, dicts) to ``0.0`` with a
printed warning; an average over such a column silently counts garbage as failures. Here the known categorical
values map as Inspect maps them, numbers and numeric strings pass through, and everything else is NULL.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from hawk_dagster.warehouse.schema.models import SCALAR_SCORE_KEY

# Inspect's own constants: CORRECT "C", INCORRECT "I", PARTIAL "P", NOANSWER "N" (inspect_ai.scorer._metric).
_CATEGORICAL: dict[str, float] = {
    "c": 1.0,
    "i": 0.0,
    "p": 0.5,
    "n": 0.0,
    "yes": 1.0,
    "no": 0.0,
    "true": 1.0,
    "false": 0.0,
}


def score_value_float(value: Any) -> float | None:
    """The numeric reading of a score value, or None when it has none.

    C/I/P/N and yes/no/true/false (case-insensitive, surrounding whitespace ignored) map as Inspect maps them; bools
    are 1.0/0.0; finite numbers and numeric strings pass through; NaN and infinities, other strings, dicts, lists and
    None give None.
    """
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    if isinstance(value, str):
        stripped = value.strip()
        mapped = _CATEGORICAL.get(stripped.lower())
        if mapped is not None:
            return mapped
        try:
            number = float(stripped)
        except ValueError:
            return None
        return number if math.isfinite(number) else None
    return None


@dataclass(frozen=True)
class ScoreRow:
    """One warehouse score row (before the sample's pk is known)."""

    scorer: str
    key: str
    value: Any
    value_float: float | None
    answer: str | None
    explanation: str | None
    metadata: dict[str, Any]


def score_rows(scores: Mapping[str, Mapping[str, Any]] | None) -> Iterator[ScoreRow]:
    """One row per (scorer, key): dict-valued scores explode into a row per key; scalar scores get ``key = ''``.

    Takes scores in the JSON form Inspect writes (``{"value": ..., "answer": ...}``). An empty dict value yields no
    rows: there is nothing to record.
    """
    for scorer, score in (scores or {}).items():
        value = score.get("value")
        answer, explanation, metadata = score.get("answer"), score.get("explanation"), score.get("metadata")
        items = value.items() if isinstance(value, Mapping) else [(SCALAR_SCORE_KEY, value)]
        for key, item in items:
            yield ScoreRow(
                scorer=scorer,
                key=str(key),
                value=item,
                value_float=score_value_float(item),
                answer=answer,
                explanation=explanation,
                metadata=dict(metadata or {}),
            )
