"""Eval set ids: the validation rule, generated ids and ids made from file names."""

from __future__ import annotations

import re

import pytest

from hawk_dagster.config.ids import (
    EVAL_SET_ID_MAX_LENGTH,
    EVAL_SET_ID_PATTERN,
    eval_set_id_from_filename,
    generate_eval_set_id,
    validate_eval_set_id,
)


@pytest.mark.parametrize("good", ["a", "0", "mbpp-smoke-1", "a" * 43, "x-y-z", "123abc"])
def test_valid_ids_are_returned_unchanged(good: str) -> None:
    assert validate_eval_set_id(good) == good


@pytest.mark.parametrize(
    ("bad", "says"),
    [
        ("", "must not be empty"),
        ("My-Set", "use 'my-set'"),
        ("trailing-", "start and end with a letter or digit"),
        ("-leading", "start and end with a letter or digit"),
        ("a" * 44, "44 characters long; at most 43"),
        ("under_score", "'_'"),
        ("with space", "' '"),
        ("pipe|comma,", "'|'"),
        ("café", "'é'"),
    ],
)
def test_invalid_ids_say_what_to_change(bad: str, says: str) -> None:
    with pytest.raises(ValueError, match=re.escape(says)):
        validate_eval_set_id(bad)


def test_generated_id_has_sanitized_prefix_and_random_suffix() -> None:
    first = generate_eval_set_id("My Grid: MBPP / GPT-4o")
    second = generate_eval_set_id("My Grid: MBPP / GPT-4o")
    assert re.fullmatch(r"my-grid-mbpp-gpt-4o-[a-z0-9]{16}", first)
    assert first != second


def test_generated_id_truncates_long_names_to_26_characters_and_fits_the_limit() -> None:
    eval_set_id = generate_eval_set_id("a-very-long-eval-set-name-that-goes-on-and-on")
    prefix, suffix = eval_set_id.rsplit("-", 1)
    assert prefix == "a-very-long-eval-set-name"  # 26 characters cut at a dash, the dash trimmed
    assert len(suffix) == 16
    assert len(eval_set_id) <= EVAL_SET_ID_MAX_LENGTH
    assert re.match(EVAL_SET_ID_PATTERN, eval_set_id)


@pytest.mark.parametrize("name", [None, "", "___", "日本語"])
def test_generated_id_falls_back_to_eval_set(name: str | None) -> None:
    assert re.fullmatch(r"eval-set-[a-z0-9]{16}", generate_eval_set_id(name))


@pytest.mark.parametrize(
    ("stem", "expected"),
    [("mbpp", "mbpp"), ("My Grid_v2", "my-grid-v2"), ("grid.eval-set", "grid-eval-set"), ("--x--", "x")],
)
def test_id_from_filename(stem: str, expected: str) -> None:
    assert eval_set_id_from_filename(stem) == expected


@pytest.mark.parametrize(("stem", "says"), [("___", "no letters or digits"), ("x" * 44, "at most 43")])
def test_id_from_filename_refuses_what_it_cannot_map(stem: str, says: str) -> None:
    with pytest.raises(ValueError, match=says):
        eval_set_id_from_filename(stem)
