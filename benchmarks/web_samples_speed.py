"""How fast is the samples page on a big warehouse, and how heavy are the results pages (issue 14's targets)?

The warehouse is ``benchmarks/query_speed.py``'s (its builder, unchanged): by default 20 eval sets x 5 evals x
10,000 samples = 1,000,000 samples with scores, transcripts and a rare term (``sudo``) planted in ~0.5 % of them.
``--samples`` scales it down for a smoke run.

The app is ``hawk serve``'s (``create_app``, local mode, without Inspect's viewer mount), driven in process through
Starlette's TestClient, so the time is the server's: routing, authentication, the warehouse queries (page, total,
histogram, filter choices), rendering. Each page gets 3 warm-ups, then ``--runs`` timed requests (p50/p95).
Target: the samples page with text search + score range (first page, total count) p95 <= 100 ms. Page weight: the
HTML plus every stylesheet and script it references (all served by us; nothing else loads), target <= 300 KB.

Usage::

    uv run python benchmarks/web_samples_speed.py --root /tmp/webpages-bench     # 1M samples, kept for later runs
    uv run python benchmarks/web_samples_speed.py --samples 20000 --runs 10       # smoke run, temporary warehouse

Exit status 0 whether or not the targets are met; 1 when a page does not answer 200.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

TARGET_SECONDS = 0.100
TARGET_BYTES = 300 * 1024
EVAL_SETS, EVALS_PER_SET = 20, 5


def _query_speed() -> Any:
    """``benchmarks/query_speed.py`` as a module (its warehouse builder and helpers)."""
    spec = importlib.util.spec_from_file_location("query_speed", Path(__file__).with_name("query_speed.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _weight(client: Any, html: str) -> int:
    """The HTML plus every /static file it references."""
    total = len(html.encode())
    for path in sorted(set(re.findall(r'(?:href|src)="(/static/[^"]+)"', html))):
        total += len(client.get(path).content)
    return total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root", type=Path, help="keep the embedded server here and reuse its data between runs"
    )
    parser.add_argument(
        "--samples", type=int, default=1_000_000, help="samples in the warehouse (default 1M)"
    )
    parser.add_argument("--messages", type=int, default=10, help="messages per sample (default 10)")
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--stop", action="store_true", help="stop the server at the end even with --root")
    args = parser.parse_args()

    from fastapi.testclient import TestClient

    from hawk_dagster.api.app import create_app
    from hawk_dagster.api.settings import ServerSettings
    from hawk_dagster.storage.root import StorageRoot
    from hawk_dagster.warehouse.embedded import stop_embedded_server

    qs = _query_speed()
    keep = args.root is not None
    root = args.root.resolve() if keep else Path(tempfile.mkdtemp(prefix="hawk-web-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    per_eval = max(1, args.samples // (EVAL_SETS * EVALS_PER_SET))
    print(f"warehouse root: {root}; load average {os.getloadavg()[0]:.2f}")
    try:
        url, libpq, _ = qs.open_or_load(root, eval_sets=EVAL_SETS, evals_per_set=EVALS_PER_SET,
                                        samples_per_eval=per_eval, messages=args.messages, seed=args.seed)  # fmt: skip
        import psycopg

        with psycopg.connect(libpq) as conn:
            samples = conn.execute("SELECT count(*) FROM sample").fetchone()[0]  # type: ignore[index]
            one_set = conn.execute("SELECT min(eval_set_id) FROM eval_set").fetchone()[0]  # type: ignore[index]
            a_uuid = conn.execute("SELECT uuid FROM sample ORDER BY pk LIMIT 1").fetchone()[0]  # type: ignore[index]
        storage = StorageRoot(str(root / "storage"))
        app = create_app(ServerSettings(storage=storage, warehouse_url=url, oidc=None, log_viewer=False))
        pages = {
            f"samples: text {qs.RARE!r} + score 0.2..0.8 (target)": f"/samples?search={qs.RARE}&score_min=0.2&score_max=0.8",
            f"samples: text {qs.RARE!r} + score 0.2..0.8 + success": f"/samples?search={qs.RARE}&score_min=0.2&score_max=0.8&status=success",
            "samples: one eval set": f"/samples?eval_set_id={one_set}",
            "samples: no filter": "/samples",
            "eval sets": "/",
            "one sample": f"/samples/{a_uuid}",
        }  # fmt: skip
        print(
            f"\n{samples:,} samples; in-process request times, p50 / p95 over {args.runs} runs after 3 warm-ups"
        )
        failed = False
        with TestClient(app) as client:
            for title, path in pages.items():
                for _ in range(3):
                    response = client.get(path)
                if response.status_code != 200:
                    print(f"  {title}: HTTP {response.status_code}: {response.text[:300]}")
                    failed = True
                    continue
                times = []
                for _ in range(args.runs):
                    started = time.perf_counter()
                    response = client.get(path)
                    times.append(time.perf_counter() - started)
                p50, p95 = statistics.median(times), _percentile(times, 0.95)
                weight = _weight(client, response.text)
                verdict = ""
                if "(target)" in title:
                    verdict = f"  time target <= {TARGET_SECONDS * 1000:.0f} ms: " + (
                        "MET" if p95 <= TARGET_SECONDS else "MISSED"
                    )
                print(
                    f"  {p50 * 1000:7.1f} / {p95 * 1000:7.1f} ms  {weight / 1024:6.1f} KB "
                    f"({'MET' if weight <= TARGET_BYTES else 'MISSED'} <= 300 KB)  {title}{verdict}",
                    flush=True,
                )
        print(f"\nload average {os.getloadavg()[0]:.2f}")
    finally:
        if not keep or args.stop:
            stop_embedded_server(root)
        if not keep:
            shutil.rmtree(root, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
