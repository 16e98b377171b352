"""The published JSON Schema: committed copy up to date, documented fields, and the README reference table."""

from __future__ import annotations

import json
from typing import Any

from hawk_dagster.config.schema import COMMITTED_SCHEMA_PATH, eval_set_json_schema, render_markdown_reference

REGENERATE = "uv run hawk schema eval-set > hawk_dagster/config/schemas/eval-set.schema.json"
# Definitions that come from Inspect (GenerateConfig and what it references), documented upstream, not by us.
INSPECT_DEFS = {
    "AdaptiveConcurrency",
    "GenerateConfig",
    "BatchConfig",
    "CachePolicy",
    "ResponseSchema",
    "JSONSchema",
    "ImageOutput",
}


def test_committed_schema_matches_the_models() -> None:
    committed = json.loads(COMMITTED_SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == eval_set_json_schema(), (
        f"the committed schema is stale; regenerate it with: {REGENERATE}"
    )


def test_schema_basics() -> None:
    schema = eval_set_json_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "Hawk eval set"
    assert schema["required"] == ["tasks"]
    assert schema["additionalProperties"] is True  # unknown top-level keys pass through to eval_set
    assert schema["properties"]["eval_set_id"]["anyOf"][0]["pattern"] == "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
    assert schema["properties"]["secrets"]["deprecated"] is True
    assert "temperature" in schema["$defs"]["GenerateConfig"]["properties"]
    assert schema["$defs"]["GenerateConfig"]["additionalProperties"] is False


def _our_definitions(schema: dict[str, Any]) -> dict[str, dict[str, Any]]:
    defs = {name: d for name, d in schema["$defs"].items() if name not in INSPECT_DEFS}
    return {"(top level)": schema, **defs}


def test_every_field_we_define_has_a_description() -> None:
    missing = [
        f"{owner}.{field}"
        for owner, definition in _our_definitions(eval_set_json_schema()).items()
        for field, prop in definition.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert missing == []


def test_strict_mappings_forbid_unknown_keys_in_the_schema() -> None:
    defs = eval_set_json_schema()["$defs"]
    for name in (
        "TaskItem",
        "PackageTaskGroup",
        "FileTaskGroup",
        "CyberTaskItem",
        "RunnerConfig",
        "ModelItem",
    ):
        assert defs[name]["additionalProperties"] is False, name
    # get_model and approver arguments are open on purpose.
    assert defs["ModelArgs"]["additionalProperties"] is True
    assert defs["ApproverConfig"]["additionalProperties"] is True


def test_markdown_reference_lists_every_top_level_field() -> None:
    markdown = render_markdown_reference()
    lines = markdown.splitlines()
    assert lines[0] == "| Field | Type | Default | Description |"
    properties = eval_set_json_schema()["properties"]
    rows = [line for line in lines[2:] if line.startswith("| `")]
    assert [row.split("`")[1] for row in rows] == list(properties)
    tasks_row = next(row for row in rows if row.startswith("| `tasks`"))
    assert "**required**" in tasks_row
    assert "`PackageTaskGroup` or `BuiltinTaskGroup` or `FileTaskGroup` or `CyberTaskGroup`" in tasks_row
    score_row = next(row for row in rows if row.startswith("| `score`"))
    assert "| boolean | `true` |" in score_row
    limit_row = next(row for row in rows if row.startswith("| `limit`"))
    assert "integer or [integer, integer]" in limit_row
    assert "**Deprecated.**" in next(row for row in rows if row.startswith("| `secrets`"))
    assert "| `[]` |" in next(row for row in rows if row.startswith("| `packages`"))
    assert "| — |" in next(row for row in rows if row.startswith("| `models`"))  # unset: each task's default
    assert "passed to `inspect_ai.eval_set` unchanged" in markdown
