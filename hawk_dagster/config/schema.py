"""The published JSON Schemas of the eval-set and scan YAML and the README's config reference, from the models.

Editors (the YAML language server) use the schemas for completion and inline errors; committed copies live in
``hawk_dagster/config/schemas/`` and a test keeps them equal to what the models generate. Regenerate with
``uv run hawk schema eval-set > hawk_dagster/config/schemas/eval-set.schema.json`` (and ``scan`` likewise).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from hawk_dagster.config.eval_set import EvalSetConfig
from hawk_dagster.config.generation import SETTINGS_PLACE

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
COMMITTED_SCHEMA_PATH = Path(__file__).parent / "schemas" / "eval-set.schema.json"
COMMITTED_SCAN_SCHEMA_PATH = Path(__file__).parent / "schemas" / "scan.schema.json"


def eval_set_json_schema() -> dict[str, Any]:
    """The JSON Schema of an eval-set config (imports inspect_ai for its GenerateConfig; takes a few seconds)."""
    schema = EvalSetConfig.model_json_schema(mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def scan_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scan config."""
    from hawk_dagster.config.scan import ScanConfig

    schema = ScanConfig.model_json_schema(mode="validation")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def render_markdown_reference() -> str:
    """A Markdown table of the top-level fields (name, type, default, description) for the README."""
    schema = eval_set_json_schema()
    required = set(schema.get("required", []))
    lines = ["| Field | Type | Default | Description |", "|---|---|---|---|"]
    for name, prop in schema["properties"].items():
        default = "**required**" if name in required else _default_text(name)
        description = prop.get("description", "")
        if prop.get("deprecated"):
            description = f"**Deprecated.** {description}"
        cells = [f"`{name}`", _type_text(prop), default, description]
        lines.append("| " + " | ".join(_escape(cell) for cell in cells) + " |")
    lines.append("")
    lines.append(
        "Any other top-level key is passed to `inspect_ai.eval_set` unchanged (with a warning): an `eval_set` parameter "
        "such as `max_samples`, or an Inspect generation setting such as `temperature` or `max_connections`, which "
        f"then applies to every model. Generation settings belong per model under `{SETTINGS_PLACE}` (checked "
        "there); anywhere else (`runner:`, a scan config's top level) they are unknown keys, and the error says so."
    )
    return "\n".join(lines) + "\n"


def _default_text(field_name: str) -> str:
    """The default as YAML would show it; factories are called (so lists show ``[]``), unset shows a dash."""
    value = EvalSetConfig.model_fields[field_name].get_default(call_default_factory=True)
    if value is None:
        return "—"
    if isinstance(value, BaseModel):
        return "`{}`"
    return f"`{json.dumps(value)}`"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _type_text(prop: dict[str, Any]) -> str:
    """A short human rendering of a JSON Schema type (``list of TaskItem``, ``integer or [integer, integer]``)."""
    if "$ref" in prop:
        return f"`{prop['$ref'].rsplit('/', 1)[-1]}`"
    for key in ("anyOf", "oneOf"):
        if key in prop:
            parts = [_type_text(p) for p in prop[key] if p.get("type") != "null"]
            unique = list(dict.fromkeys(parts))
            return " or ".join(unique)
    if "const" in prop:
        return f"`{json.dumps(prop['const'])}`"
    if "enum" in prop:
        return " or ".join(f"`{json.dumps(v)}`" for v in prop["enum"])
    kind = prop.get("type")
    if kind == "array":
        if "prefixItems" in prop:
            return "[" + ", ".join(_type_text(p) for p in prop["prefixItems"]) + "]"
        items = prop.get("items")
        return f"list of {_type_text(items)}" if items else "list"
    if kind == "object":
        values = prop.get("additionalProperties")
        if isinstance(values, dict) and values:
            return f"mapping of string to {_type_text(values)}"
        return "mapping"
    if isinstance(kind, list):
        return " or ".join(str(k) for k in kind)
    return str(kind) if kind else "any"
