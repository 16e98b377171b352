"""Revision 0002 content: message rows, sample models and model roles, generated status/is_invalid, search indexes."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from inspect_ai.log import (
    ProvenanceData,
    invalidate_samples,
    read_eval_log,
    write_eval_log,
)
from sqlalchemy import Engine, text

from hawk_dagster.warehouse.ingest.importer import import_eval_set
from hawk_dagster.warehouse.ingest.rows import SAMPLE_COLUMNS, sample_rows


def _rows(engine: Engine, query: str, **params: Any) -> list[Any]:
    with engine.connect() as conn:
        return list(conn.execute(text(query), params))


def _only_log(log_dir: Path) -> Path:
    (path,) = log_dir.glob("*.eval")
    return path


# ---------------------------------------------------------------------------------------------------------------
# messages


def test_message_rows_equal_the_logs_messages(
    warehouse_engine: Engine, agent_logs_dir: Path, eval_tasks: ModuleType
) -> None:
    report = import_eval_set(warehouse_engine, str(agent_logs_dir), "es-agent")
    assert report.ok, report.to_dict()
    log = read_eval_log(str(_only_log(agent_logs_dir)))
    assert log.samples and len(log.samples) == len(eval_tasks.AGENT_IDS)
    assert report.messages == sum(len(s.messages) for s in log.samples)

    for sample in log.samples:
        rows = _rows(
            warehouse_engine,
            """SELECT m.* FROM message m JOIN sample s ON s.pk = m.sample_pk
               WHERE s.uuid = :uuid ORDER BY m.message_order""",
            uuid=sample.uuid,
        )
        assert [r.message_order for r in rows] == list(range(len(sample.messages)))
        assert len(rows) >= 6, "user, tool call, tool result, tool call, tool error, final answer"
        for row, message in zip(rows, sample.messages, strict=True):
            assert (row.message_id, row.role, row.source) == (message.id, message.role, message.source)
            assert row.content_text == message.text
            if message.role == "assistant":
                calls = [(c.id, c.function, c.arguments) for c in message.tool_calls or []]
                assert [(c["id"], c["function"], c["arguments"]) for c in row.tool_calls or []] == calls
                assert row.model == message.model
                reasoning = [
                    c.reasoning for c in message.content if not isinstance(c, str) and c.type == "reasoning"
                ]
                assert row.content_reasoning == ("\n".join(reasoning) if reasoning else None)
            else:
                assert row.tool_calls is None and row.content_reasoning is None
            if message.role == "tool":
                assert (row.tool_call_id, row.tool_call_function) == (message.tool_call_id, message.function)
                error = message.error
                assert (row.tool_error_type, row.tool_error_message) == (
                    (error.type, error.message) if error else (None, None)
                )

        roles = [r.role for r in rows]
        assert roles[:6] == ["user", "assistant", "tool", "assistant", "tool", "assistant"]
        assert rows[2].content_text == "value of alpha: 42" and rows[2].tool_error_type is None
        assert rows[4].tool_error_message == "no such key: missing"
        assert rows[5].content_text == "42"
        assert rows[5].content_reasoning == "alpha is 42; missing does not exist."

    (counts,) = _rows(
        warehouse_engine,
        "SELECT sum(message_count) AS messages, sum(action_count) AS actions FROM sample",
    )
    assert counts.messages == report.messages
    assert counts.actions == 2 * len(eval_tasks.AGENT_IDS)


def test_sample_models_and_model_roles(
    warehouse_engine: Engine, agent_logs_dir: Path, eval_tasks: ModuleType
) -> None:
    import_eval_set(warehouse_engine, str(agent_logs_dir), "es-models")
    models = _rows(
        warehouse_engine,
        "SELECT s.id, array_agg(m.model ORDER BY m.model) AS models FROM sample s "
        "JOIN sample_model m ON m.sample_pk = s.pk GROUP BY s.id ORDER BY s.id",
    )
    expected = sorted([eval_tasks.AGENT_MODEL, eval_tasks.GRADER_MODEL])
    assert [(r.id, r.models) for r in models] == [(i, expected) for i in sorted(eval_tasks.AGENT_IDS)]

    roles = _rows(warehouse_engine, "SELECT r.role, r.model, r.config, r.args FROM model_role r")
    assert [(r.role, r.model) for r in roles] == [("grader", eval_tasks.GRADER_MODEL)]
    assert isinstance(roles[0].config, dict) and isinstance(roles[0].args, dict)

    # the eval's own model is recorded for samples that never called it (errored before generating)
    rows = sample_rows(
        {"id": "x", "epoch": 1, "input": "q", "target": "a", "model_usage": {}},
        task_id="t",
        eval_model="provider/main",
        headline=lambda scorer, keys: [False] * len(keys),
        raw=b"{}",
    )
    assert rows.models == ["provider/main"]


def test_limits_role_usage_headline_copy_and_scored_at(
    warehouse_engine: Engine, agent_logs_dir: Path, eval_logs_dir: Path
) -> None:
    import_eval_set(warehouse_engine, str(agent_logs_dir), "es-limits-agent")
    (agent_eval,) = _rows(
        warehouse_engine,
        "SELECT config, message_limit, token_limit, time_limit_seconds FROM eval WHERE eval_set_id = 'es-limits-agent'",
    )
    assert agent_eval.message_limit == 12 and agent_eval.config["message_limit"] == 12
    assert agent_eval.token_limit is None and agent_eval.time_limit_seconds is None

    log = read_eval_log(str(_only_log(agent_logs_dir)))
    assert log.samples
    for sample in log.samples:
        (row,) = _rows(warehouse_engine, "SELECT * FROM sample WHERE uuid = :uuid", uuid=sample.uuid)
        assert row.message_limit == sample.message_limit == 12
        assert row.role_usage.keys() == sample.role_usage.keys() and "grader" in row.role_usage
        assert row.role_usage["grader"]["total_tokens"] == sample.role_usage["grader"].total_tokens
        events = {e.scorer: e.timestamp for e in sample.events if e.event == "score" and not e.intermediate}
        scores = _rows(
            warehouse_engine,
            "SELECT scorer, scored_at, value_float, is_headline FROM score WHERE sample_uuid = :uuid",
            uuid=sample.uuid,
        )
        assert scores and {r.scorer: r.scored_at for r in scores} == events
        assert row.headline_value == next(r.value_float for r in scores if r.is_headline)

    # the sample that hit the message limit records the ceiling that stopped it
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-limits-multi")
    limited = _rows(
        warehouse_engine,
        "SELECT s.limit, s.limit_value, s.message_limit FROM sample s JOIN eval e ON e.pk = s.eval_pk "
        "WHERE e.eval_set_id = 'es-limits-multi' AND s.status = 'message_limit'",
    )
    assert limited and all((r.limit, r.limit_value, r.message_limit) == ("message", 4.0, 4) for r in limited)


def test_messages_replaced_not_duplicated_on_forced_reimport(
    warehouse_engine: Engine, agent_logs_dir: Path
) -> None:
    import_eval_set(warehouse_engine, str(agent_logs_dir), "es-msg-twice")
    query = "SELECT sample_pk, message_order, role, content_text, tool_calls FROM message ORDER BY 1, 2"
    before = _rows(warehouse_engine, query)
    models_before = _rows(warehouse_engine, "SELECT * FROM sample_model ORDER BY 1, 2")
    roles_before = _rows(warehouse_engine, "SELECT pk, role, model FROM model_role")
    report = import_eval_set(warehouse_engine, str(agent_logs_dir), "es-msg-twice", force=True)
    assert report.ok and report.messages == len(before)
    assert _rows(warehouse_engine, query) == before
    assert _rows(warehouse_engine, "SELECT * FROM sample_model ORDER BY 1, 2") == models_before
    assert _rows(warehouse_engine, "SELECT pk, role, model FROM model_role") == roles_before


# ---------------------------------------------------------------------------------------------------------------
# generated columns


def test_generated_status_from_imported_samples(
    warehouse_engine: Engine, eval_logs_dir: Path, eval_tasks: ModuleType
) -> None:
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-status")
    rows = _rows(warehouse_engine, 'SELECT id, status, is_invalid, error_message, "limit" FROM sample')
    by_status: dict[str, set[str]] = {}
    for row in rows:
        by_status.setdefault(row.status, set()).add(row.id)
        assert row.is_invalid is False
    assert by_status["error"] == {str(eval_tasks.BOOM_ID)}
    assert by_status["message_limit"] == {str(eval_tasks.CHATTY_ID)}
    assert str(eval_tasks.BOOM_ID) not in by_status["success"] and "add-0" in by_status["success"]
    assert set(by_status) == {"success", "error", "message_limit"}


@pytest.mark.parametrize(
    ("error", "limit", "status"),
    [
        (None, None, "success"),
        ("boom", None, "error"),
        (None, "token", "token_limit"),
        ("boom", "time", "error"),
    ],
)
def test_generated_status_values(
    warehouse_engine: Engine, error: str | None, limit: str | None, status: str
) -> None:
    with warehouse_engine.begin() as conn:
        conn.execute(text("INSERT INTO eval_set (eval_set_id, model_groups) VALUES ('es', '{g}')"))
        eval_pk = conn.execute(
            text("""INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location, file_hash)
                    VALUES ('es', 't', 'e', 'task', 'm', 'success', 'file:///x.eval', 'sha256:0') RETURNING pk""")
        ).scalar_one()
        row = conn.execute(
            text("""INSERT INTO sample (eval_pk, uuid, id, epoch, input, target, error_message, "limit")
                    VALUES (:e, 'u', '1', 1, '"in"', '"out"', :error, :limit) RETURNING status, is_invalid"""),
            {"e": eval_pk, "error": error, "limit": limit},
        ).one()
        assert (row.status, row.is_invalid) == (status, False)
        for column in ("invalidation_author", "invalidation_reason"):
            conn.execute(text(f"UPDATE sample SET {column} = 'x'"))
            assert conn.execute(text("SELECT is_invalid FROM sample")).scalar_one() is True
            conn.execute(text(f"UPDATE sample SET {column} = NULL"))
        conn.execute(text("UPDATE sample SET invalidation_timestamp = now()"))
        assert conn.execute(text("SELECT is_invalid FROM sample")).scalar_one() is True


def test_invalidated_sample_imports_as_invalid(
    warehouse_engine: Engine, eval_logs_dir: Path, copy_logs: Callable[[Path], Path]
) -> None:
    log_dir = copy_logs(eval_logs_dir)
    (arith,) = [p for p in log_dir.glob("*.eval") if "_arith_" in p.name]
    log = read_eval_log(str(arith))
    target = next(s for s in log.samples or [] if s.id == "add-2")
    edited = invalidate_samples(
        log,
        [str(target.uuid)],
        ProvenanceData(author="qa@example.com", reason="answer leaked into the prompt"),
    )
    write_eval_log(edited, str(arith))

    report = import_eval_set(warehouse_engine, str(log_dir), "es-invalid")
    assert report.ok, report.to_dict()
    rows = {
        r.id: r
        for r in _rows(
            warehouse_engine,
            "SELECT id, is_invalid, invalidation_author, invalidation_reason, invalidation_timestamp FROM sample",
        )
    }
    assert rows["add-2"].is_invalid is True
    assert rows["add-2"].invalidation_author == "qa@example.com"
    assert rows["add-2"].invalidation_reason == "answer leaked into the prompt"
    assert rows["add-2"].invalidation_timestamp is not None
    assert [r.id for r in rows.values() if r.is_invalid] == ["add-2"]


# ---------------------------------------------------------------------------------------------------------------
# search


def _plan(engine: Engine, query: str, **params: Any) -> str:
    """The plan with sequential scans disabled: proves the index can serve the predicate (the operator class
    matches), which on a tiny test table the planner would otherwise rightly skip."""
    with engine.begin() as conn:
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        return "\n".join(r[0] for r in conn.execute(text(f"EXPLAIN {query}"), params))


def test_search_text_ilike_uses_the_trigram_index(
    warehouse_engine: Engine, eval_logs_dir: Path, agent_logs_dir: Path
) -> None:
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-search")
    query = "SELECT id FROM sample WHERE search_text ILIKE :pattern"
    # input text, target, output and id are all searchable, case-insensitively
    assert sorted(r.id for r in _rows(warehouse_engine, query, pattern="%what is 3+3%")) == ["add-3"]
    assert sorted(r.id for r in _rows(warehouse_engine, query, pattern="%SAY 2%")) == ["2", "2"]
    assert [r.id for r in _rows(warehouse_engine, query, pattern="add-5%")] == ["add-5"]
    assert "ix_sample_search_text_trgm" in _plan(warehouse_engine, query, pattern="%what is 3+3%")

    # the transcript: a tool result's text, a tool call's argument value, a tool error's message
    import_eval_set(warehouse_engine, str(agent_logs_dir), "es-search-agent")
    agent_samples = sorted(r.id for r in _rows(warehouse_engine, "SELECT id FROM sample s JOIN eval e ON "
                                               "e.pk = s.eval_pk WHERE e.eval_set_id = 'es-search-agent'"))  # fmt: skip
    assert agent_samples
    for pattern in ("%VALUE OF ALPHA: 42%", "%lookup missing%", "%no such key: missing%"):
        found = sorted(r.id for r in _rows(warehouse_engine, query, pattern=pattern))
        assert found == agent_samples, pattern
    assert "ix_sample_search_text_trgm" in _plan(warehouse_engine, query, pattern="%no such key%")


def test_headline_score_uses_the_covering_index(warehouse_engine: Engine, eval_logs_dir: Path) -> None:
    import_eval_set(warehouse_engine, str(eval_logs_dir), "es-headline")
    with warehouse_engine.begin() as conn:
        conn.execute(text("ANALYZE score"))
    query = (
        "SELECT s.id, h.value_float FROM sample s JOIN score h ON h.sample_pk = s.pk AND h.is_headline "
        "WHERE s.id = 'add-1'"
    )
    (row,) = _rows(warehouse_engine, query)
    assert row.value_float == 1.0
    assert "ix_score_headline" in _plan(warehouse_engine, query)


# ---------------------------------------------------------------------------------------------------------------
# raw JSON edge cases


def test_rows_sanitise_nul_nan_and_lone_surrogates() -> None:
    data = {
        "id": "n\x00ul",
        "epoch": 1,
        "input": "bad \ud800 surrogate",
        "target": "t",
        "metadata": {"x": float("nan"), "k\x00": "v"},
        "messages": [{"role": "user", "content": "hi\x00there", "id": "m1"}],
        "output": {"completion": "", "choices": [{"message": {"role": "assistant", "content": "fallback"}}]},
        "scores": {"s": {"value": float("inf")}},
    }
    rows = sample_rows(data, task_id="t", eval_model=None, headline=lambda s, k: [True] * len(k), raw=None)
    assert rows.sample[1] == "n\ufffdul"
    assert rows.sample[3] == '"bad \ufffd surrogate"'
    assert rows.sample[5] == "fallback"
    assert rows.messages[0][4] == "hi\ufffdthere"
    metadata = rows.sample[SAMPLE_COLUMNS.index("metadata")]
    assert "NaN" in metadata and "\\u0000" not in metadata
    (score,) = rows.scores
    assert (
        score[3] == '"Infinity"' and score[4] is None and score[-2] is True and score[-1] is None
    )  # no events


def test_attachment_references_in_messages_are_resolved(tmp_path: Path) -> None:
    data = {
        "id": 1,
        "epoch": 2,
        "uuid": "u1",
        "input": [{"role": "user", "content": [{"type": "text", "text": "attachment://abc"}]}],
        "target": ["a", "b"],
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "attachment://abc"}, {"type": "image", "image": "x"}],
            },
            {"role": "assistant", "content": "attachment://missing"},
        ],
        "attachments": {"abc": "the real text"},
    }
    rows = sample_rows(data, task_id="t", eval_model="m", headline=lambda s, k: [False] * len(k), raw=b"{}")
    assert rows.uuid == "u1" and rows.key == ("1", 2)
    assert rows.messages[0][4] == "the real text"
    assert rows.messages[1][4] == "attachment://missing"
    # search text: id, targets, then the transcript (the input is its first message); no output
    assert rows.sample[SAMPLE_COLUMNS.index("search_text")] == "1\na\nb\nthe real text\nattachment://missing"
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_rows_fast_path_falls_back_when_a_value_is_not_finite() -> None:
    data = {"id": "x", "epoch": 1, "input": "q", "target": "a", "metadata": {"loss": float("nan")}}
    raw = b'{"id":"x","epoch":1,"input":"q","target":"a","metadata":{"loss":NaN}}'
    rows = sample_rows(data, task_id="t", eval_model=None, headline=lambda s, k: [False] * len(k), raw=raw)
    assert rows.sample[SAMPLE_COLUMNS.index("metadata")] == '{"loss":"NaN"}'


# ---------------------------------------------------------------------------------------------------------------
# reading: chunking, read-ahead, legacy .json logs


def test_chunk_size_does_not_change_the_rows(
    make_database: Callable[..., str], eval_logs_dir: Path, agent_logs_dir: Path
) -> None:
    from hawk_dagster.warehouse.engine import create_warehouse_engine

    queries = {
        "sample": "SELECT uuid, id, epoch, output, search_text, status, action_count, message_count FROM sample",
        "message": "SELECT s.uuid, m.message_order, m.role, m.content_text FROM message m "
        "JOIN sample s ON s.pk = m.sample_pk",
        "score": "SELECT s.uuid, c.scorer, c.key, c.value_float, c.is_headline FROM score c "
        "JOIN sample s ON s.pk = c.sample_pk",
    }
    dumps = []
    for chunk_size in (1, 3, 250):
        engine = create_warehouse_engine(make_database())
        try:
            for log_dir, es in ((eval_logs_dir, "es-a"), (agent_logs_dir, "es-b")):
                assert import_eval_set(engine, str(log_dir), es, chunk_size=chunk_size).ok
            dumps.append(
                {name: sorted(map(tuple, _rows(engine, q)), key=repr) for name, q in queries.items()}
            )
        finally:
            engine.dispose()
    assert dumps[0] == dumps[1] == dumps[2]
    assert len(dumps[0]["message"]) > len(dumps[0]["sample"]) > 0


def test_read_ahead_propagates_errors_and_stops_early() -> None:
    import threading

    from hawk_dagster.warehouse.ingest.importer import read_ahead

    def failing() -> Any:
        yield 1
        raise ValueError("broken member")

    got: list[int] = []
    with pytest.raises(ValueError, match="broken member"):
        for item in read_ahead(failing()):
            got.append(item)
    assert got == [1]

    produced: list[int] = []

    def endless() -> Any:
        for i in range(10**6):
            produced.append(i)
            yield i

    before = threading.active_count()
    for item in read_ahead(endless()):
        if item == 3:
            break
    assert threading.active_count() == before, "the reader thread stops when the consumer does"
    assert len(produced) < 10


def test_legacy_json_log(warehouse_engine: Engine, agent_logs_dir: Path, tmp_path: Path) -> None:
    log = read_eval_log(str(_only_log(agent_logs_dir)))
    log_dir = tmp_path / "json-logs"
    log_dir.mkdir()
    write_eval_log(log, str(log_dir / (_only_log(agent_logs_dir).stem + ".json")))
    report = import_eval_set(warehouse_engine, str(log_dir), "es-json")
    assert report.ok, report.to_dict()
    assert report.samples == len(log.samples or [])
    assert report.messages == sum(len(s.messages) for s in log.samples or [])
