"""How fast are the warehouse's sample queries on a big warehouse (issue 3's query targets)?

A synthetic warehouse on the embedded PostgreSQL server, loaded with COPY (psycopg 3): by default 20 eval sets x
5 evals x 10,000 samples = 1,000,000 samples, 3 scorers per sample (one headline), ~10 messages per sample
(~10,000,000 message rows) with text from a small vocabulary. A rare term ("sudo") is planted in ~0.5 % of samples'
transcripts and ~0.1 % of their sample text; ~5 % of samples errored, ~3 % hit a limit, a few are invalidated.

The schema comes from the migrations. For load speed the secondary indexes (every ``Index`` in the models: trigram
GIN and b-tree) are dropped before COPY and recreated afterwards from the models' own definitions, foreign-key
triggers are skipped during COPY (``session_replication_role = replica``; the generated data is consistent), then
``VACUUM ANALYZE``. Primary keys and unique constraints stay in place throughout.

Timings use the real query code (``hawk_dagster.warehouse.read.queries``): the page query and the count query that
``list_samples`` runs are compiled from ``sample_select`` / ``sample_order`` exactly as ``_page`` does and timed
separately (3 warm-ups, then ``--runs`` runs, p50/p95), ``list_samples`` is timed whole, and ``export_samples_csv``
writes 100,000 rows to a null sink. Targets: page of the combined filter (text + score range + status + sort)
p95 <= 50 ms, its total count p95 <= 200 ms, CSV export of 100,000 rows <= 3 s. EXPLAIN (ANALYZE, BUFFERS) of the
page and count queries is printed.

Usage::

    uv run python benchmarks/query_speed.py                        # fresh temporary warehouse, ~1M samples
    uv run python benchmarks/query_speed.py --root /tmp/qbench     # keep it; later runs skip the load
    uv run python benchmarks/query_speed.py --samples-per-eval 1000 --messages 4   # quick small run

Exit status 0 whether or not the targets are met; 1 when the warehouse does not hold the expected row counts.
"""

from __future__ import annotations

import argparse
import io
import json
import random
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from array import array
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

RARE = "sudo"
SCORERS = ("accuracy", "rubric", "tool_use")  # the first is the headline
LIMITS = ("message", "token", "time", "working")

_WORDS = (
    "the a an of to in on for with and or but if then else when while file files directory path list read write "
    "open close run running command output input error warning result value values test tests check checks "
    "function class method module package import export return print string number integer float array table "
    "row rows column query select insert update delete index server client request response status code json "
    "yaml config setting option flag argument parameter variable model answer question solution step steps "
    "first second next final plan approach try again failed passed success working done look see find search "
    "grep cat ls cd mkdir echo python bash shell script build compile install version library dependency "
    "network port host socket memory disk process thread task agent tool call calls message user assistant "
    "system reasoning think because therefore however also now here there this that these those it its we you "
    "they will would should could can may must need want let make made get got set put take give show tell "
    "number count total sum average max min sort order filter group join key keys map reduce loop branch merge "
    "commit push pull diff patch log logs trace stack frame line lines word words token tokens limit time"
).split()
assert not any(RARE in w or w in RARE for w in _WORDS if len(w) >= 3)


# ---------------------------------------------------------------------------------------------------- data load


def _text(rng: random.Random, lo: int, hi: int) -> str:
    return " ".join(rng.choices(_WORDS, k=rng.randint(lo, hi)))


def _rare_message(text: str) -> str:
    return f"{text} then {RARE} apt-get install the package"


def _copy(conn: Any, table: str, columns: str, lines: Any, flush_every: int = 20000) -> None:
    """COPY rows given as already tab-separated text lines (no tabs, newlines or backslashes in the values)."""
    with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        buf: list[str] = []
        for line in lines:
            buf.append(line)
            if len(buf) >= flush_every:
                copy.write("\n".join(buf) + "\n")
                buf.clear()
        if buf:
            copy.write("\n".join(buf) + "\n")


def _secondary_indexes() -> list[tuple[str, str, str]]:
    """(table, index name, CREATE INDEX statement) for every ``Index`` of the tables we load, from the models."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateIndex

    from hawk_dagster.warehouse.schema.models import Message, Sample, Score

    out = []
    for model in (Sample, Score, Message):
        for index in sorted(model.__table__.indexes, key=lambda i: str(i.name)):
            ddl = str(CreateIndex(index).compile(dialect=postgresql.dialect()))
            out.append((model.__tablename__, str(index.name), ddl))
    return out


def _load(
    libpq: str,
    *,
    eval_sets: int,
    evals_per_set: int,
    samples_per_eval: int,
    messages: int,
    seed: int,
    models_per_set: int | None = None,
) -> None:
    """Load the synthetic warehouse. Each eval set's evals are tasks ``task_<e>`` of one model
    (``provider/model-<set % 4>``), or, with ``models_per_set``, a task x model grid: eval ``e`` is task
    ``task_<e // models_per_set>`` on ``provider/model-<e % models_per_set>`` (``benchmarks/web_eval_set_speed.py``)."""
    import psycopg

    rng = random.Random(seed)
    phrase_pool = [_text(rng, 8, 18) for _ in range(50_000)]
    input_pool = [_text(rng, 10, 30) for _ in range(20_000)]
    output_pool = [_text(rng, 3, 12) for _ in range(20_000)]
    start = datetime(2026, 1, 1, tzinfo=UTC)
    timings: dict[str, float] = {}
    with psycopg.connect(libpq, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '1GB'")
        conn.execute("SET synchronous_commit = off")
        conn.execute("SET session_replication_role = replica")  # no FK triggers during COPY
        indexes = _secondary_indexes()
        for _, name, _ in indexes:
            conn.execute(f"DROP INDEX IF EXISTS {name}")

        t = time.perf_counter()
        eval_pks: list[tuple[str, str]] = []  # (eval pk, eval_set_id)
        with conn.transaction():
            for s in range(eval_sets):
                set_id = f"bench-set-{s:03d}"
                conn.execute(
                    "INSERT INTO eval_set (eval_set_id, name, created_by, created_at, model_groups) "
                    "VALUES (%s, %s, %s, %s, %s)",
                    (set_id, f"benchmark set {s}", "bench", start + timedelta(days=s), [f"group-{s % 3}"]),
                )
                for e in range(evals_per_set):
                    pk = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    conn.execute(
                        "INSERT INTO eval (pk, eval_set_id, task_id, eval_id, task_name, model, status, location, "
                        "file_hash, headline_scorer) VALUES (%s, %s, %s, %s, %s, %s, 'success', %s, %s, %s)",
                        (pk, set_id, f"task-{s}-{e}", f"eval-{s}-{e}", *_task_and_model(s, e, models_per_set),
                         f"/logs/{set_id}/{e}.eval", f"sha256:{s}-{e}", SCORERS[0]),
                    )  # fmt: skip
                    eval_pks.append((pk, set_id))

        sample_pks: list[str] = []
        # Per-sample choices kept compactly so the message and score COPYs repeat exactly what search_text and
        # headline_value were built from (10M message texts would not fit in memory as strings).
        message_choices = array("i")
        score_values = array("d")
        rare_transcript: dict[int, int] = {}  # sample number -> message holding the rare term

        def sample_lines() -> Any:
            n = 0
            for eval_pk, _ in eval_pks:
                for i in range(samples_per_eval):
                    pk = str(uuid.UUID(int=rng.getrandbits(128), version=4))
                    sample_pks.append(pk)
                    choices = [rng.randrange(len(phrase_pool)) for _ in range(messages)]
                    message_choices.extend(choices)
                    texts = [phrase_pool[c] for c in choices]
                    if messages and rng.random() < 0.005:
                        j = rng.randrange(2, messages) if messages > 2 else 0
                        rare_transcript[n] = j
                        texts[j] = _rare_message(texts[j])
                    values = [rng.random(), rng.random(), float(rng.random() < 0.7)]
                    score_values.extend(values)
                    inp = rng.choice(input_pool)
                    out = rng.choice(output_pool)
                    if rng.random() < 0.001:
                        inp = f"{inp} run it with {RARE} if needed"
                    target = f"answer {i % 97}"
                    r = rng.random()
                    error = f"RuntimeError: tool failed {i % 13}" if r < 0.05 else "\\N"
                    limit = rng.choice(LIMITS) if 0.05 <= r < 0.08 else "\\N"
                    completed = start + timedelta(seconds=rng.randrange(365 * 86400))
                    took = rng.uniform(5, 600)
                    started = completed - timedelta(seconds=took)
                    invalid = "operator invalidated" if rng.random() < 0.0005 else "\\N"
                    # as schema.search.search_document composes it: id, input, target, the transcript, output; lower case
                    search = " ".join((f"sample-{i}", inp, target, *texts, out)).lower()
                    yield "\t".join((
                        pk, eval_pk, f"u{n:09d}", f"sample-{i}", "1", json.dumps(inp), json.dumps(target), out,
                        str(rng.randrange(500, 50_000)), f"{took:.3f}", str(messages), error, limit,
                        started.isoformat(), completed.isoformat(), invalid, search, f"{values[0]:.4f}",
                    ))  # fmt: skip
                    n += 1

        _copy(
            conn,
            "sample",
            "pk, eval_pk, uuid, id, epoch, input, target, output, total_tokens, total_time_seconds, "
            'message_count, error_message, "limit", started_at, completed_at, invalidation_reason, search_text, '
            "headline_value",
            sample_lines(),
        )
        timings["eval_set + eval + sample COPY"] = time.perf_counter() - t

        t = time.perf_counter()

        def score_lines() -> Any:
            for n, pk in enumerate(sample_pks):
                for k, scorer in enumerate(SCORERS):
                    v = score_values[n * len(SCORERS) + k]
                    yield "\t".join((
                        str(uuid.UUID(int=rng.getrandbits(128), version=4)), pk, f"u{n:09d}", scorer, "",
                        f"{v:.4f}", f"{v:.4f}", "t" if k == 0 else "f",
                    ))  # fmt: skip

        _copy(
            conn,
            "score",
            "pk, sample_pk, sample_uuid, scorer, key, value, value_float, is_headline",
            score_lines(),
        )
        timings["score COPY"] = time.perf_counter() - t

        t = time.perf_counter()

        def message_lines() -> Any:
            roles = ["system", "user"] + ["assistant", "tool"] * messages
            for n, pk in enumerate(sample_pks):
                texts = [phrase_pool[c] for c in message_choices[n * messages : (n + 1) * messages]]
                if n in rare_transcript:
                    j = rare_transcript[n]
                    texts[j] = _rare_message(texts[j])
                for order in range(messages):
                    role = roles[order]
                    yield "\t".join((
                        pk, str(order), role, "generate" if role == "assistant" else "input", texts[order],
                        "provider/model" if role == "assistant" else "\\N",
                    ))  # fmt: skip

        if messages:
            _copy(
                conn,
                "message",
                "sample_pk, message_order, role, source, content_text, model",
                message_lines(),
            )
        timings["message COPY"] = time.perf_counter() - t

        conn.execute("SET session_replication_role = origin")
        for _table, name, ddl in indexes:
            t = time.perf_counter()
            conn.execute(ddl)
            timings[f"CREATE INDEX {name}"] = time.perf_counter() - t
        t = time.perf_counter()
        conn.execute("VACUUM ANALYZE")
        timings["VACUUM ANALYZE"] = time.perf_counter() - t

    total = sum(timings.values())
    print(f"\nload: {total:,.1f} s in all")
    for step, seconds in timings.items():
        print(f"  {seconds:8.1f} s  {step}")


def _task_and_model(eval_set: int, eval: int, models_per_set: int | None) -> tuple[str, str]:
    if models_per_set is None:
        return f"task_{eval}", f"provider/model-{eval_set % 4}"
    return f"task_{eval // models_per_set}", f"provider/model-{eval % models_per_set}"


# ---------------------------------------------------------------------------------------------------- measuring


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


SLOW = 1.0
"""A query whose first warm-up takes longer than this (seconds) gets 1 warm-up and at most 5 timed runs."""


def _time(fn: Callable[[], Any], runs: int, warmups: int = 3) -> tuple[float, float, Any, int]:
    """(p50, p95, last result, timed runs)."""
    t = time.perf_counter()
    result = fn()
    if time.perf_counter() - t > SLOW:
        runs, warmups = min(runs, 5), 1
    for _ in range(warmups - 1):
        result = fn()
    samples = []
    for _ in range(runs):
        t = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t)
    return statistics.median(samples), _percentile(samples, 0.95), result, runs


def _statements(f: Any) -> tuple[Any, Any]:
    """The page and count statements ``list_samples`` executes."""
    from hawk_dagster.warehouse.read.queries import sample_statements

    return sample_statements(f)


def _literal_sql(statement: Any) -> str:
    from sqlalchemy.dialects import postgresql

    sql = str(statement.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return sql.replace("%%", "%")  # the psycopg dialect escapes % for pyformat; we run it without parameters


def _explain(libpq: str, title: str, statement: Any) -> None:
    import psycopg

    sql = _literal_sql(statement)
    with psycopg.connect(libpq, autocommit=True) as conn:
        plan = [r[0] for r in conn.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}").fetchall()]  # type: ignore[arg-type]
    print(f"\n-- EXPLAIN (ANALYZE, BUFFERS): {title}")
    print("   " + sql.replace("\n", "\n   "))
    for line in plan:
        print(f"   {line}")


class _NullSink(io.TextIOBase):
    def __init__(self) -> None:
        self.chars = 0

    def write(self, s: str) -> int:
        self.chars += len(s)
        return len(s)


def _measure(url: str, libpq: str, runs: int, explain_all: bool) -> None:
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.read.queries import SampleFilter, export_samples_csv, list_samples

    engine = create_warehouse_engine(url)
    with engine.connect() as conn:
        sets = [r[0] for r in conn.exec_driver_sql("SELECT eval_set_id FROM eval_set ORDER BY 1")]
        per_set = dict(
            conn.exec_driver_sql(
                "SELECT e.eval_set_id, count(*) FROM sample s JOIN eval e ON e.pk = s.eval_pk GROUP BY 1"
            ).all()
        )
    combined = SampleFilter(
        text=RARE, score_min=0.2, score_max=0.8, statuses=("success",), sort="completed_at", descending=True
    )
    singles = {
        "status only (error)": SampleFilter(statuses=("error",), sort="completed_at", descending=True),
        "score only (0.2..0.8)": SampleFilter(
            score_min=0.2, score_max=0.8, sort="completed_at", descending=True
        ),
        f"text only ({RARE!r})": SampleFilter(text=RARE, sort="completed_at", descending=True),
        "eval set ids only (2 sets)": SampleFilter(
            eval_set_ids=sets[:2], sort="completed_at", descending=True
        ),
        "no filter": SampleFilter(sort="completed_at", descending=True),
    }
    print(
        f"\ntimings (p50 / p95 over the runs noted, after 3 warm-ups; 1 warm-up and <= 5 runs when > {SLOW:.0f} s)"
    )

    class _Results(list[tuple[str, float, float, float | None, str]]):
        def append(self, entry: tuple[str, float, float, float | None, str]) -> None:
            title, p50, p95, target, note = entry
            verdict = ""
            if target is not None:
                verdict = f"  target <= {target * 1000:,.0f} ms: " + ("MET" if p95 <= target else "MISSED")
            print(f"  {p50 * 1000:9.1f} / {p95 * 1000:9.1f} ms  {title}  [{note}]{verdict}", flush=True)
            super().append(entry)

    results = _Results()

    def run_filter(title: str, f: Any, page_target: float | None, count_target: float | None) -> None:
        page, count = _statements(f)
        with engine.connect() as conn:
            p50, p95, rows, n = _time(lambda: conn.execute(page).all(), runs)
            results.append(
                (f"{title}: page of {f.limit}", p50, p95, page_target, f"{len(rows)} rows, {n} runs")
            )
            p50, p95, total, n = _time(lambda: conn.execute(count).scalar_one(), runs)
            results.append((f"{title}: total count", p50, p95, count_target, f"total {total:,}, {n} runs"))
        p50, p95, result, n = _time(lambda: list_samples(engine, f), max(5, runs // 5))
        results.append(
            (f"{title}: list_samples() whole", p50, p95, None, f"total {result.total:,}, {n} runs")
        )

    run_filter(f"combined ({RARE!r} + score 0.2..0.8 + success + completed_at desc)", combined, 0.050, 0.200)
    for title, f in singles.items():
        run_filter(title, f, None, None)

    need, chosen = 100_000, []
    for s in sets:
        chosen.append(s)
        if sum(per_set.get(c, 0) for c in chosen) >= need:
            break
    export_filter = SampleFilter(eval_set_ids=chosen, sort="completed_at", descending=True)
    sink = _NullSink()
    export_runs: list[float] = []
    rows = 0
    for _ in range(3):
        sink = _NullSink()
        t = time.perf_counter()
        rows = export_samples_csv(engine, export_filter, sink)  # type: ignore[arg-type]
        export_runs.append(time.perf_counter() - t)
    results.append(
        (
            f"CSV export ({len(chosen)} eval sets), median and max of 3",
            statistics.median(export_runs),
            max(export_runs),
            3.0,
            f"{rows:,} rows, {sink.chars / 1e6:.1f} MB",
        )
    )
    engine.dispose()

    page, count = _statements(combined)
    _explain(libpq, "combined filter, page query", page)
    _explain(libpq, "combined filter, count query", count)
    if explain_all:
        for title, f in singles.items():
            page, count = _statements(f)
            _explain(libpq, f"{title}, page query", page)
            _explain(libpq, f"{title}, count query", count)


def _sizes(libpq: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(libpq, autocommit=True) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in ("eval_set", "eval", "sample", "score", "message")}  # type: ignore[index]  # fmt: skip
        print("\nrows and sizes (table / indexes)")
        for table, n in counts.items():
            table_size, index_size = conn.execute(
                "SELECT pg_size_pretty(pg_table_size(%s::regclass)), pg_size_pretty(pg_indexes_size(%s::regclass))",
                (table, table),
            ).fetchone()  # type: ignore[misc]
            print(f"  {table:9s} {n:>12,} rows  {table_size:>9s} / {index_size:>9s}")
        for name, size in conn.execute(
            "SELECT indexrelname, pg_size_pretty(pg_relation_size(indexrelid)) FROM pg_stat_user_indexes "
            "WHERE relname IN ('sample', 'score', 'message') ORDER BY pg_relation_size(indexrelid) DESC"
        ):
            print(f"            {name:40s} {size:>9s}")
        version = conn.execute("SHOW server_version").fetchone()[0]  # type: ignore[index]
        shared = conn.execute("SHOW shared_buffers").fetchone()[0]  # type: ignore[index]
        print(f"  PostgreSQL {version}, shared_buffers {shared}")
    return counts


def open_or_load(
    root: Path,
    *,
    eval_sets: int,
    evals_per_set: int,
    samples_per_eval: int,
    messages: int,
    seed: int,
    models_per_set: int | None = None,
) -> tuple[str, str, int]:
    """Start (or join) the embedded server under ``root``, migrate it, and load the synthetic warehouse when it holds
    no sample yet; (SQLAlchemy URL, libpq conninfo, samples found before loading). Also used by
    ``web_samples_speed.py`` and ``web_eval_set_speed.py`` (``models_per_set``: see :func:`_load`)."""
    import psycopg

    from hawk_dagster.warehouse.embedded import ensure_embedded_server
    from hawk_dagster.warehouse.schema import migrate

    server = ensure_embedded_server(root)
    url, libpq = server.url(), server.conninfo()
    migrate.upgrade(url)
    with psycopg.connect(libpq) as conn:
        have: int = conn.execute("SELECT count(*) FROM sample").fetchone()[0]  # type: ignore[index]
    if have == 0:
        expected = eval_sets * evals_per_set * samples_per_eval
        print(
            f"loading {expected:,} samples, {len(SCORERS)} scores and {messages} messages each "
            f"({expected * messages:,} message rows)"
        )
        _load(libpq, eval_sets=eval_sets, evals_per_set=evals_per_set, samples_per_eval=samples_per_eval,
              messages=messages, seed=seed, models_per_set=models_per_set)  # fmt: skip
    else:
        print(f"reusing the warehouse under {root} ({have:,} samples already loaded)")
    return url, libpq, have


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root", type=Path, help="keep the embedded server here and reuse its data between runs"
    )
    parser.add_argument("--eval-sets", type=int, default=20)
    parser.add_argument("--evals-per-set", type=int, default=5)
    parser.add_argument("--samples-per-eval", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10, help="messages per sample (default 10)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--explain-all", action="store_true", help="also EXPLAIN the single-filter queries")
    parser.add_argument("--stop", action="store_true", help="stop the server at the end even with --root")
    args = parser.parse_args()

    import os

    from hawk_dagster.warehouse.embedded import stop_embedded_server

    keep = args.root is not None
    root = args.root.resolve() if keep else Path(tempfile.mkdtemp(prefix="hawk-query-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    expected = args.eval_sets * args.evals_per_set * args.samples_per_eval
    print(f"warehouse root: {root}; load average {os.getloadavg()[0]:.2f}")
    try:
        url, libpq, have = open_or_load(
            root,
            eval_sets=args.eval_sets,
            evals_per_set=args.evals_per_set,
            samples_per_eval=args.samples_per_eval,
            messages=args.messages,
            seed=args.seed,
        )
        counts = _sizes(libpq)
        if counts["sample"] != expected and have == 0:
            print(f"expected {expected:,} samples, found {counts['sample']:,}")
            return 1
        if counts["message"] < 10 * counts["sample"]:
            print(
                f"NOTE: scaled down: {counts['message']:,} message rows "
                f"({counts['message'] / max(1, counts['sample']):.1f} per sample, target ~10)"
            )
        _measure(url, libpq, args.runs, args.explain_all)
        print(f"\nload average {os.getloadavg()[0]:.2f}")
    finally:
        if not keep or args.stop:
            stop_embedded_server(root)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
