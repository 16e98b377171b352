"""How fast are the eval-set and compare pages on a big warehouse (issue 14: the eval-set page with its heatmap for an
eval set of 20 tasks x 5 models x 500 samples, server time p95 <= 150 ms, page weight <= 300 KB)?

The warehouse is ``benchmarks/query_speed.py``'s synthetic one, built by its own loader with each eval set a
task x model grid (``models_per_set``): by default 20 eval sets x (20 tasks x 5 models) x 500 samples = 1,000,000
samples, 3 scores each, 4 messages each (the pages read no messages; ``--messages`` raises it). Each eval gets the
headline metric and its stderr the importer would store (``eval.metrics``), computed here from its samples' headline
scores (mean and standard error of the mean), and its token usage (``eval.model_usage``), so the heatmap, the compare
page's intervals and the token chart have numbers.

Timed: ``GET /eval-sets/bench-set-000`` and ``GET /compare?eval_set=bench-set-000&eval_set=bench-set-001`` (100
common cells, 50,000 sample pairs for the differing counts) and the compare page with one cell's differing samples
listed, through the real app (``create_app``, local mode: no token check) in process, each 3 warm-ups then ``--runs``
runs (p50/p95 of the whole request: queries, template, charts); page weight is the HTML's size (the page loads one
stylesheet, and the eval-set page no script). Also the read functions alone with a signed-in user's model-group
filter (``viewer``), which local mode skips.

Usage::

    uv run python benchmarks/web_eval_set_speed.py                     # fresh temporary warehouse, 1M samples
    uv run python benchmarks/web_eval_set_speed.py --root /tmp/webbench  # keep it; later runs skip the load
    uv run python benchmarks/web_eval_set_speed.py --small             # smoke run: 2 sets of 4 x 5 x 50

Exit status 0 whether or not the targets are met; 1 when the warehouse does not hold the expected row counts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

PAGE_TARGET_S = 0.150
WEIGHT_TARGET_BYTES = 300 * 1024

EVAL_METRICS_SQL = """
UPDATE eval SET
    headline_scorer = 'accuracy', headline_score = 'accuracy', headline_metric = 'mean', headline_value = m.mean,
    model_usage = jsonb_build_object(eval.model, jsonb_build_object('total_tokens', m.tokens)),
    metrics = jsonb_build_array(jsonb_build_object(
        'scorer', 'accuracy', 'score', 'accuracy', 'reducer', 'mean', 'scored_samples', m.n,
        'metrics', jsonb_build_object('mean', m.mean, 'stderr', m.stderr)))
FROM (
    SELECT eval_pk, count(headline_value) AS n, avg(headline_value) AS mean,
           stddev_samp(headline_value) / sqrt(greatest(count(headline_value), 1)) AS stderr,
           sum(total_tokens) AS tokens
    FROM sample GROUP BY eval_pk
) AS m
WHERE m.eval_pk = eval.pk
"""
"""The metrics and model usage an import stores for a log with a ``mean()`` and ``stderr()`` metric (the loader
writes no logs)."""


def _time(fn: Callable[[], Any], runs: int) -> tuple[float, float, Any]:
    """(p50, p95, last result): ``query_speed``'s timer (3 warm-ups, fewer runs for a query over a second)."""
    from query_speed import _time as timed

    p50, p95, result, _ = timed(fn, runs)
    return p50, p95, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root", type=Path, help="keep the embedded server here and reuse its data between runs"
    )
    parser.add_argument(
        "--small", action="store_true", help="smoke run: 2 eval sets of 4 tasks x 5 models x 50"
    )
    parser.add_argument("--messages", type=int, default=4, help="messages per sample (default 4)")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--stop", action="store_true", help="stop the server at the end even with --root")
    args = parser.parse_args()

    import psycopg
    import query_speed
    from fastapi.testclient import TestClient

    from hawk_dagster.access.principal import principal_from_permissions
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.api.app import create_app
    from hawk_dagster.api.settings import ServerSettings
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.embedded import stop_embedded_server
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.read.comparison import compare_eval_sets
    from hawk_dagster.warehouse.read.eval_set_results import eval_set_results

    shape = (
        {"eval_sets": 2, "evals_per_set": 20, "samples_per_eval": 50, "messages": 2}
        if args.small
        else {"eval_sets": 20, "evals_per_set": 100, "samples_per_eval": 500, "messages": args.messages}
    )
    models = 5
    expected = shape["eval_sets"] * shape["evals_per_set"] * shape["samples_per_eval"]
    keep = args.root is not None
    root = args.root.resolve() if keep else Path(tempfile.mkdtemp(prefix="hawk-web-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    print(f"warehouse root: {root}; load average {os.getloadavg()[0]:.2f}")
    try:
        url, libpq, have = query_speed.open_or_load(root, seed=args.seed, models_per_set=models, **shape)
        if have not in (0, expected):
            print(f"the warehouse under {root} holds {have:,} samples, not {expected:,}: use another --root")
            return 1
        with psycopg.connect(libpq, autocommit=True) as conn:
            conn.execute(EVAL_METRICS_SQL)
            conn.execute("ANALYZE eval")

        settings = ServerSettings(
            storage=StorageRoot(str(root / "storage")), warehouse_url=url, oidc=None, access=AccessSettings()
        )
        first, second = "bench-set-000", "bench-set-001"
        pages = {
            "eval-set page (heatmap)": (f"/eval-sets/{first}", {}),
            "eval-set page, chosen metric": (f"/eval-sets/{first}", {"metric": "accuracy/mean"}),
            "compare page (2 sets)": ("/compare", {"eval_set": [first, second]}),
            "compare page + differing samples": (
                "/compare",
                {"eval_set": [first, second], "task": "task_0", "model": "provider/model-0"},
            ),
        }
        rows: list[tuple[str, float, float, int | None]] = []
        with TestClient(create_app(settings)) as client:
            for title, (path, params) in pages.items():

                def get(path: str = path, params: dict[str, Any] = params) -> Any:
                    response = client.get(path, params=params)
                    assert response.status_code == 200, response.text[:300]
                    return response

                p50, p95, response = _time(get, args.runs)
                rows.append((title, p50, p95, len(response.content)))
        engine = create_warehouse_engine(url)
        viewer = principal_from_permissions(
            "bench", ["model-access-group-0", "model-access-group-1"], AccessSettings()
        )
        p50, p95, _ = _time(lambda: eval_set_results(engine, first, viewer=viewer), args.runs)
        rows.append(("eval_set_results, group viewer (query only)", p50, p95, None))
        p50, p95, _ = _time(lambda: compare_eval_sets(engine, [first, second], viewer=viewer), args.runs)
        rows.append(("compare_eval_sets, group viewer (query only)", p50, p95, None))
        engine.dispose()

        print(f"\n{expected:,} samples; {args.runs} runs each; load average {os.getloadavg()[0]:.2f}")
        print(f"{'':46} {'p50 ms':>8} {'p95 ms':>8} {'weight KB':>10}")
        for title, p50, p95, weight in rows:
            kb = f"{weight / 1024:10.1f}" if weight is not None else " " * 10
            print(f"{title:46} {p50 * 1000:8.1f} {p95 * 1000:8.1f} {kb}")
        page_p95, page_weight = rows[0][2], rows[0][3] or 0
        print(
            f"\neval-set page: p95 {page_p95 * 1000:.1f} ms (target <= {PAGE_TARGET_S * 1000:.0f}: "
            f"{'met' if page_p95 <= PAGE_TARGET_S else 'MISSED'}), weight {page_weight / 1024:.1f} KB (target <= "
            f"{WEIGHT_TARGET_BYTES // 1024}: {'met' if page_weight <= WEIGHT_TARGET_BYTES else 'MISSED'})"
        )
    finally:
        if not keep or args.stop:
            stop_embedded_server(root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
