"""How much does the API add to a samples page, and does it hold up under load (issue 12's targets)?

The warehouse is ``query_speed.py``'s (by default 1,000,000 samples in 20 eval sets of three access groups; loaded
once, kept with ``--root``). A real ``hawk serve`` runs in its own process with sign-in on: tokens come from the
test suite's OpenID provider (node ``oidc-provider`` on loopback), so every request's token is verified against the
provider's keys, and the user holds two of the three groups, so the access filter applies.

1. The samples page of query_speed's combined filter (text + score range + status + sort, 50 rows), through HTTP
   (``GET /api/v1/samples`` with the bearer token) against the same query called directly
   (``queries.list_samples(engine, filter, viewer=<the same principal>)``), both warm, p50/p95 over ``--runs``.
   Target: API p95 <= 1.5 x direct p95.
2. Load: ``--clients`` concurrent clients (default 50), each with its own connection, ask for that page (with
   offsets spread over the first pages) for ``--seconds`` (default 60). Targets: no errors; p95 within 3 x the
   single-client p95 of step 1; the server's memory flat (its resident size at the end against the start of the
   load, after a warm-up).

Usage::

    uv run python benchmarks/api_speed.py --root /tmp/qbench          # reuses query_speed.py's warehouse there
    uv run python benchmarks/api_speed.py --samples-per-eval 1000 --messages 4 --seconds 20   # quick small run
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

GROUPS_HELD = ("group-0", "group-1")  # query_speed.py puts eval set s in group-(s % 3)
PARAMS: dict[str, Any] = {
    "search": "sudo",
    "score_min": 0.2,
    "score_max": 0.8,
    "status": "success",
    "sort": "completed_at",
    "desc": "true",
    "limit": 50,
}


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 180) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"hawk serve exited with status {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"hawk serve did not become ready:\n{log.read_text()[-3000:]}")


def _time_direct(url: str, principal: Any, runs: int) -> list[float]:
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.read.queries import SampleFilter, list_samples

    engine = create_warehouse_engine(url)
    f = SampleFilter(
        text="sudo", score_min=0.2, score_max=0.8, statuses=("success",), sort="completed_at", descending=True
    )
    times: list[float] = []
    try:
        for i in range(runs + 3):
            t = time.perf_counter()
            list_samples(engine, f, viewer=principal)
            if i >= 3:
                times.append(time.perf_counter() - t)
    finally:
        engine.dispose()
    return times


def _time_api(base: str, token: str, runs: int) -> tuple[list[float], int]:
    import httpx

    times: list[float] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60) as client:
        total = 0
        for i in range(runs + 3):
            t = time.perf_counter()
            response = client.get("/api/v1/samples", params=PARAMS)
            elapsed = time.perf_counter() - t
            response.raise_for_status()
            total = response.json()["total"]
            if i >= 3:
                times.append(elapsed)
    return times, total


def _load(base: str, token: str, clients: int, seconds: float) -> tuple[list[float], list[str]]:
    import httpx

    latencies: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client_loop(index: int) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            page = index % 5
            while time.monotonic() < stop:
                t = time.perf_counter()
                try:
                    response = client.get("/api/v1/samples", params={**PARAMS, "offset": 50 * page})
                    ok = response.status_code == 200
                    detail = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as ex:
                    ok, detail = False, f"{type(ex).__name__}: {ex}"
                elapsed = time.perf_counter() - t
                with lock:
                    (latencies.append(elapsed) if ok else errors.append(detail))
                page = (page + 1) % 5

    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, errors


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root", type=Path, help="query_speed.py's kept warehouse root (loaded here if empty)"
    )
    parser.add_argument("--eval-sets", type=int, default=20)
    parser.add_argument("--evals-per-set", type=int, default=5)
    parser.add_argument("--samples-per-eval", type=int, default=10_000)
    parser.add_argument("--messages", type=int, default=10)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    import psutil
    import query_speed

    from hawk_dagster.access.principal import principal_from_permissions
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.warehouse.embedded import ensure_embedded_server, stop_embedded_server
    from hawk_dagster.warehouse.schema import migrate
    from tests.auth.oidc_provider import start_oidc_provider, stop_oidc_provider

    keep = args.root is not None
    root = args.root.resolve() if keep else Path(tempfile.mkdtemp(prefix="hawk-api-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hawk-api-bench-work-"))
    print(f"warehouse root: {root}; load average {os.getloadavg()[0]:.2f}")
    server: subprocess.Popen[bytes] | None = None
    provider = None
    try:
        embedded = ensure_embedded_server(root)
        url, libpq = embedded.url(), embedded.conninfo()
        migrate.upgrade(url)
        import psycopg

        with psycopg.connect(libpq) as conn:
            have = conn.execute("SELECT count(*) FROM sample").fetchone()[0]  # type: ignore[index]
        if have == 0:
            expected = args.eval_sets * args.evals_per_set * args.samples_per_eval
            print(f"loading {expected:,} samples (query_speed.py's warehouse)")
            query_speed._load(
                libpq,
                eval_sets=args.eval_sets,
                evals_per_set=args.evals_per_set,
                samples_per_eval=args.samples_per_eval,
                messages=args.messages,
                seed=3,
            )
        sizes = query_speed._sizes(libpq)
        print(f"warehouse: {sizes['sample']:,} samples, {sizes['message']:,} messages")

        (work / "oidc").mkdir()
        provider = start_oidc_provider(work / "oidc")
        permissions = [f"model-access-{group}" for group in GROUPS_HELD]
        token = provider.token_for("bench-user", permissions)
        principal = principal_from_permissions("bench-user", permissions, AccessSettings())

        (work / "storage").mkdir()
        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            **os.environ,
            **provider.environ(),
            "HAWK_WAREHOUSE_URL": url,
            "HAWK_STORAGE_ROOT": str(work / "storage"),
        }
        log = (work / "serve.log").open("wb")
        server = subprocess.Popen(
            [sys.executable, "-m", "hawk_dagster.cli", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        _wait_ready(base, server, work / "serve.log")

        direct = _time_direct(url, principal, args.runs)
        api, total = _time_api(base, token, args.runs)
        d50, d95 = statistics.median(direct), _percentile(direct, 0.95)
        a50, a95 = statistics.median(api), _percentile(api, 0.95)
        print(
            f"\nsamples page, combined filter, user holding {len(GROUPS_HELD)} of 3 groups ({total:,} matches)"
        )
        print(f"  direct list_samples(viewer=...)  p50 {d50 * 1000:8.1f} ms  p95 {d95 * 1000:8.1f} ms")
        print(f"  API over HTTP (token verified)   p50 {a50 * 1000:8.1f} ms  p95 {a95 * 1000:8.1f} ms")
        ratio = a95 / d95
        print(
            f"  ratio API / direct (p95): {ratio:.2f}  target <= 1.5: {'MET' if ratio <= 1.5 else 'MISSED'}"
        )

        process = psutil.Process(server.pid)
        _load(base, token, min(args.clients, 10), 5)  # warm every worker thread and connection first
        rss_before = process.memory_info().rss
        latencies, errors = _load(base, token, args.clients, args.seconds)
        rss_after = process.memory_info().rss
        l95 = _percentile(latencies, 0.95) if latencies else float("nan")
        print(f"\nload: {args.clients} clients for {args.seconds:.0f} s on loopback")
        print(
            f"  requests {len(latencies):,} ok, {len(errors)} errors; {len(latencies) / args.seconds:.1f} per second"
        )
        if errors:
            print(f"  first error: {errors[0]}")
        print(
            f"  p50 {statistics.median(latencies) * 1000:8.1f} ms  p95 {l95 * 1000:8.1f} ms; "
            f"p95 / single-client API p95: {l95 / a95:.2f}  target <= 3: {'MET' if l95 / a95 <= 3 else 'MISSED'}"
        )
        growth = (rss_after - rss_before) / rss_before
        print(
            f"  server memory {rss_before / 2**20:.0f} MiB -> {rss_after / 2**20:.0f} MiB ({growth:+.1%}); "
            f"flat (within 10 %): {'MET' if abs(growth) <= 0.10 else 'MISSED'}"
        )
        print(f"\nload average {os.getloadavg()[0]:.2f}")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        if provider is not None:
            stop_oidc_provider(provider)
        if not keep:
            stop_embedded_server(root)
            shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
