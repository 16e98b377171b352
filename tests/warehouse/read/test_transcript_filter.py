"""The transcript filter language: every operator against real transcripts with known answers, through Inspect Scout.

The logs (``eval_logs_dir``): task ``arith`` (ids add-0..add-5, metadata ``i``, ``match`` scores, add-3 wrong) and
task ``multi`` (ids 1-5 x 2 epochs, metadata ``kind``: 5 errors ("boom"), 4 hits the message limit ("chatty")).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from hawk_runner.transcript_filter import (
    And,
    Compare,
    FilterError,
    Not,
    Or,
    parse_condition,
    parse_where,
    to_scout,
)
from sqlalchemy import Engine

Key = tuple[str, str, int]  # (task, sample id, epoch)


@pytest.fixture(scope="module")
def transcripts(eval_logs_dir: Path) -> tuple[Any, dict[str, Key]]:
    from inspect_ai.log import list_eval_logs, read_eval_log_sample_summaries
    from inspect_scout import transcripts_from

    keys: dict[str, Key] = {}
    for info in list_eval_logs(str(eval_logs_dir)):
        task = info.task
        for summary in read_eval_log_sample_summaries(info.name):
            keys[summary.uuid] = (task, str(summary.id), summary.epoch)  # type: ignore[index]
    assert len(keys) == 16
    return transcripts_from(str(eval_logs_dir)), keys


def select(transcripts: tuple[Any, dict[str, Key]], *conditions: Any) -> set[Key]:
    source, keys = transcripts

    async def ids() -> list[str]:
        async with source.where(to_scout(parse_where(list(conditions)))).reader() as reader:
            return [info.transcript_id async for info in reader.index()]

    return {keys[i] for i in asyncio.run(ids())}


def arith(*ids: int) -> set[Key]:
    return {("arith", f"add-{i}", 1) for i in ids}


def multi(ids: tuple[int, ...] = (1, 2, 3, 4, 5), epochs: tuple[int, ...] = (1, 2)) -> set[Key]:
    return {("multi", str(i), e) for i in ids for e in epochs}


ALL = arith(0, 1, 2, 3, 4, 5) | multi()


CASES = [
    pytest.param([{"task": "arith"}], arith(0, 1, 2, 3, 4, 5), id="equality"),
    pytest.param([{"id": ["add-0", "add-5", "3"]}], arith(0, 5) | multi((3,)), id="in-list"),
    pytest.param([{"error": None}], ALL - multi((5,)), id="null (Scout stores no error as '')"),
    pytest.param([{"limit": "message"}], multi((4,)), id="limit kind"),
    pytest.param([{"metadata.i": {"gt": 3}}], arith(4, 5), id="gt on a metadata path"),
    pytest.param([{"metadata.i": {"ge": 3}}], arith(3, 4, 5), id="ge"),
    pytest.param([{"metadata.i": {"lt": 1}}], arith(0), id="lt"),
    pytest.param([{"metadata.i": {"le": 1}}], arith(0, 1), id="le"),
    pytest.param([{"metadata.i": {"between": [2, 3]}}], arith(2, 3), id="between"),
    pytest.param([{"epoch": {"gt": 1}}], multi(epochs=(2,)), id="gt on a number field"),
    pytest.param([{"id": {"like": "add-%"}}], arith(0, 1, 2, 3, 4, 5), id="like"),
    pytest.param([{"metadata.kind": {"ilike": "CH%"}}], multi((4,)), id="ilike"),
    pytest.param([{"metadata.kind": "boom"}], multi((5,)), id="dotted metadata path"),
    pytest.param([{"not": {"task": "arith"}}], multi(), id="not (mapping)"),
    pytest.param(
        [{"not": [{"task": "multi"}, {"epoch": 2}]}], ALL - multi(epochs=(2,)), id="not (list: AND)"
    ),
    pytest.param([{"or": [{"id": "add-1"}, {"metadata.kind": "boom"}]}], arith(1) | multi((5,)), id="or"),
    pytest.param([{"task": "multi", "epoch": 1}], multi(epochs=(1,)), id="several keys ANDed"),
    pytest.param([{"task": "arith"}, {"score": "I"}], arith(3), id="list items ANDed; headline score"),
    pytest.param([{"eval_status": "success"}], ALL, id="eval status"),
    pytest.param(
        [{"or": [{"not": {"error": None}}, {"limit": "message"}]}, {"epoch": 1}],
        multi((4, 5), (1,)),
        id="nested",
    ),
]


@pytest.mark.parametrize(("conditions", "expected"), CASES)
def test_each_operator_against_real_transcripts(
    transcripts: tuple[Any, dict[str, Key]], conditions: list[Any], expected: set[Key]
) -> None:
    assert select(transcripts, *conditions) == expected


def test_parse_tree() -> None:
    node = parse_where([{"model": "m", "epoch": {"between": [1, 2]}}, {"or": [{"id": 1}, {"error": None}]}])
    assert isinstance(node, And) and len(node.children) == 2
    first, second = node.children
    assert isinstance(first, And) and [c.op for c in first.children if isinstance(c, Compare)] == [
        "eq",
        "between",
    ]
    assert isinstance(second, Or)
    negated = parse_condition({"not": [{"model": "a"}]})
    assert isinstance(negated, Not) and isinstance(negated.child, Compare)
    assert parse_condition({"metadata.agent.name": "react"}).field.column == "sample_metadata.agent.name"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("condition", "subpath", "message"),
    [
        ({"modle": "x"}, ("modle",), "unknown field 'modle' (did you mean 'model'?)"),
        ({"score": {"gtt": 1}}, ("score",), "unknown operator 'gtt' (did you mean 'gt'?)"),
        ({"score": {"gt": 1, "lt": 2}}, ("score",), "exactly one of"),
        ({}, (), "at least one field"),
        ({"or": [{"model": "a"}]}, ("or",), "at least two"),
        ({"or": [{"model": "a"}, {}]}, ("or", 1), "at least one field"),
        ({"not": []}, ("not",), "at least one condition"),
        ({"not": {"model": "a"}, "epoch": 1}, (), "must be alone"),
        ({"epoch": "one"}, ("epoch",), "holds numbers"),
        ({"epoch": {"like": "1%"}}, ("epoch", "like"), "matches text"),
        ({"model": 3}, ("model",), "quote the value"),
        ({"success": {"gt": 0}}, ("success", "gt"), "true or false"),
        ({"model": []}, ("model",), "at least one value"),
        ({"model": [{"a": 1}]}, ("model", 0), "single text"),
        ({"total_time": {"between": [5, 1]}}, ("total_time", "between"), "low <= high"),
        ({"total_time": {"between": [1]}}, ("total_time", "between"), "two bounds"),
        ({"eval_status": "done"}, ("eval_status",), "one of started, success, cancelled, error"),
        ({"metadata..x": 1}, ("metadata..x",), "dot-separated keys"),
        ({"model": {"not": "a"}}, ("model",), "write `not` and `or` as their own conditions"),
        ("model == a", (), "a condition is a mapping"),
    ],
)
def test_errors_name_the_path(condition: Any, subpath: tuple[Any, ...], message: str) -> None:
    with pytest.raises(FilterError) as caught:
        parse_condition(condition)
    assert caught.value.subpath == subpath
    assert message in caught.value.message


def test_values_are_parameters_not_sql() -> None:
    from inspect_scout._query import condition_as_sql

    hostile = "x' OR 1=1 --"
    sql, params = condition_as_sql(
        to_scout(parse_where([{"model": hostile}, {"metadata.kind": hostile}])), "sqlite"
    )
    assert hostile not in sql and params == [hostile, hostile]


def test_the_same_filters_through_sql_on_the_warehouse_select_the_same_samples(
    transcripts: tuple[Any, dict[str, Key]], eval_logs_dir: Path, warehouse_engine: Engine
) -> None:
    from sqlalchemy import select

    from hawk_dagster.warehouse.ingest.importer import import_eval_set
    from hawk_dagster.warehouse.read.transcript_filter_sql import to_sql
    from hawk_dagster.warehouse.schema.models import Eval, Sample

    assert import_eval_set(warehouse_engine, str(eval_logs_dir), "es-filter").samples == 16
    _, keys = transcripts
    for case in CASES:
        conditions, expected = case.values
        query = (
            select(Sample.uuid)
            .join(Eval, Eval.pk == Sample.eval_pk)
            .where(Eval.eval_set_id == "es-filter", to_sql(parse_where(list(conditions))))
        )
        with warehouse_engine.connect() as conn:
            found = {keys[uuid] for uuid in conn.execute(query).scalars()}
        assert found == expected, case.id


def test_fields_the_warehouse_lacks_are_refused_clearly() -> None:
    from hawk_dagster.warehouse.read.transcript_filter_sql import to_sql

    with pytest.raises(FilterError, match="success is not in the warehouse"):
        to_sql(parse_where([{"success": True}]))
