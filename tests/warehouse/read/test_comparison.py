"""Compare: differences and their intervals from the logs' own metrics, and the samples that differ."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, text

from hawk_dagster.warehouse.engine import create_warehouse_engine
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


SYNTHETIC_SQL = """
INSERT INTO eval_set (eval_set_id, name, created_by, created_at, model_groups)
SELECT 'set-' || s, 'set ' || s, 'bench', now(), ARRAY['g'] FROM generate_series(0, 2) s;
INSERT INTO eval (pk, eval_set_id, task_id, eval_id, task_name, model, status, location, file_hash,
                  headline_scorer, headline_score, headline_metric, headline_value)
SELECT gen_random_uuid(), 'set-' || s, 'task-' || s || '-' || e, 'eval-' || s || '-' || e, 'task-' || e, 'model',
       'success', '/logs/' || s || '/' || e, 'sha256:' || s || '-' || e, 'accuracy', 'accuracy', 'mean', 0.5
FROM generate_series(0, 2) s, generate_series(0, :evals - 1) e;
INSERT INTO sample (pk, eval_pk, uuid, id, epoch, input, target, search_text, headline_value)
SELECT gen_random_uuid(), e.pk, e.eval_id || '-' || i, 'sample-' || i, 1, to_jsonb(repeat('q', 800)), '"a"', 'q a',
       (hashtext(e.eval_id || i) % 2 = 0)::int
FROM eval e, generate_series(1, CASE WHEN e.eval_set_id = 'set-2' THEN :filler ELSE :samples END) i;
ANALYZE eval_set; ANALYZE eval; ANALYZE sample;
"""


def test_differing_counts_read_each_eval_once_not_each_sample(make_database: Callable[..., str]) -> None:
    """The pairs are matched set-based, each pair's two evals read once and hash-joined: ``sample`` is never
    probed once per baseline sample (on the 1,000,000-sample benchmark warehouse PostgreSQL planned the former join
    as 50,000 index lookups for two eval sets of 20 tasks x 5 models x 500 samples; on a table this small it
    hash-joins either form, so this checks the plan's shape, and benchmarks/web_eval_set_speed.py the time)."""
    evals, samples = 20, 500
    engine = create_warehouse_engine(make_database())
    try:
        with engine.begin() as conn:
            for statement in filter(str.strip, SYNTHETIC_SQL.split(";")):
                conn.execute(text(statement), {"evals": evals, "samples": samples, "filler": 2_000})
        comparison = compare_eval_sets(engine, ["set-0", "set-1"])
        pairs = [(c.cells[0].eval_pk, c.cells[1].eval_pk) for c in comparison.cells]
        assert len(pairs) == evals
        query = differing_counts_query(pairs, comparison.cells[0].cells[0], HEADLINE)
        compiled = query.compile(dialect=engine.dialect)
        with engine.connect() as conn:
            ((plan,),) = conn.exec_driver_sql(
                f"EXPLAIN (ANALYZE, FORMAT JSON) {compiled}", compiled.params
            ).all()
            expected = conn.execute(
                text(
                    "SELECT count(*) FROM sample a JOIN eval ea ON ea.pk = a.eval_pk JOIN eval eb ON eb.task_name ="
                    " ea.task_name AND eb.eval_set_id = 'set-1' JOIN sample b ON b.eval_pk = eb.pk AND b.id = a.id"
                    " WHERE ea.eval_set_id = 'set-0' AND a.headline_value IS DISTINCT FROM b.headline_value"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    assert 0 < expected == sum(c.differing[0] or 0 for c in comparison.cells)
    reads = [n for n in plan_nodes(plan[0]["Plan"]) if n.get("Relation Name") == "sample"]
    assert reads and all(n["Actual Loops"] <= len(pairs) for n in reads), [
        (n["Node Type"], n["Actual Loops"]) for n in reads
    ]
