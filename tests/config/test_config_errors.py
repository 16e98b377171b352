"""The error vocabulary: issue formatting, field paths, value descriptions and YAML positions."""

from __future__ import annotations

import pytest

from hawk_dagster.config.errors import ConfigError, ConfigIssue, describe_value, format_path, normalize_loc
from hawk_dagster.config.yaml_source import YamlSyntaxError, parse_yaml


def test_issue_format_is_one_line_with_location_field_allowed_and_found() -> None:
    issue = ConfigIssue(
        file="grid.yaml",
        path="tasks[0].items[1].sample_ids",
        found="[]",
        allowed="must not be empty",
        line=7,
        column=21,
    )
    assert issue.format() == "grid.yaml:7:21: tasks[0].items[1].sample_ids: must not be empty (found: [])"
    assert ConfigIssue("grid.yaml", "", "an empty file", "a mapping").format() == (
        "grid.yaml: (top level): a mapping (found: an empty file)"
    )


def test_config_error_message_starts_with_the_file_and_lists_every_issue() -> None:
    error = ConfigError(
        "grid.yaml",
        [
            ConfigIssue("grid.yaml", "epochs", "0", "must be at least 1", line=9, column=9),
            ConfigIssue("tasks/x.py", "", "'def x(:'", "valid Python", line=2),
            ConfigIssue("grid.yaml", "tasks", "nothing", "`tasks` is required"),
            ConfigIssue("grid.yaml", "eval_set_id", "'A'", "lowercase", line=1, column=14),
        ],
    )
    lines = str(error).splitlines()
    assert lines[0] == "grid.yaml: invalid config (4 problems):"
    # The config's own issues in file order (unlocated ones last), then other files.
    assert [line.split(": ")[1] for line in lines[1:]] == ["eval_set_id", "epochs", "tasks", "(top level)"]
    assert isinstance(error, ValueError)


def test_config_error_needs_an_issue() -> None:
    with pytest.raises(ValueError):
        ConfigError("grid.yaml", [])


@pytest.mark.parametrize(
    ("loc", "text"),
    [
        (("tasks", 0, "items", 1, "sample_ids"), "tasks[0].items[1].sample_ids"),
        (("runner", "environment", "MY_VAR"), "runner.environment.MY_VAR"),
        (("metadata", "a.b c"), "metadata['a.b c']"),
        (
            ("models", 0, "items", 0, "args", "config", "temperature"),
            "models[0].items[0].args.config.temperature",
        ),
        ((), ""),
    ],
)
def test_format_path(loc: tuple[str | int, ...], text: str) -> None:
    assert format_path(loc) == text


def test_describe_value_is_short_and_yaml_flavoured() -> None:
    assert describe_value(None) == "null"
    assert describe_value(True) == "true"
    assert describe_value({"name": 1, "items": []}) == "a mapping with keys: name, items"
    assert describe_value([1, "a"]) == "[1, 'a']"
    long = describe_value("x" * 500)
    assert len(long) == 60 and long.endswith("...")


def test_normalize_loc_drops_union_tags_but_keeps_real_keys() -> None:
    data = {"tasks": [{"package": "p", "items": [{"name": "n"}]}]}
    loc = ("tasks", 0, "package group", "items", 0, "sample_ids")
    assert normalize_loc(loc, data) == ("tasks", 0, "items", 0, "sample_ids")
    assert normalize_loc(("limit", "range form", 1), {"limit": [1, "a"]}) == ("limit", 1)
    assert normalize_loc(("runner", "environment", "X", "[key]"), {"runner": {"environment": {"X": 1}}}) == (
        "runner",
        "environment",
        "X",
    )


def test_yaml_positions_follow_field_paths() -> None:
    parsed = parse_yaml(
        "tasks:\n  - package: p\n    items:\n      - name: a\n        sample_ids: []\n", file="g.yaml"
    )
    assert parsed.locate(("tasks", 0, "items", 0, "sample_ids")) == (5, 21)
    # A missing key points at its nearest written parent.
    assert parsed.locate(("tasks", 0, "name")) == (2, 5)
    assert parsed.locate(()) == (1, 1)


def test_yaml_syntax_error_names_file_line_and_column() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml("tasks:\n  - package: p\n   items: [\n", file="g.yaml")
    [issue] = caught.value.issues
    assert issue.file == "g.yaml"
    assert issue.line is not None and issue.column is not None
    assert issue.allowed.startswith("valid YAML")


def test_duplicate_keys_are_refused_with_both_lines() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml("tasks: []\nmodels: []\ntasks: []\n", file="g.yaml")
    [issue] = caught.value.issues
    assert (issue.path, issue.line) == ("tasks", 3)
    assert "first at line 1" in issue.found


def test_yaml_anchors_and_merge_keys_still_work() -> None:
    parsed = parse_yaml("base: &b {a: 1}\nother:\n  <<: *b\n  b: 2\n", file="g.yaml")
    assert parsed.data == {"base": {"a": 1}, "other": {"a": 1, "b": 2}}
