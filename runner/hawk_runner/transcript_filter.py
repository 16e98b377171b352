"""The transcript filter language of scan configs: parse and check it, and translate it to Inspect Scout conditions.

A filter is a list of conditions, ANDed. A condition is a mapping:

- ``field: value`` (equality), ``field: [a, b]`` (IN), ``field: null`` (no value);
- ``field: {gt|ge|lt|le: x}``, ``field: {between: [a, b]}``, ``field: {like|ilike: pattern}``;
- ``{not: condition or [conditions]}`` (negates their AND), ``{or: [conditions]}`` (at least two);
- several fields in one mapping are ANDed; ``metadata.agent.name`` reaches into sample metadata.

It lives in the runner because the runner translates it into Scout's column conditions (Scout binds every value as
a query parameter and quotes every column name, so nothing written here is spliced into SQL). The Dagster side uses
the same parser to validate configs, and translates the same tree to warehouse SQL.

Fields are checked against a fixed vocabulary: Scout silently treats an unknown column name as a string literal
(``nosuch = 'nosuch'`` is true for every transcript), so a typo would select everything or nothing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from typing_extensions import TypeIs

FieldKind = Literal["text", "number", "bool", "any", "id"]


@dataclass(frozen=True)
class FieldInfo:
    """A filterable field: its Scout column, the values it holds, and what it means."""

    column: str
    kind: FieldKind
    description: str
    empty_is_null: bool = False
    """Scout stores "no error" / "no limit" as ``''``: ``field: null`` must match both."""
    values: tuple[str, ...] = ()


FIELDS: dict[str, FieldInfo] = {
    "transcript_id": FieldInfo("transcript_id", "text", "the sample's uuid"),
    "eval_id": FieldInfo("eval_id", "text", "Inspect eval id of the log"),
    "eval_status": FieldInfo(
        "eval_status", "text", "status of the log", values=("started", "success", "cancelled", "error")
    ),
    "task_set": FieldInfo("task_set", "text", "task name"),
    "task": FieldInfo("task_set", "text", "task name (same as task_set)"),
    "agent": FieldInfo("agent", "text", "solver/agent of the eval"),
    "model": FieldInfo("model", "text", "the eval's model, e.g. hawk-mock/a"),
    "id": FieldInfo("id", "id", "dataset sample id"),
    "epoch": FieldInfo("epoch", "number", "epoch of the sample"),
    "score": FieldInfo("score", "any", "value of the task's first scorer"),
    "success": FieldInfo("success", "bool", "the first scorer's value counted as a success"),
    "total_tokens": FieldInfo("total_tokens", "number", "tokens the sample used"),
    "message_count": FieldInfo("message_count", "number", "messages in the transcript"),
    "total_time": FieldInfo("total_time", "number", "seconds the sample ran"),
    "working_time": FieldInfo("working_time", "number", "working seconds of the sample"),
    "error": FieldInfo("error", "text", "error message (null: the sample did not error)", empty_is_null=True),
    "limit": FieldInfo(
        "limit",
        "text",
        "limit that ended the sample (null: none)",
        empty_is_null=True,
        values=("context", "time", "working", "message", "token", "operator", "custom"),
    ),
    "date": FieldInfo("date", "text", "when the eval ran (ISO 8601 text, compares as text)"),
}

JSON_FIELDS: dict[str, str] = {
    "metadata": "sample_metadata",
    "sample_metadata": "sample_metadata",
    "eval_metadata": "eval_metadata",
    "task_args": "task_args",
}
"""Dotted prefixes that reach into JSON: ``metadata.agent.name`` is ``sample_metadata``'s ``agent.name``."""

SCORER_PREFIX = "score_"
"""``score_<scorer>``: the value of one named scorer."""

Operator = Literal["eq", "in", "null", "gt", "ge", "lt", "le", "between", "like", "ilike"]
COMPARISONS: tuple[Operator, ...] = ("gt", "ge", "lt", "le")
OPERATORS: tuple[Operator, ...] = (*COMPARISONS, "between", "like", "ilike")
LOGICAL = ("not", "or")


class FilterError(ValueError):
    """A filter that cannot be used: ``subpath`` locates the problem inside the condition, ``found`` says what was."""

    def __init__(self, message: str, subpath: Sequence[str | int] = (), found: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.subpath = tuple(subpath)
        self.found = found

    def within(self, *prefix: str | int) -> FilterError:
        return FilterError(self.message, (*prefix, *self.subpath), self.found)


# --------------------------------------------------------------------------------------------------------- the tree


@dataclass(frozen=True)
class Field:
    """A resolved field: the name as written, its Scout column (JSON path included) and its info."""

    name: str
    column: str
    info: FieldInfo


@dataclass(frozen=True)
class Compare:
    field: Field
    op: Operator
    value: Any = None


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = Compare | And | Or | Not


# ------------------------------------------------------------------------------------------------------- parsing


def parse_where(conditions: Sequence[Any]) -> Node:
    """The AND of a ``where`` list; errors are located by list index."""
    if isinstance(conditions, (str, bytes)) or not isinstance(conditions, Sequence):
        raise FilterError(
            "`where` must be a list of conditions (`- field: value` lines)", found=_show(conditions)
        )
    if not conditions:
        raise FilterError("`where` must hold at least one condition; leave it out to keep every transcript")
    children = _parse_each(conditions)
    return children[0] if len(children) == 1 else And(children)


def _parse_each(conditions: Sequence[Any]) -> tuple[Node, ...]:
    """Each condition of a list, errors located by index."""
    children = []
    for index, condition in enumerate(conditions):
        try:
            children.append(parse_condition(condition))
        except FilterError as exc:
            raise exc.within(index) from None
    return tuple(children)


def parse_condition(raw: Any) -> Node:
    """One condition mapping; raises :class:`FilterError` naming the key at fault."""
    if not isinstance(raw, Mapping):
        raise FilterError(
            "a condition is a mapping such as `model: hawk-mock/a`, `score: {gt: 0.5}` or `or: [...]`",
            found=_show(raw),
        )
    if not raw:
        raise FilterError(
            "a condition must name at least one field (an empty mapping selects nothing)", found="{}"
        )
    logical = [key for key in raw if key in LOGICAL]
    if logical:
        if len(raw) != 1:
            raise FilterError(
                f"`{logical[0]}` must be alone in its mapping; put the other fields in their own list item",
                found=", ".join(str(k) for k in raw),
            )
        key = logical[0]
        try:
            return _parse_not(raw[key]) if key == "not" else _parse_or(raw[key])
        except FilterError as exc:
            raise exc.within(key) from None
    children = []
    for key, value in raw.items():
        try:
            field = resolve_field(key)
            children.append(_parse_value(field, value))
        except FilterError as exc:
            raise exc.within(str(key)) from None
    return children[0] if len(children) == 1 else And(tuple(children))


def _parse_not(value: Any) -> Node:
    if isinstance(value, Mapping):
        return Not(parse_condition(value))
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise FilterError("`not` takes a condition or a list of conditions", found=_show(value))
    if not value:
        raise FilterError("`not` needs at least one condition", found="[]")
    return Not(parse_where(value))


def _parse_or(value: Any) -> Node:
    if isinstance(value, (str, bytes, Mapping)) or not isinstance(value, Sequence):
        raise FilterError("`or` takes a list of at least two conditions", found=_show(value))
    if len(value) < 2:
        raise FilterError("`or` takes a list of at least two conditions", found=f"{len(value)} condition(s)")
    return Or(_parse_each(value))


def resolve_field(name: Any) -> Field:
    """A field name as written -> its Scout column, or an error listing what can be filtered on."""
    if not isinstance(name, str) or not name:
        raise FilterError("a field name must be text", found=_show(name))
    if name in FIELDS:
        info = FIELDS[name]
        return Field(name, info.column, info)
    head, dot, path = name.partition(".")
    if dot and head in JSON_FIELDS:
        parts = path.split(".")
        if not all(part and part.replace("_", "").replace("-", "").isalnum() for part in parts):
            raise FilterError(
                f"`{name}`: a path into {head} is dot-separated keys of letters, digits, '_' and '-'",
                found=name,
            )
        info = FieldInfo(JSON_FIELDS[head], "any", f"{head} value at {path}")
        return Field(name, f"{JSON_FIELDS[head]}.{path}", info)
    if name.startswith(SCORER_PREFIX) and name[len(SCORER_PREFIX) :].replace("_", "").isalnum():
        return Field(name, name, FieldInfo(name, "any", f"value of the scorer {name[len(SCORER_PREFIX) :]}"))
    raise FilterError(
        f"unknown field {name!r}{_suggest(name)}; fields: {', '.join(FIELDS)}, score_<scorer>, and "
        "metadata.<path> / eval_metadata.<path> / task_args.<path>",
        found=name,
    )


def _parse_value(field: Field, value: Any) -> Compare:
    if value is None:
        return Compare(field, "null")
    if isinstance(value, list):
        if not value:
            raise FilterError("an IN list needs at least one value", found="[]")
        for index, item in enumerate(value):
            try:
                _check_scalar(field, item)
            except FilterError as exc:
                raise exc.within(index) from None
        return Compare(field, "in", tuple(value))
    if isinstance(value, Mapping):
        if len(value) != 1:
            raise FilterError(
                f"an operator mapping holds exactly one of {', '.join(OPERATORS)}",
                found=", ".join(str(k) for k in value) or "{}",
            )
        ((op, operand),) = value.items()
        if not _is_operator(op):
            hint = (
                " (write `not` and `or` as their own conditions)"
                if op in LOGICAL
                else _suggest(str(op), OPERATORS)
            )
            raise FilterError(
                f"unknown operator {op!r}{hint}; operators: {', '.join(OPERATORS)}", found=str(op)
            )
        try:
            return _parse_operator(field, op, operand)
        except FilterError as exc:
            raise exc.within(op) from None
    _check_scalar(field, value)
    return Compare(field, "eq", value)


def _is_operator(op: object) -> TypeIs[Operator]:
    return op in OPERATORS


def _parse_operator(field: Field, op: Operator, operand: Any) -> Compare:
    if op in ("like", "ilike"):
        if field.info.kind in ("number", "bool"):
            raise FilterError(
                f"`{op}` matches text; {field.name} holds {_kind_text(field.info.kind)}", found=_show(operand)
            )
        if not isinstance(operand, str) or not operand:
            raise FilterError(f"`{op}` takes a pattern such as 'gpt-4%' ('%' any text, '_' one character)",
                              found=_show(operand))  # fmt: skip
        return Compare(field, op, operand)
    if field.info.kind == "bool":
        raise FilterError(f"{field.name} is true or false: compare it with `{field.name}: true`")
    if op == "between":
        if not isinstance(operand, list) or len(operand) != 2:
            raise FilterError("`between` takes two bounds: [low, high]", found=_show(operand))
        for index, bound in enumerate(operand):
            try:
                _check_ordered(field, bound)
            except FilterError as exc:
                raise exc.within(index) from None
        if type(operand[0]) is not type(operand[1]) and not all(_is_number(b) for b in operand):
            raise FilterError("both bounds of `between` must be numbers, or both text", found=_show(operand))
        if operand[0] > operand[1]:
            raise FilterError("`between` takes [low, high] with low <= high", found=_show(operand))
        return Compare(field, "between", (operand[0], operand[1]))
    _check_ordered(field, operand)
    return Compare(field, op, operand)


def _check_scalar(field: Field, value: Any) -> None:
    kind = field.info.kind
    if isinstance(value, (Mapping, list)):
        raise FilterError(f"{field.name}: values here are single {_kind_text(kind)}", found=_show(value))
    if kind == "bool" and not isinstance(value, bool):
        raise FilterError(f"{field.name} is true or false", found=_show(value))
    if kind == "number" and not _is_number(value):
        raise FilterError(f"{field.name} holds numbers", found=_show(value))
    if kind == "text" and not isinstance(value, str):
        raise FilterError(f"{field.name} holds text; quote the value", found=_show(value))
    if kind == "id" and not (isinstance(value, str) or (_is_number(value) and isinstance(value, int))):
        raise FilterError(f"{field.name} holds sample ids (text or whole numbers)", found=_show(value))
    if field.info.values and value not in field.info.values:
        raise FilterError(f"{field.name} is one of {', '.join(field.info.values)}", found=_show(value))


def _check_ordered(field: Field, value: Any) -> None:
    if isinstance(value, bool) or not (_is_number(value) or isinstance(value, str)):
        raise FilterError("compare with a number or a text value", found=_show(value))
    if field.info.kind == "number" and not _is_number(value):
        raise FilterError(f"{field.name} holds numbers", found=_show(value))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _kind_text(kind: FieldKind) -> str:
    return {"text": "text", "number": "numbers", "bool": "true/false", "any": "values", "id": "sample ids"}[
        kind
    ]


def _show(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else value
    return text if len(text) <= 60 else text[:57] + "..."


def _suggest(word: str, options: Sequence[str] = tuple(FIELDS)) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


# ------------------------------------------------------------------------------------------------- to Inspect Scout


def to_scout(node: Node) -> Any:
    """The Scout ``Condition`` for a parsed filter (values are bound as parameters by Scout)."""
    from inspect_scout import columns as c

    if isinstance(node, And):
        return _reduce([to_scout(child) for child in node.children], "and")
    if isinstance(node, Or):
        return _reduce([to_scout(child) for child in node.children], "or")
    if isinstance(node, Not):
        return ~to_scout(node.child)
    column = c[node.field.column]
    empty_is_null = node.field.info.empty_is_null
    if node.op == "null":
        return (column.is_null() | (column == "")) if empty_is_null else column.is_null()
    if node.op == "eq":
        return column == node.value
    if node.op == "in":
        return column.in_(list(node.value))
    if node.op == "between":
        return column.between(*node.value)
    if node.op == "like":
        return column.like(node.value)
    if node.op == "ilike":
        return column.ilike(node.value)
    return {"gt": column > node.value, "ge": column >= node.value, "lt": column < node.value,
            "le": column <= node.value}[node.op]  # fmt: skip


def _reduce(conditions: list[Any], how: Literal["and", "or"]) -> Any:
    result = conditions[0]
    for condition in conditions[1:]:
        result = (result & condition) if how == "and" else (result | condition)
    return result
