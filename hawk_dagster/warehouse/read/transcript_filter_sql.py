"""The transcript filter language over the warehouse: the same tree Scout gets, as a SQLAlchemy condition.

Used to ask the warehouse which samples a scan filter selects (``hawk`` shows it before a scan runs, and the tests
prove it selects what Scout selects on the same logs). Semantics follow Scout's index, not SQL habits:

- ``like`` matches case-insensitively, as Scout's SQLite ``LIKE`` does, so both become ``ILIKE``;
- ``error: null`` / ``limit: null`` mean "none" (Scout stores ``''``, the warehouse NULL);
- ``score`` is the headline score's raw value (equality on the JSON value, order on its number);
- ``metadata.*`` / ``eval_metadata.*`` / ``task_args.*`` compare JSON values, so numbers compare as numbers.

Every value is a bound parameter; the only identifiers are fixed columns and JSON path keys checked by the parser.
"""

from __future__ import annotations

from typing import Any

from hawk_runner.transcript_filter import And, Compare, FilterError, Node, Not, Or
from sqlalchemy import and_, false, literal, literal_column, not_, or_, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement
from sqlalchemy.sql.elements import BindParameter

from hawk_dagster.warehouse.read.queries import Column
from hawk_dagster.warehouse.schema.models import Eval, Sample, Score

_COLUMNS: dict[str, Column] = {
    "transcript_id": Sample.uuid,
    "eval_id": Eval.eval_id,
    "eval_status": Eval.status,
    "task_set": Eval.task_name,
    "agent": Eval.agent,
    "model": Eval.model,
    "id": Sample.id,
    "epoch": Sample.epoch,
    "total_tokens": Sample.total_tokens,
    "message_count": Sample.message_count,
    "total_time": Sample.total_time_seconds,
    "working_time": Sample.working_time_seconds,
    "error": Sample.error_message,
    "limit": Sample.limit,
}
_JSON_COLUMNS: dict[str, InstrumentedAttribute[dict[str, Any]]] = {
    "sample_metadata": Sample.meta,
    "eval_metadata": Eval.meta,
    "task_args": Eval.task_args,
}
UNSUPPORTED = ("success", "date")
"""Scout fields the warehouse does not hold in Scout's form."""


def to_sql(node: Node) -> ColumnElement[bool]:
    """A condition over ``sample`` joined to ``eval`` (the caller joins them)."""
    if isinstance(node, And):
        return and_(*(to_sql(child) for child in node.children))
    if isinstance(node, Or):
        return or_(*(to_sql(child) for child in node.children))
    if isinstance(node, Not):
        return not_(to_sql(node.child))
    return _compare(node)


def _compare(node: Compare) -> ColumnElement[bool]:
    field = node.field
    if field.info.column in UNSUPPORTED:
        raise FilterError(
            f"{field.name} is not in the warehouse; filter on it in the scan only", found=field.name
        )
    base, _, path = field.column.partition(".")
    if base in _JSON_COLUMNS and path:
        return _json_compare(_JSON_COLUMNS[base], tuple(path.split(".")), node)
    if field.column == "score" or field.column.startswith("score_"):
        return _score_compare(field.column, node)
    column = _COLUMNS[field.column]
    value = str(node.value) if field.column == "id" and node.op == "eq" else node.value
    if node.op == "null":
        return column.is_(None) | (column == "") if field.info.empty_is_null else column.is_(None)
    if node.op == "eq":
        return column == value
    if node.op == "in":
        values = [str(v) for v in node.value] if field.column == "id" else list(node.value)
        return column.in_(values)
    if node.op == "between":
        return column.between(*node.value)
    if node.op in ("like", "ilike"):
        return column.ilike(node.value)
    return _ordered(column, node.op, value)


def _ordered(left: Column, op: str, right: Any) -> ColumnElement[bool]:
    comparisons: dict[str, ColumnElement[bool]] = {
        "gt": left > right,
        "ge": left >= right,
        "lt": left < right,
        "le": left <= right,
    }
    return comparisons[op]


def _jsonb(value: Any) -> BindParameter[Any]:
    """A JSON value as a bound JSONB parameter (JSONB's own serialiser turns 3 into the number 3, "a" into "a")."""
    return literal(value, type_=JSONB())


def _json_compare(
    column: InstrumentedAttribute[dict[str, Any]], path: tuple[str, ...], node: Compare
) -> ColumnElement[bool]:
    value: ColumnElement[Any] = column[path]  # jsonb #> path
    text: ColumnElement[str] = column[path].astext  # jsonb #>> path
    if node.op == "null":
        return value.is_(None) | (value == _jsonb(None))
    if node.op == "eq":
        return value == _jsonb(node.value)
    if node.op == "in":
        return or_(*(value == _jsonb(v) for v in node.value)) if node.value else false()
    if node.op in ("like", "ilike"):
        return text.ilike(node.value)
    if node.op == "between":
        low, high = node.value
        return and_(value >= _jsonb(low), value <= _jsonb(high))
    return _ordered(value, node.op, _jsonb(node.value))


def _score_compare(column_name: str, node: Compare) -> ColumnElement[bool]:
    """The headline score (``score``) or a named scorer's (``score_<name>``) of the sample, as an EXISTS."""
    condition = (
        Score.is_headline
        if column_name == "score"
        else and_(Score.scorer == column_name[len("score_") :], Score.key == "")
    )
    if node.op == "null":
        return (
            ~select(Score.pk)
            .where(Score.sample_pk == Sample.pk, condition, Score.value.is_not(None))
            .exists()
        )
    if node.op == "eq":
        match = Score.value == _jsonb(node.value)
    elif node.op == "in":
        match = or_(*(Score.value == _jsonb(v) for v in node.value))
    elif node.op in ("like", "ilike"):
        match = Score.value.op("#>>")(literal_column("'{}'")).ilike(node.value)  # the JSON value as text
    elif node.op == "between":
        match = Score.value_float.between(*node.value)
    else:
        match = _ordered(Score.value_float, node.op, node.value)
    return select(Score.pk).where(Score.sample_pk == Sample.pk, condition, match).exists()
