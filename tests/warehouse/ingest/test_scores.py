"""Score normalisation: numeric only when honest, never a silent 0.0."""

from __future__ import annotations

import math
from typing import Any

import pytest
from inspect_ai.scorer import Score

from hawk_dagster.warehouse.ingest.scores import ScoreRow, score_rows, score_value_float


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        # Inspect's categorical constants, any case, surrounding whitespace ignored
        ("C", 1.0),
        ("I", 0.0),
        ("P", 0.5),
        ("N", 0.0),
        ("c", 1.0),
        (" p ", 0.5),
        # yes/no/true/false, any case
        ("yes", 1.0),
        ("No", 0.0),
        ("TRUE", 1.0),
        ("false", 0.0),
        # bools and numbers
        (True, 1.0),
        (False, 0.0),
        (0, 0.0),
        (3, 3.0),
        (0.25, 0.25),
        (-1.5, -1.5),
        (10**20, 1e20),
        # numeric strings
        ("0.75", 0.75),
        (" 42 ", 42.0),
        ("-3e2", -300.0),
        # not finite: NULL, not a number that poisons averages
        (math.nan, None),
        (math.inf, None),
        (-math.inf, None),
        ("nan", None),
        ("Infinity", None),
        # not numeric at all: NULL, where value_to_float would say 0.0
        ("abc", None),
        ("", None),
        ("C+", None),
        ({"a": 1.0}, None),
        ([1.0, 0.0], None),
        ((1,), None),
        (None, None),
    ],
)
def test_score_value_float(value: Any, expected: float | None) -> None:
    result = score_value_float(value)
    assert result == expected
    assert result is None or isinstance(result, float)


def _as_written(**scores: Score) -> dict[str, dict[str, Any]]:
    """Scores in the JSON form Inspect writes into a log (what the importer reads)."""
    return {name: score.model_dump(mode="json") for name, score in scores.items()}


def test_categorical_values_map_as_inspect_maps_them() -> None:
    """The mapping names Inspect's constants without importing Inspect's scorer module; they must stay equal."""
    from inspect_ai.scorer import CORRECT, INCORRECT, NOANSWER, PARTIAL, value_to_float

    to_float = value_to_float()
    for constant in (CORRECT, INCORRECT, PARTIAL, NOANSWER, "yes", "no", "true", "false"):
        assert score_value_float(constant) == to_float(constant), constant


def test_score_rows_explodes_dicts_and_keys_scalars_with_empty_string() -> None:
    scores = _as_written(
        match=Score(value="C", answer="4", explanation="exact match"),
        parts=Score(value={"exact": 1.0, "len_ok": True, "label": "long"}, metadata={"k": 1}),
        weird=Score(value=[1, 2]),
    )
    rows = list(score_rows(scores))
    assert rows == [
        ScoreRow("match", "", "C", 1.0, "4", "exact match", {}),
        ScoreRow("parts", "exact", 1.0, 1.0, None, None, {"k": 1}),
        ScoreRow("parts", "len_ok", True, 1.0, None, None, {"k": 1}),
        ScoreRow("parts", "label", "long", None, None, None, {"k": 1}),
        ScoreRow("weird", "", [1, 2], None, None, None, {}),
    ]


def test_score_rows_accepts_json_form_and_empty_input() -> None:
    rows = list(score_rows({"s": {"value": {"a": "P"}, "answer": "x"}}))
    assert rows == [ScoreRow("s", "a", "P", 0.5, "x", None, {})]
    assert list(score_rows(None)) == [] == list(score_rows({}))
    assert list(score_rows(_as_written(empty=Score(value={})))) == []
