"""The values reference of deploy/helm/README.md, generated from the chart's values.schema.json and values.yaml.

Run ``uv run python deploy/helm/values_reference.py`` after changing either; a test fails while the README's block
differs from what this writes.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
CHART = HERE / "hawk"
README = HERE / "README.md"
LEAVES = {"resources"}
"""Definitions shown as one row (their parts are Kubernetes' own), not one row per field."""
START = "<!-- values-reference:start -->"
END = "<!-- values-reference:end -->"


def _resolve(node: dict[str, Any], definitions: dict[str, Any]) -> dict[str, Any]:
    """A property's schema with ``$ref`` and single-``allOf`` wrappers folded in (the wrapper's description wins)."""
    merged = dict(node)
    while True:
        if "$ref" in merged:
            target = definitions[merged.pop("$ref").rsplit("/", 1)[1]]
            merged = {**target, **merged}
        elif "allOf" in merged and len(merged["allOf"]) == 1:
            inner = merged.pop("allOf")[0]
            merged = {**inner, **merged} if "$ref" not in inner else {**merged, "$ref": inner["$ref"]}
        else:
            return merged


def _type(node: dict[str, Any]) -> str:
    if "enum" in node:
        return " \\| ".join(f"`{v}`" if v != "" else '`""`' for v in node["enum"])
    kind = node.get("type", "object")
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "array":
        items = node.get("items", {})
        return f"list of {items.get('type', 'object')}" if isinstance(items.get("type"), str) else "list"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict) and "properties" not in node:
        return "map"
    return str(kind)


def _default(value: Any) -> str:
    if value is None:
        return "—"
    text = json.dumps(value, separators=(", ", ": "))
    if len(text) > 60:
        return "see values.yaml"
    return f"`{text}`"


def _lookup(values: Any, path: list[str]) -> Any:
    for part in path:
        if not isinstance(values, dict) or part not in values:
            return None
        values = values[part]
    return values


def _refers_to_leaf(node: dict[str, Any]) -> bool:
    refs = [node.get("$ref", "")] + [part.get("$ref", "") for part in node.get("allOf", [])]
    return any(ref.rsplit("/", 1)[-1] in LEAVES for ref in refs if ref)


def _rows(node: dict[str, Any], path: list[str], defs: dict[str, Any], values: Any) -> list[str]:
    leaf = _refers_to_leaf(node)
    node = _resolve(node, defs)
    props = node.get("properties")
    if node.get("type") == "object" and props and not leaf:
        rows: list[str] = []
        for name, child in props.items():
            rows += _rows(child, [*path, name], defs, values)
        return rows
    name = ".".join(path)
    description = " ".join(str(node.get("description", "")).split()).replace("|", "\\|")
    rows = [f"| `{name}` | {_type(node)} | {_default(_lookup(values, path))} | {description} |"]
    items = _resolve(node.get("items", {}), defs) if node.get("type") == "array" else {}
    for field, child in (items.get("properties") or {}).items():
        child = _resolve(child, defs)
        text = " ".join(str(child.get("description", "")).split()).replace("|", "\\|")
        required = " (required)" if field in items.get("required", []) else ""
        rows.append(f"| `{name}[].{field}` | {_type(child)} | — | {text}{required} |")
    return rows


def render_reference() -> str:
    """The Markdown table of every value: name, type, default (from values.yaml) and description."""
    schema = json.loads((CHART / "values.schema.json").read_text())
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    header = ["| Value | Type | Default | Description |", "|---|---|---|---|"]
    body: list[str] = []
    for name, node in schema["properties"].items():
        body += _rows(node, [name], schema["definitions"], values)
    return "\n".join(header + body)


def readme_block(readme: str) -> str | None:
    """The reference as the README holds it now, or None without the markers."""
    match = re.search(re.escape(START) + r"\n(.*?)\n?" + re.escape(END), readme, re.S)
    return match.group(1) if match else None


def main() -> None:
    text = README.read_text()
    if readme_block(text) is None:
        raise SystemExit(f"{README}: no {START} ... {END} block")
    updated = re.sub(
        re.escape(START) + r"\n.*?\n?" + re.escape(END),
        lambda _: f"{START}\n{render_reference()}\n{END}",
        text,
        flags=re.S,
    )
    README.write_text(updated)


if __name__ == "__main__":
    main()
