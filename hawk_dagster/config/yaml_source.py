"""YAML parsing that remembers where everything was written, so errors can say ``grid.yaml:12:9``.

One parse yields both the plain data (``yaml.safe_load`` semantics) and the node tree with positions. The tree also
lets us refuse duplicate keys, which PyYAML would otherwise resolve silently by keeping the last one — a second
``models:`` block quietly replacing the first is exactly the kind of mistake a grid file invites.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

import yaml

from hawk_dagster.config.errors import ConfigIssue, Loc, describe_value, format_path


@dataclass(frozen=True)
class ParsedYaml:
    """The document's data and its node tree (``None`` for an empty document)."""

    data: Any
    root: yaml.Node | None

    def locate(self, loc: Loc) -> tuple[int, int] | None:
        """1-based (line, column) of the value at ``loc``, or of its nearest written ancestor."""
        node = self.root
        if node is None:
            return None
        for part in loc:
            child = _child(node, part)
            if child is None:
                break
            node = child
        return node.start_mark.line + 1, node.start_mark.column + 1


def _child(node: yaml.Node, part: str | int) -> yaml.Node | None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.value == str(part):
                found: yaml.Node = value_node
                return found
        return None
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
        item: yaml.Node = node.value[part]
        return item
    return None


class YamlSyntaxError(Exception):
    """The text is not YAML we can use; ``issues`` say where."""

    def __init__(self, issues: list[ConfigIssue]) -> None:
        self.issues = issues
        super().__init__("; ".join(issue.format() for issue in issues))


def parse_yaml(text: str, *, file: str) -> ParsedYaml:
    """Parse one YAML document with safe types; raise ``YamlSyntaxError`` naming the file, line and column."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        issues = _duplicate_key_issues(root, file) if root is not None else []
        if issues:
            raise YamlSyntaxError(issues)
        data = loader.construct_document(root) if root is not None else None
    except yaml.MarkedYAMLError as exc:
        raise YamlSyntaxError([_syntax_issue(exc, text, file)]) from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(
            [ConfigIssue(file=file, path="", found="text that is not YAML", allowed=f"valid YAML ({exc})")]
        ) from exc
    finally:
        loader.dispose()
    return ParsedYaml(data=data, root=root)


def _syntax_issue(exc: yaml.MarkedYAMLError, text: str, file: str) -> ConfigIssue:
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{problem} ({exc.context}"
        if (
            exc.context_mark is not None
            and exc.problem_mark is not None
            and exc.context_mark != exc.problem_mark
        ):
            problem += f" at line {exc.context_mark.line + 1}"
        problem += ")"
    found = "the end of the file"
    line = column = None
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
        lines = text.splitlines()
        if mark.line < len(lines):
            found = describe_value(lines[mark.line].strip())
    hint = ""
    if "\t" in text and "tab" not in problem.lower() and found != "the end of the file":
        hint = "; note that YAML does not allow tabs for indentation"
    return ConfigIssue(
        file=file,
        path="",
        found=found,
        allowed=f"valid YAML: {problem}{hint}",
        line=line,
        column=column,
    )


def _duplicate_key_issues(root: yaml.Node, file: str) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen_nodes: set[int] = set()

    def walk(node: yaml.Node, loc: tuple[str | int, ...]) -> None:
        if id(node) in seen_nodes:  # aliases point at the same node; check it once
            return
        seen_nodes.add(id(node))
        if isinstance(node, yaml.MappingNode):
            first_line: dict[str, int] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    continue
                key = key_node.value
                if key == "<<":
                    continue
                if key in first_line:
                    issues.append(
                        ConfigIssue(
                            file=file,
                            path=format_path((*loc, key)),
                            found=f"{key!r} written twice (first at line {first_line[key]})",
                            allowed="each key may appear once in a mapping; YAML would silently keep only the last",
                            line=key_node.start_mark.line + 1,
                            column=key_node.start_mark.column + 1,
                        )
                    )
                else:
                    first_line[key] = key_node.start_mark.line + 1
                walk(value_node, (*loc, key))
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                walk(item, (*loc, index))

    walk(root, ())
    return issues


def to_plain_json(value: Any) -> tuple[Any, list[tuple[Loc, str]]]:
    """Turn YAML-only types into JSON ones: dates become ISO strings; binary and odd keys are reported.

    The plan that reaches the runner holds plain JSON, and a date in ``metadata`` should arrive as the text the
    researcher wrote rather than fail later.
    """
    problems: list[tuple[Loc, str]] = []

    def convert(item: Any, where: tuple[str | int, ...]) -> Any:
        if isinstance(item, dict):
            out: dict[Any, Any] = {}
            for key, sub in item.items():
                if isinstance(key, (datetime.date, datetime.datetime)):
                    key = key.isoformat()
                elif key is None or isinstance(key, (list, tuple, dict)):
                    problems.append(
                        (where, f"a mapping key must be a plain word; found {describe_value(key)}")
                    )
                    continue
                out[key] = convert(sub, (*where, key if isinstance(key, (str, int)) else str(key)))
            return out
        if isinstance(item, list):
            return [convert(sub, (*where, index)) for index, sub in enumerate(item)]
        if isinstance(item, (datetime.date, datetime.datetime)):
            return item.isoformat()
        if isinstance(item, bytes):
            problems.append((where, "binary (!!binary) values are not supported; write the value as text"))
            return None
        return item

    return convert(value, ()), problems
