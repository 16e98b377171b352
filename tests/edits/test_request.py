"""The request file: the reference system's shape and the flat one, errors naming the edit and field, duplicates,
size bounds."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hawk_dagster.edits import request as request_module
from hawk_dagster.edits.request import RequestError, parse_request, read_request


def test_both_shapes_and_every_type() -> None:
    text = "\n".join(
        json.dumps(item)
        for item in [
            {
                "sample_uuid": "a",
                "details": {"type": "score_edit", "scorer": "match", "value": "C", "reason": "r"},
            },
            {"sample_uuid": "a", "type": "score_edit", "scorer": "other", "explanation": None, "reason": "r"},
            {"sample_uuid": "b", "type": "invalidate_sample", "reason": "broken sandbox"},
            {"sample_uuid": "c", "details": {"type": "uninvalidate_sample"}},
        ]
    )
    edits = parse_request(text).edits
    assert [(e.where, e.type, e.scorer) for e in edits] == [
        ("line 1", "score_edit", "match"),
        ("line 2", "score_edit", "other"),
        ("line 3", "invalidate_sample", ""),
        ("line 4", "uninvalidate_sample", ""),
    ]
    assert edits[0].changes == (("value", "C"),) and edits[1].changes == (("explanation", None),)
    assert edits[3].reason is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            '{"sample_uuid": "a", "type": "invalidate_sample", "reason": "r"}\n\n{"sample_uuid": "b", "type": "x"}',
            "line 3: field 'type'",
        ),
        (
            '[{"sample_uuid": "a", "type": "invalidate_sample", "reason": "r"}, {"sample_uuid": "b", "type": "invalidate_sample"}]',
            "item 1: field 'reason': Field required",
        ),
        (
            '[{"sample_uuid": "a", "details": {"type": "score_edit", "scorer": "m", "reason": "r", "valu": 1}}]',
            "item 0: unknown field 'details.valu'",
        ),
        (
            '[{"sample_uuid": "a", "details": {"type": "score_edit", "scorer": "m", "reason": "r"}}]',
            "item 0: a score_edit must change at least one of value, answer, explanation, metadata",
        ),
        (
            '[{"sample_uuid": "a", "type": "score_edit", "scorer": "m", "reason": "r", "value": [[1]]}]',
            "item 0: field 'value'",
        ),
        ('[{"type": "invalidate_sample", "reason": "r"}]', "item 0: field 'sample_uuid' is required"),
        ('{"sample_uuid": "a"', "line 1: not JSON"),
        ('{"edits": []}', "line 1: field 'sample_uuid' is required"),
        ("[]", "the request holds no edits"),
        ('[{"sample_uuid": "a", "type": "invalidate_sample", "reason": "  "}]', "item 0: field 'reason'"),
    ],
)
def test_errors_name_the_edit_and_the_field(text: str, message: str) -> None:
    with pytest.raises(RequestError) as raised:
        parse_request(text)
    assert message in str(raised.value)


def test_duplicates_are_refused_naming_both() -> None:
    edit = {"sample_uuid": "a", "type": "score_edit", "scorer": "match", "value": 1, "reason": "r"}
    with pytest.raises(
        RequestError, match=r"line 3: duplicate of line 1 \(sample 'a', score_edit, scorer 'match'\)"
    ):
        parse_request(
            "\n".join(json.dumps(e) for e in [edit, {**edit, "scorer": "other"}, {**edit, "value": 0}])
        )


def test_size_bounds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(request_module, "MAX_REQUEST_BYTES", 1000)
    big = tmp_path / "big.jsonl"
    line = json.dumps({"sample_uuid": "a" * 40, "type": "invalidate_sample", "reason": "r"})
    big.write_text("\n".join([line] * 30))
    with pytest.raises(RequestError, match="larger than"):
        read_request(big)
    with pytest.raises(RequestError, match="cannot read"):
        read_request(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_bytes(b"\xff\xfe[")
    with pytest.raises(RequestError, match="not UTF-8"):
        read_request(tmp_path / "bad.json")


def test_request_id_is_stable_per_author_and_edits() -> None:
    one = parse_request('[{"sample_uuid": "a", "type": "invalidate_sample", "reason": "r"}]')
    again = parse_request('{"sample_uuid": "a", "details": {"type": "invalidate_sample", "reason": "r"}}')
    assert one.request_id("ann") == again.request_id("ann") != one.request_id("bob")
