"""The eval-set grid against the logs Inspect wrote (metrics, stderr, token usage) and the runs' known outcomes."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine

from hawk_dagster.warehouse.read.eval_set_results import HEADLINE, eval_set_results
from hawk_dagster.warehouse.read.queries import UnknownIdError
from tests.web.results_fixtures import WRONG, ResultsWarehouse, log_headers, viewer
from tests.web.results_tasks import ADD_SAMPLES, CHAT_IDS

pytestmark = pytest.mark.xdist_group("results_warehouse")


def test_grid_cells_match_the_logs(results_engine: Engine, results_warehouse: ResultsWarehouse) -> None:
    results = eval_set_results(results_engine, "res-a")
    assert (results.name, results.created_by, results.tags) == (
        "results res-a",
        "owner-alpha",
        ["results-test"],
    )
    assert results.tasks == ["add", "chat"]
    assert results.models == ["mockllm/m1", "mockllm/m2"]
    headers = log_headers(results_warehouse.root, "res-a")
    assert set(results.cells) == set(headers)
    for (task, model), header in headers.items():
        cell = results.cell(task, model)
        assert cell is not None and cell.status == "success"
        assert header.results is not None
        (score,) = header.results.scores
        assert cell.headline is not None
        assert cell.headline.name == f"{score.name}/accuracy"
        assert cell.headline.value == pytest.approx(score.metrics["accuracy"].value)
        assert cell.headline.stderr == pytest.approx(score.metrics["stderr"].value)
        assert cell.metric(f"{score.name}/accuracy") == cell.headline
        assert "match/stderr" not in cell.metrics  # spread metrics are not grid values
        usage = header.stats.model_usage[model]
        assert (cell.usage[model]["input_tokens"], cell.usage[model]["total_tokens"]) == (
            usage.input_tokens,
            usage.total_tokens,
        )
    add = results.cell("add", "mockllm/m2")
    assert add is not None and add.samples == add.total_samples == ADD_SAMPLES
    assert add.headline is not None and add.headline.value == pytest.approx(
        1 - len(WRONG[("res-a", "mockllm/m2")]) / ADD_SAMPLES
    )


def test_errors_and_limits_are_broken_down(results_engine: Engine) -> None:
    results = eval_set_results(results_engine, "res-a")
    chat = results.cell("chat", "mockllm/m1")
    assert chat is not None and chat.samples == len(CHAT_IDS)
    assert chat.statuses == {"error": 1, "message_limit": 1, "success": 2}
    assert (chat.errors, chat.limits) == (1, {"message": 1})
    assert results.statuses == {"error": 2, "message_limit": 2, "success": 2 * ADD_SAMPLES + 4}
    tokens = {t.model: t for t in results.tokens_by_model}
    assert set(tokens) == {"mockllm/m1", "mockllm/m2"}
    assert tokens["mockllm/m1"].evals == 2
    assert tokens["mockllm/m1"].total_tokens == sum(
        c.usage["mockllm/m1"]["total_tokens"] for c in results.cells.values() if c.model == "mockllm/m1"
    )
    assert tokens["mockllm/m1"].reasoning_tokens > 0  # chat answers carry reasoning tokens


def test_metric_choice_and_headline(results_engine: Engine) -> None:
    results = eval_set_results(results_engine, "res-b")
    assert results.metric_choices == ["match/accuracy"]
    cell = results.cell("add", "mockllm/m3")
    assert cell is not None and cell.metric(HEADLINE) == cell.metric("match/accuracy")
    assert cell.invalid == 1 and cell.samples == ADD_SAMPLES
    assert cell.metric("nope/none") is None
    assert results.cell("chat", "mockllm/m3") is None  # not run


def test_a_viewer_without_the_group_is_told_it_does_not_exist(results_engine: Engine) -> None:
    with pytest.raises(UnknownIdError) as absent:
        eval_set_results(results_engine, "no-such-set", viewer=viewer("alpha"))
    with pytest.raises(UnknownIdError) as hidden:
        eval_set_results(results_engine, "res-g", viewer=viewer("alpha"))
    assert str(hidden.value) == str(absent.value).replace("no-such-set", "res-g")
    assert eval_set_results(results_engine, "res-g", viewer=viewer("gamma")).samples == ADD_SAMPLES
    assert eval_set_results(results_engine, "res-a", viewer=viewer("alpha", "gamma")).samples > 0
