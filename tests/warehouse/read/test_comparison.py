"""Compare: differences and their intervals from the logs' own metrics, and the samples that differ."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from hawk_dagster.warehouse.read.comparison import (
    compare_eval_sets,
    difference,
    differing_counts_query,
    differing_samples,
)
from hawk_dagster.warehouse.read.eval_set_results import HEADLINE
from hawk_dagster.warehouse.read.queries import UnknownIdError
from tests.web.results_fixtures import WRONG, ResultsWarehouse, log_headers, viewer

pytestmark = pytest.mark.xdist_group("results_warehouse")


def test_difference_interval() -> None:
    d = difference(0.5, 0.03, 0.7, 0.04)
    assert d is not None and d.value == pytest.approx(0.2)
    assert (d.low, d.high) == pytest.approx((0.2 - 1.96 * 0.05, 0.2 + 1.96 * 0.05))
    assert d.significant is True
    assert difference(0.5, 0.2, 0.6, 0.2).significant is False  # type: ignore[union-attr]
    no_stderr = difference(0.5, None, 0.7, 0.04)
    assert no_stderr is not None and (no_stderr.low, no_stderr.high, no_stderr.significant) == (
        None,
        None,
        None,
    )
    assert difference(None, 0.1, 0.7, 0.1) is None


def test_common_cells_with_differences_from_the_logs(
    results_engine: Engine, results_warehouse: ResultsWarehouse
) -> None:
    comparison = compare_eval_sets(results_engine, ["res-a", "res-b"])
    assert [(c.task, c.model) for c in comparison.cells] == [
        ("add", "mockllm/m1"), ("add", "mockllm/m2"), ("chat", "mockllm/m1"), ("chat", "mockllm/m2"),
    ]  # fmt: skip
    assert comparison.only_in == {"res-a": 0, "res-b": 1}  # res-b's m3
    a, b = log_headers(results_warehouse.root, "res-a"), log_headers(results_warehouse.root, "res-b")
    for cell in comparison.cells:
        metrics_a = a[(cell.task, cell.model)].results.scores[0].metrics  # type: ignore[union-attr]
        metrics_b = b[(cell.task, cell.model)].results.scores[0].metrics  # type: ignore[union-attr]
        diff = metrics_b["accuracy"].value - metrics_a["accuracy"].value
        half = 1.96 * math.sqrt(metrics_a["stderr"].value ** 2 + metrics_b["stderr"].value ** 2)
        (got,) = cell.differences
        assert got is not None and cell.metric_name == "match/accuracy"
        assert got.value == pytest.approx(diff)
        assert (got.low, got.high) == pytest.approx((diff - half, diff + half))
    by_cell = {(c.task, c.model): c for c in comparison.cells}
    # samples answered wrongly by exactly one of the two runs differ
    for model in ("mockllm/m1", "mockllm/m2"):
        expected = len(WRONG[("res-a", model)] ^ WRONG[("res-b", model)])
        assert by_cell[("add", model)].differing == [expected]
    assert by_cell[("chat", "mockllm/m1")].differing == [0]


def test_differing_samples_link_both_sides(results_engine: Engine) -> None:
    page = differing_samples(results_engine, ["res-a", "res-b"], "add", "mockllm/m2")
    expected = WRONG[("res-a", "mockllm/m2")] ^ WRONG[("res-b", "mockllm/m2")]
    assert page.total == len(expected)
    assert sorted(int(r["id"]) for r in page.rows) == sorted(expected)
    for row in page.rows:
        assert (row["base_value"], row["other_value"]) == (0.0, 1.0)  # wrong in res-a, right in res-b
        assert row["base_uuid"] != row["other_uuid"]
    assert (
        differing_samples(results_engine, ["res-a", "res-b"], "add", "mockllm/m2", limit=1).rows[0]["id"]
        == "1"
    )
    chosen = differing_samples(
        results_engine, ["res-a", "res-b"], "add", "mockllm/m2", metric="match/accuracy"
    )
    assert (
        chosen.total == page.total
    )  # the chosen score read from the score rows agrees with the headline copy
    with pytest.raises(ValueError, match="do not both have"):
        differing_samples(results_engine, ["res-a", "res-b"], "add", "mockllm/m3")


def test_three_sets_and_bad_requests(results_engine: Engine) -> None:
    comparison = compare_eval_sets(results_engine, ["res-b", "res-a", "res-g"])
    assert comparison.cells == []  # res-g ran only g1
    with pytest.raises(ValueError, match="at least two"):
        compare_eval_sets(results_engine, ["res-a", "res-a"])


def test_a_hidden_eval_set_fails_the_whole_comparison(results_engine: Engine) -> None:
    with pytest.raises(UnknownIdError, match="res-g"):
        compare_eval_sets(results_engine, ["res-a", "res-g"], viewer=viewer("alpha"))
    with pytest.raises(UnknownIdError, match="res-g"):
        differing_samples(results_engine, ["res-a", "res-g"], "add", "mockllm/g1", viewer=viewer("alpha"))
    assert len(compare_eval_sets(results_engine, ["res-a", "res-b"], viewer=viewer("alpha")).cells) == 4


def plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", ()):
        yield from plan_nodes(child)


@pytest.mark.parametrize("metric", [HEADLINE, "match/accuracy"])
def test_differing_counts_read_each_eval_once_not_each_sample(results_engine: Engine, metric: str) -> None:
    """The pairs are matched by a set-based join: ``sample`` is read once per eval (or scanned once), never probed
    once per baseline sample (50,000 index lookups for two eval sets of 20 tasks x 5 models x 500 samples)."""
    comparison = compare_eval_sets(results_engine, ["res-a", "res-b"])
    pairs = [(c.cells[0].eval_pk, c.cells[1].eval_pk) for c in comparison.cells]
    baseline_samples = sum(c.cells[0].samples for c in comparison.cells)
    assert baseline_samples > 2 * len(pairs)
    query = differing_counts_query(pairs, comparison.cells[0].cells[0], metric)
    compiled = query.compile(dialect=results_engine.dialect)
    with results_engine.connect() as conn:
        counts = {(a, b): n for a, b, n in conn.execute(query)}
        ((plan,),) = conn.exec_driver_sql(f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", compiled.params).all()
    assert sum(counts.values()) == sum(c.differing[0] or 0 for c in comparison.cells) > 0
    reads = [n for n in plan_nodes(plan[0]["Plan"]) if n.get("Relation Name") == "sample"]
    assert len(reads) == 2  # the baseline side and the other side
    assert all(n["Actual Loops"] <= len(pairs) for n in reads), [
        (n["Node Type"], n["Actual Loops"]) for n in reads
    ]
