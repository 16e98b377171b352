"""Every filter and sort of the warehouse queries on a small fixture warehouse whose answers are known."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from hawk_dagster.warehouse.read.queries import (
    SAMPLE_SORTS,
    SampleFilter,
    UnknownIdError,
    export_samples_csv,
    list_eval_sets,
    list_evals,
    list_samples,
    list_scans,
    require_scorer,
    sample_location,
    sample_statements,
    scanner_counts,
    scorer_labels,
)
from hawk_dagster.warehouse.schema.models import (
    Eval,
    EvalSet,
    Message,
    Sample,
    Scan,
    ScannerResult,
    ScanSource,
    Score,
)
from hawk_dagster.warehouse.schema.search import search_document

T0 = datetime(2026, 11, 1, tzinfo=UTC)

# uuid: (eval set, task, model, id, error, limit, headline match score, judge quality score, message text, invalid)
SAMPLES = {
    "u1": ("es-a", "add", "m1", "1", None, None, 1.0, 0.9, "ran sudo apt-get", False),
    "u2": ("es-a", "add", "m1", "2", "boom", None, 0.0, 0.1, "plain answer", False),
    "u3": ("es-a", "add", "m2", "1", None, "message", 0.0, 0.3, "tried SUDO once", True),
    "u4": ("es-a", "add", "m2", "2", None, None, 1.0, None, "nothing special", False),
    "u5": ("es-b", "mul", "m1", "1", None, None, 0.5, 0.45, "50%_done marker", False),
}


@pytest.fixture
def engine(warehouse_engine: Engine) -> Engine:
    with Session(warehouse_engine) as session:
        sets = {
            "es-a": EvalSet(
                eval_set_id="es-a",
                name="alpha grid",
                created_by="ada",
                created_at=T0,
                tags=["nightly", "math"],
            ),
            "es-b": EvalSet(
                eval_set_id="es-b", name="beta", created_by="bob", created_at=T0 + timedelta(days=1)
            ),
        }
        session.add_all(sets.values())
        evals: dict[tuple[str, str, str], Eval] = {}
        for n, (uuid, (es, task, model, sid, error, limit, match, judge, text, invalid)) in enumerate(
            SAMPLES.items()
        ):
            key = (es, task, model)
            if key not in evals:
                evals[key] = Eval(
                    eval_set_id=es,
                    task_id=f"{task}-{model}",
                    eval_id=f"ev-{task}-{model}",
                    task_name=task,
                    model=model,
                    status="success",
                    location=f"/logs/{es}/{task}-{model}.eval",
                    file_hash=f"h-{task}-{model}",
                    total_samples=2,
                )
                session.add(evals[key])
                session.flush()
            sample = Sample(
                eval_pk=evals[key].pk,
                uuid=uuid,
                id=sid,
                epoch=1,
                input=f"question {sid}",
                target="x",
                output=f"answer {uuid}",
                total_tokens=100 * (n + 1),
                total_time_seconds=float(10 - n),
                message_count=n + 2,
                error_message=error,
                limit=limit,
                completed_at=T0 + timedelta(minutes=n),
                invalidation_reason="bad sandbox" if invalid else None,
                search_text=search_document(sid, "", "x", [f"question {sid}", text], f"answer {uuid}"),
                headline_value=match,
            )
            session.add(sample)
            session.flush()
            session.add(Score(sample_pk=sample.pk, sample_uuid=uuid, scorer="match", key="", value=match,
                              value_float=match, is_headline=True))  # fmt: skip
            if judge is not None:
                session.add(Score(sample_pk=sample.pk, sample_uuid=uuid, scorer="judge", key="quality",
                                  value=judge, value_float=judge))  # fmt: skip
            session.add(
                Message(sample_pk=sample.pk, message_order=0, role="user", content_text=f"question {sid}")
            )
            session.add(Message(sample_pk=sample.pk, message_order=1, role="assistant", content_text=text))
        session.commit()
    return warehouse_engine


def uuids(engine: Engine, **kwargs: object) -> list[str]:
    """The matching uuids; the page's total (counted without the listing's joins) must agree with them."""
    page = list_samples(engine, SampleFilter(limit=100, **kwargs))  # type: ignore[arg-type]
    assert page.total == len(page.rows), kwargs
    return [r["uuid"] for r in page.rows]


def test_eval_sets_with_counts_newest_first_and_search(engine: Engine) -> None:
    page = list_eval_sets(engine)
    assert page.total == 2
    assert [(r["eval_set_id"], r["tasks"], r["models"], r["samples"]) for r in page.rows] == [
        ("es-b", 1, 1, 1),
        ("es-a", 1, 2, 4),
    ]
    assert [r["eval_set_id"] for r in list_eval_sets(engine, search="ALPHA").rows] == ["es-a"]
    assert [r["eval_set_id"] for r in list_eval_sets(engine, search="bob").rows] == ["es-b"]
    assert list_eval_sets(engine, search="%").total == 0  # wildcards are literal
    assert [r["eval_set_id"] for r in list_eval_sets(engine, search="NIGHT").rows] == ["es-a"]  # a tag
    assert list_eval_sets(engine, search="nightly\nmath").total == 0  # never across two tags
    assert [r["tags"] for r in page.rows] == [[], ["nightly", "math"]]


def test_evals_of_an_eval_set(engine: Engine) -> None:
    rows = list_evals(engine, "es-a")
    assert [(r["task"], r["model"], r["samples"], r["errors"]) for r in rows] == [
        ("add", "m1", 2, 1),
        ("add", "m2", 2, 0),
    ]
    with pytest.raises(UnknownIdError, match="no eval set 'nope'"):
        list_evals(engine, "nope")


def test_filters(engine: Engine) -> None:
    assert uuids(engine, eval_set_ids=["es-b"]) == ["u5"]
    assert uuids(engine, eval_set_ids=["es-a", "es-b"]) == ["u1", "u2", "u3", "u4", "u5"]
    assert uuids(engine, task="mul") == ["u5"]
    assert uuids(engine, model="m2") == ["u3", "u4"]
    assert uuids(engine, statuses=["error"]) == ["u2"]
    assert uuids(engine, statuses=["message_limit"]) == ["u3"]
    assert uuids(engine, statuses=["success"]) == ["u1", "u4", "u5"]
    assert uuids(engine, invalid=True) == ["u3"]
    assert uuids(engine, invalid=False) == ["u1", "u2", "u4", "u5"]


def test_score_ranges_on_headline_and_chosen_scorer(engine: Engine) -> None:
    assert uuids(engine, score_min=0.2, score_max=0.6) == ["u5"]
    assert uuids(engine, score_min=1.0) == ["u1", "u4"]
    assert uuids(engine, scorer="judge:quality", score_min=0.2, score_max=0.5) == ["u3", "u5"]
    rows = list_samples(engine, SampleFilter(scorer="judge:quality", limit=10)).rows
    assert {r["uuid"]: r["score"] for r in rows}["u4"] is None  # no such score: NULL, never 0.0


def test_text_search_over_sample_text_and_transcripts(engine: Engine) -> None:
    assert uuids(engine, text="sudo") == ["u1", "u3"]  # transcript, case-insensitive
    assert uuids(engine, text="answer u4") == ["u4"]  # sample text
    assert uuids(engine, text="50%_") == ["u5"]  # % and _ are literal
    assert uuids(
        engine, text="sudo", scorer="judge:quality", score_min=0.2, score_max=0.5, statuses=["message_limit"]
    ) == ["u3"]


@pytest.mark.parametrize("column", SAMPLE_SORTS)
def test_every_sort_column_both_ways(engine: Engine, column: str) -> None:
    rows = list_samples(engine, SampleFilter(sort=column, limit=10)).rows
    values = [r[column] for r in rows]
    present = [v for v in values if v is not None]
    assert present == sorted(present) and values[: len(present)] == present  # NULLs last
    rows_desc = list_samples(engine, SampleFilter(sort=column, descending=True, limit=10)).rows
    present_desc = [r[column] for r in rows_desc if r[column] is not None]
    assert present_desc == sorted(present_desc, reverse=True)


def test_paging_with_total(engine: Engine) -> None:
    first = list_samples(engine, SampleFilter(sort="total_tokens", limit=2))
    second = list_samples(engine, SampleFilter(sort="total_tokens", limit=2, offset=2))
    beyond = list_samples(engine, SampleFilter(sort="total_tokens", limit=2, offset=10))
    assert first.total == second.total == beyond.total == 5
    assert [r["uuid"] for r in first.rows + second.rows] == ["u1", "u2", "u3", "u4"]
    assert beyond.rows == []


def test_bad_filters_are_refused() -> None:
    with pytest.raises(ValueError, match="sortable columns"):
        SampleFilter(sort="pk; drop table sample")
    with pytest.raises(ValueError, match="unknown status"):
        SampleFilter(statuses=["errored"])


def test_csv_export_is_the_same_query(engine: Engine) -> None:
    out = io.StringIO()
    f = SampleFilter(eval_set_ids=["es-a"], sort="uuid", limit=1)  # paging does not apply to exports
    assert export_samples_csv(engine, f, out) == 4
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["uuid"] for r in rows] == ["u1", "u2", "u3", "u4"]
    assert list(rows[0]) == [
        "uuid", "eval_set_id", "task", "model", "id", "epoch", "status", "score", "total_tokens", "total_time",
        "message_count", "completed_at", "error", "is_invalid",
    ]  # fmt: skip
    assert rows[1]["status"] == "error" and rows[1]["error"] == "boom" and float(rows[3]["score"]) == 1.0
    # ISO 8601 in UTC (as to_json writes it), true/false, NULL as an empty field
    assert rows[0]["completed_at"] == "2026-11-01T00:00:00+00:00"
    assert [r["is_invalid"] for r in rows] == ["false", "false", "true", "false"]
    assert rows[0]["error"] == "" and rows[0]["total_tokens"] == "100"


def test_csv_export_binds_every_filter(engine: Engine) -> None:
    """The COPY statement gets the same bound values as the page query: several ids, a scorer, a text with LIKE
    wildcards in it (matched literally)."""

    def export(**kwargs: object) -> list[dict[str, str]]:
        out = io.StringIO()
        count = export_samples_csv(engine, SampleFilter(**kwargs), out)  # type: ignore[arg-type]
        rows = list(csv.DictReader(io.StringIO(out.getvalue())))
        assert count == len(rows)
        return rows

    both = export(eval_set_ids=["es-a", "es-b"], sort="uuid")
    assert [r["uuid"] for r in both] == ["u1", "u2", "u3", "u4", "u5"]
    judged = export(
        eval_set_ids=["es-a", "es-b"], scorer="judge:quality", score_min=0.2, score_max=0.5, sort="score"
    )
    assert [(r["uuid"], float(r["score"])) for r in judged] == [("u3", 0.3), ("u5", 0.45)]
    assert [r["uuid"] for r in export(eval_set_ids=["es-b"], text="50%_d")] == ["u5"]
    assert export(eval_set_ids=["es-a", "es-b"], text="5%_d") == []  # % and _ are literal characters
    assert [r["uuid"] for r in export(eval_set_ids=["es-a"], text="sudo", invalid=False)] == ["u1"]
    assert export(eval_set_ids=["es-a"], text='it\'s \\ "quoted"') == []  # quoting survives client binding


def test_csv_export_quotes_awkward_text(warehouse_engine: Engine, engine: Engine) -> None:
    with warehouse_engine.begin() as conn:
        conn.execute(
            Sample.__table__.update()  # type: ignore[attr-defined]
            .where(Sample.uuid == "u2")
            .values(error_message='line one, "two"\nline three \u00e9')
        )
    out = io.StringIO()
    export_samples_csv(engine, SampleFilter(eval_set_ids=["es-a"], statuses=["error"]), out)
    (row,) = csv.DictReader(io.StringIO(out.getvalue()))
    assert row["error"] == 'line one, "two"\nline three \u00e9'


def test_sample_location(engine: Engine) -> None:
    where = sample_location(engine, "u5")
    assert where["location"] == "/logs/es-b/mul-m1.eval" and where["eval_set_id"] == "es-b"
    with pytest.raises(UnknownIdError):
        sample_location(engine, "missing")


def test_csv_export_of_chosen_columns_and_one_page(engine: Engine) -> None:
    out = io.StringIO()
    f = SampleFilter(eval_set_ids=["es-a"], sort="uuid", descending=True, limit=2, offset=1)
    assert export_samples_csv(engine, f, out, columns=["id", "uuid"], paged=True) == 2
    assert out.getvalue().splitlines() == ["id,uuid", "1,u3", "2,u2"]
    with pytest.raises(ValueError, match="unknown sample column 'pk'"):
        export_samples_csv(engine, f, io.StringIO(), columns=["uuid", "pk"])


def _add_samples(engine: Engine, eval_set_id: str, samples: dict[str, str]) -> None:
    """Samples (uuid -> dataset id) of one more eval set, with nothing else to tell them apart."""
    with Session(engine) as session:
        session.add(EvalSet(eval_set_id=eval_set_id, created_at=T0))
        ev = Eval(eval_set_id=eval_set_id, task_id="t", eval_id=f"ev-{eval_set_id}", task_name="t", model="m",
                  status="success", location="/logs/t.eval", file_hash=f"h-{eval_set_id}")  # fmt: skip
        session.add(ev)
        session.flush()
        for uuid, sample_id in samples.items():
            session.add(Sample(eval_pk=ev.pk, uuid=uuid, id=sample_id, epoch=1, input="q", target="x",
                               search_text=search_document(sample_id, "", "x", ["q"], "a")))  # fmt: skip
        session.commit()


def test_sorting_by_id_puts_numbers_in_numeric_order(engine: Engine) -> None:
    """Ids are stored as text; numbers among them sort by value (1, 2, 10, not 1, 10, 2), then the rest as text."""
    ids = {"n10": "10", "n9": "9", "n1": "1", "p2": "+2", "big": "100000000000000000000", "half": "2.5",
           "x": "x-1", "a": "add-3"}  # fmt: skip
    _add_samples(engine, "es-ids", ids)
    listed = list_samples(engine, SampleFilter(eval_set_ids=["es-ids"], sort="id", limit=20)).rows
    assert [r["id"] for r in listed] == ["1", "+2", "2.5", "9", "10", "100000000000000000000", "add-3", "x-1"]
    backwards = list_samples(engine, SampleFilter(eval_set_ids=["es-ids"], sort="id", descending=True)).rows
    assert [r["id"] for r in backwards] == [
        "100000000000000000000",
        "10",
        "9",
        "2.5",
        "+2",
        "1",
        "x-1",
        "add-3",
    ]
    out = io.StringIO()  # the export orders the same way
    export_samples_csv(engine, SampleFilter(eval_set_ids=["es-ids"], sort="id"), out, columns=["id"])
    assert out.getvalue().split()[1:] == [r["id"] for r in listed]


UUID = "Fk3mQ9xZ2pLb7RtY8wNc4e"


def test_search_matches_a_sample_uuid_whole_or_by_its_start(engine: Engine) -> None:
    _add_samples(engine, "es-uuid", {UUID: "1", "Fk3mQ9zzzzzzzzzzzzzzzz": "2", "other-uuid-0000000000": "3"})
    assert uuids(engine, text=UUID) == [UUID]
    assert uuids(engine, text=f" {UUID[:8]} ") == [UUID]
    assert sorted(uuids(engine, text=UUID[:6])) == [UUID, "Fk3mQ9zzzzzzzzzzzzzzzz"]
    assert uuids(engine, text=UUID[:8].lower()) == []  # uuids are case-sensitive (and not in the documents)
    assert uuids(engine, text="Fk3m") == []  # too short to be taken for a uuid
    assert uuids(engine, text="Fk3mQ9%") == []  # wildcards are literal here too
    assert uuids(engine, text="sudo") == ["u1", "u3"]  # text search unchanged
    out = io.StringIO()
    assert export_samples_csv(engine, SampleFilter(text=UUID[:10]), out) == 1


def test_a_uuid_search_reads_indexes_not_every_sample(engine: Engine) -> None:
    """The uuid prefix is ORed with the trigram search; both arms must be index scans (ix_sample_uuid_prefix)."""
    _, count = sample_statements(SampleFilter(text=UUID[:8]))
    with engine.connect() as conn:
        conn.execute(text("SET enable_seqscan = off"))  # a tiny table: make the planner show what it can use
        compiled = count.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        plan = "\n".join(conn.execute(text(f"EXPLAIN {compiled}")).scalars())
    assert "ix_sample_uuid_prefix" in plan and "ix_sample_search_text_trgm" in plan, plan
    assert "Seq Scan on sample" not in plan, plan


def test_scorers_of_a_selection_and_an_unknown_scorer(engine: Engine) -> None:
    assert scorer_labels(engine, SampleFilter(eval_set_ids=["es-a"])) == ["judge:quality", "match"]
    assert scorer_labels(engine, SampleFilter(eval_set_ids=["es-a"], model="m2", task="add")) == [
        "judge:quality",
        "match",
    ]
    require_scorer(engine, SampleFilter(eval_set_ids=["es-a"], scorer="judge:quality"))
    require_scorer(engine, SampleFilter(eval_set_ids=["es-a"], scorer="match"))
    with pytest.raises(UnknownIdError) as raised:
        require_scorer(engine, SampleFilter(eval_set_ids=["es-a", "es-b"], scorer="judge"))
    assert str(raised.value) == "no scorer 'judge' in es-a, es-b; scorers there: judge:quality, match"
    with pytest.raises(UnknownIdError, match=r"no scorer 'match:x' in es-b --task mul; scorers there: "):
        require_scorer(engine, SampleFilter(eval_set_ids=["es-b"], task="mul", scorer="match:x"))


# a scanner's value -> positive by Scout's rule (inspect_scout's is_positive_value)
SCANNER_VALUES: list[object] = [
    True,
    False,
    0,
    0.0,
    1,
    2.5,
    -1,
    "",
    "none",
    "NONE",
    "yes",
    [],
    {},
    [0],
    {"a": 1},
    None,
]


def test_scan_figures_are_one_definition_in_both_listings(engine: Engine) -> None:
    """``hawk list scans`` and ``hawk local scan`` count with the same expressions: transcripts scanned, results with
    a positive value (as Scout judges one), errors."""
    from inspect_scout._validation.validate import is_positive_value

    with Session(engine) as session:
        scan = Scan(scan_id="sc-1", name="figures", created_at=T0)
        session.add(scan)
        session.flush()
        source = ScanSource(
            scan_pk=scan.pk, eval_set_id="es-a", model="", location="/scans/sc-1", complete=True
        )
        session.add(source)
        session.flush()
        for n, value in enumerate(SCANNER_VALUES):  # one transcript per value, scanner "kw"
            session.add(ScannerResult(scan_pk=scan.pk, scan_source_pk=source.pk, transcript_id=f"t{n}",
                                      scanner_key="kw", value=value))  # fmt: skip
        for label in ("a", "b"):  # a labelled result set: one transcript, two results
            session.add(ScannerResult(scan_pk=scan.pk, scan_source_pk=source.pk, transcript_id="t0",
                                      scanner_key="labels", label=label, value=label == "a"))  # fmt: skip
        session.add(ScannerResult(scan_pk=scan.pk, scan_source_pk=source.pk, transcript_id="t1",
                                  scanner_key="labels", error="boom"))  # fmt: skip
        session.commit()

    positive = sum(is_positive_value(v) for v in SCANNER_VALUES)  # type: ignore[arg-type]
    assert positive == 7
    (listed,) = list_scans(engine).rows
    assert (listed["scanners"], listed["scanned"], listed["positive"], listed["errors"]) == (
        2,
        len(SCANNER_VALUES) + 2,
        positive + 1,
        1,
    )
    per_scanner = {row["scanner"]: row for row in scanner_counts(engine, "sc-1", ["es-a"])}
    assert {k: (r["scanned"], r["positive"], r["errors"]) for k, r in per_scanner.items()} == {
        "kw": (len(SCANNER_VALUES), positive, 0),
        "labels": (2, 1, 1),
    }
    assert sum(r["scanned"] for r in per_scanner.values()) == listed["scanned"]
    assert scanner_counts(engine, "sc-1", ["es-b"]) == []
