"""How much does the API add to a samples page, and does it hold up under load (issue 12's targets)?

The warehouse is ``query_speed.py``'s, built by its own loader (by default 1,000,000 samples in 20 eval sets x 5
evals, the eval sets in three access groups; loaded once and kept with ``--root``). A real ``hawk serve`` runs in its
own process with sign-in on: tokens come from the test suite's OpenID provider (node ``oidc-provider`` on loopback),
so every request's token is verified against the provider's published keys, and the user holds two of the three
groups, so the access filter applies.

1. **API against direct.** The samples page of query_speed's combined filter (text + score range + status + sort,
   50 rows) through HTTP (``GET /api/v1/samples``, bearer token) and the same query called directly
   (``queries.list_samples(engine, filter, viewer=<the same principal>)``), both warm, alternating one request
   each for ``--runs`` rounds, so that the machine's drift hits both sides alike. Target: API p95 <= 1.5 x direct
   p95. A cheap page (errored samples, an index lookup) shows the API's fixed cost per request (its p50 minus the
   direct p50), and the server process's CPU time per request.
2. **Load.** ``--clients`` clients (default 50), each with its own connection, for ``--seconds`` (default 60).
   Bounded, open-loop: each client sends ``--rate`` requests per second, at times fixed in advance (``1/rate``
   apart with +-50 % jitter, each client starting at a random phase), whether or not the server keeps up. By
   default the rate comes from the server's measured capacity (4 clients asking back to back for 10 s): the clients
   together offer half of it, a busy but sustainable load on whatever share of the shared machine is free. A
   latency is measured from the request's scheduled time, so a server falling behind shows in the figures rather
   than slowing the clients down. The requests are the combined filter's first five pages (offsets 0..200).
   The baseline is one client sending the same pages one after another. Targets: no errors; p95 <= 3 x the
   single-client p95; the server's resident memory flat (sampled every second: the last third's mean within 10 %
   of the first third's). Unbounded clients (each sending its next request when the last one is answered) on a
   2-core machine measure only the queue in front of the database, which is why the load is paced.

``--repeat N`` runs both steps N times against the same server and reports the median of each ratio.

Usage::

    uv run python benchmarks/api_speed.py --root /tmp/qbench              # loads query_speed's warehouse there once
    uv run python benchmarks/api_speed.py --root /tmp/qbench --repeat 3   # medians of three rounds
    uv run python benchmarks/api_speed.py --root /tmp/qbench --rate 0.5  # 50 clients x 0.5/s = 25 requests/s
    uv run python benchmarks/api_speed.py --samples 2000 --messages 2 --runs 10 --clients 5 --seconds 3   # smoke

Exit status 1 when the API's answer differs from the direct query's or the warehouse does not hold the expected
samples; never for a missed target.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

GROUPS_HELD = ("group-0", "group-1")  # query_speed.py puts eval set s in group-(s % 3)
PAGES = 5
COMBINED: dict[str, Any] = {
    "search": "sudo",
    "score_min": 0.2,
    "score_max": 0.8,
    "status": "success",
    "sort": "completed_at",
    "desc": "true",
    "limit": 50,
}
CHEAP: dict[str, Any] = {"status": "error", "sort": "completed_at", "desc": "true", "limit": 50}


def _filter(params: dict[str, Any]) -> Any:
    from hawk_dagster.warehouse.read.queries import SampleFilter

    return SampleFilter(
        text=params.get("search"),
        score_min=params.get("score_min"),
        score_max=params.get("score_max"),
        statuses=(params["status"],),
        sort=params["sort"],
        descending=params["desc"] == "true",
        limit=params["limit"],
        offset=params.get("offset", 0),
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f} ms"


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


def _same_rows(direct: list[dict[str, Any]], api: list[dict[str, Any]]) -> str | None:
    """None when the API's rows (JSON) are the direct query's, else the first difference."""
    from datetime import datetime

    if len(direct) != len(api):
        return f"{len(api)} rows, not {len(direct)}"
    for d, a in zip(direct, api, strict=True):
        decoded = {
            k: datetime.fromisoformat(v) if isinstance(d.get(k), datetime) else v for k, v in a.items()
        }
        if decoded != d:
            return f"{a} is not {d}"
    return None


@dataclass
class Side:
    """One way of asking for a page: direct (``list_samples``) or through the API."""

    name: str
    ask: Callable[[dict[str, Any]], tuple[int, list[dict[str, Any]]]]


def _interleaved(sides: list[Side], params: dict[str, Any], runs: int) -> dict[str, list[float]]:
    """``runs`` rounds of one request per side, after 3 warm-up rounds; the sides' order alternates per round."""
    times: dict[str, list[float]] = {side.name: [] for side in sides}
    for i in range(runs + 3):
        for side in sides if i % 2 == 0 else reversed(sides):
            t = time.perf_counter()
            side.ask(params)
            if i >= 3:
                times[side.name].append(time.perf_counter() - t)
    return times


def _single_client(base: str, token: str, seconds: float) -> list[float]:
    """One client asking for the load's pages one after another (the load's baseline)."""
    import httpx

    latencies: list[float] = []
    stop = time.monotonic() + seconds
    page = 0
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
        while time.monotonic() < stop or len(latencies) < 20:
            t = time.perf_counter()
            client.get("/api/v1/samples", params={**COMBINED, "offset": 50 * page}).raise_for_status()
            latencies.append(time.perf_counter() - t)
            page = (page + 1) % PAGES
    return latencies


CAPACITY_CLIENTS = 4
UTILISATION = 0.5
"""The share of the measured capacity the load offers by default (``--rate`` not given)."""


def _capacity(base: str, token: str, seconds: float) -> float:
    """Requests per second the server answers for the load's pages with a few clients asking back to back (more
    clients than the database has cores to spare add only queueing)."""
    import httpx

    answered = 0
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def loop(index: int) -> None:
        nonlocal answered
        page = index % PAGES
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while time.monotonic() < stop:
                client.get("/api/v1/samples", params={**COMBINED, "offset": 50 * page}).raise_for_status()
                with lock:
                    answered += 1
                page = (page + 1) % PAGES

    started = time.monotonic()
    threads = [threading.Thread(target=loop, args=(i,)) for i in range(CAPACITY_CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answered / (time.monotonic() - started)


@dataclass
class LoadResult:
    latencies: list[float]
    errors: list[str]
    late: int
    """Requests sent more than 100 ms after their scheduled time (the client was still waiting for its last one)."""
    rss: list[int]


def _paced_load(
    base: str, token: str, clients: int, seconds: float, rate: float, pid: int, seed: int
) -> LoadResult:
    """``clients`` open-loop clients sending ``rate`` requests per second each (see the module docstring)."""
    import httpx
    import psutil

    result = LoadResult([], [], 0, [])
    lock = threading.Lock()
    start = time.monotonic() + 1.0
    end = start + seconds
    done = threading.Event()

    def client_loop(index: int) -> None:
        rng = random.Random(seed * 1000 + index)
        interval = 1.0 / rate
        scheduled = start + rng.uniform(0, interval)
        page = index % PAGES
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            while scheduled < end:
                wait = scheduled - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                late = -wait > 0.1
                try:
                    response = client.get("/api/v1/samples", params={**COMBINED, "offset": 50 * page})
                    ok = response.status_code == 200
                    detail = f"HTTP {response.status_code}: {response.text[:200]}"
                except httpx.HTTPError as ex:
                    ok, detail = False, f"{type(ex).__name__}: {ex}"
                elapsed = time.monotonic() - scheduled
                with lock:
                    (result.latencies.append(elapsed) if ok else result.errors.append(detail))
                    result.late += late
                page = (page + 1) % PAGES
                scheduled += interval * rng.uniform(0.5, 1.5)

    def sample_memory() -> None:
        process = psutil.Process(pid)
        while not done.wait(1.0):
            result.rss.append(process.memory_info().rss)

    sampler = threading.Thread(target=sample_memory, daemon=True)
    sampler.start()
    threads = [threading.Thread(target=client_loop, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    done.set()
    sampler.join()
    return result


@dataclass
class Round:
    api_ratio: float
    load_ratio: float
    memory_growth: float
    errors: int
    fixed_ms: float
    server_cpu_ms: float


def _round(
    number: int, args: argparse.Namespace, sides: list[Side], base: str, token: str, pid: int
) -> Round:
    import psutil

    print(f"\n--- round {number}; load average {os.getloadavg()[0]:.2f}")
    times = _interleaved(sides, COMBINED, args.runs)
    direct, api = times["direct"], times["api"]
    d95, a95 = _percentile(direct, 0.95), _percentile(api, 0.95)
    print(f"samples page, combined filter, user holding {len(GROUPS_HELD)} of 3 groups ({args.runs} rounds)")
    print(f"  direct list_samples(viewer=...)  p50 {_ms(statistics.median(direct))}  p95 {_ms(d95)}")
    print(f"  API over HTTP (token verified)   p50 {_ms(statistics.median(api))}  p95 {_ms(a95)}")
    api_ratio = a95 / d95
    print(
        f"  ratio API / direct (p95): {api_ratio:.2f}  target <= 1.5: {'MET' if api_ratio <= 1.5 else 'MISSED'}"
    )

    server = psutil.Process(pid)
    cpu_before = sum(server.cpu_times()[:2])
    cheap = _interleaved(sides, CHEAP, args.runs)
    cpu_per_request = (sum(server.cpu_times()[:2]) - cpu_before) / (args.runs + 3)
    fixed = statistics.median(cheap["api"]) - statistics.median(cheap["direct"])
    print(
        f"cheap page (errored samples): direct p50 {_ms(statistics.median(cheap['direct']))}, API p50 "
        f"{_ms(statistics.median(cheap['api']))}: the API's fixed cost {fixed * 1000:.1f} ms per request; "
        f"server CPU {cpu_per_request * 1000:.1f} ms per request"
    )

    single = _single_client(base, token, min(args.seconds, 15))
    s95 = _percentile(single, 0.95)
    print(
        f"one client, the load's {PAGES} pages in turn: p50 {_ms(statistics.median(single))}  p95 {_ms(s95)}"
    )
    rate = args.rate
    if rate is None:
        capacity = _capacity(base, token, seconds=min(args.seconds, 10))
        rate = UTILISATION * capacity / args.clients
        print(
            f"capacity: {capacity:.1f} requests/s ({CAPACITY_CLIENTS} clients back to back); the load offers "
            f"{UTILISATION:.0%} of it"
        )
    load = _paced_load(base, token, args.clients, args.seconds, rate, pid, seed=number)
    offered = args.clients * rate
    print(
        f"load: {args.clients} clients x {rate:.3g} requests/s (open loop, +-50 % jitter) = {offered:.3g} "
        f"requests/s offered, for {args.seconds:g} s"
    )
    print(
        f"  {len(load.latencies):,} ok ({len(load.latencies) / args.seconds:.1f}/s), {len(load.errors)} errors, "
        f"{load.late} sent late (client still waiting)"
    )
    if load.errors:
        print(f"  first error: {load.errors[0]}")
    l95 = _percentile(load.latencies, 0.95) if load.latencies else float("inf")
    load_ratio = l95 / s95
    print(
        f"  p50 {_ms(statistics.median(load.latencies) if load.latencies else float('nan'))}  p95 {_ms(l95)}; "
        f"p95 / single-client p95: {load_ratio:.2f}  target <= 3: {'MET' if load_ratio <= 3 else 'MISSED'}"
    )
    third = max(1, len(load.rss) // 3)
    first, last = statistics.mean(load.rss[:third]), statistics.mean(load.rss[-third:])
    growth = (last - first) / first
    print(
        f"  server memory (RSS, {len(load.rss)} samples): first third {first / 2**20:.0f} MiB, last third "
        f"{last / 2**20:.0f} MiB ({growth:+.1%}), peak {max(load.rss) / 2**20:.0f} MiB; flat (within 10 %): "
        f"{'MET' if abs(growth) <= 0.10 else 'MISSED'}"
    )
    return Round(api_ratio, load_ratio, growth, len(load.errors), fixed * 1000, cpu_per_request * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--root", type=Path, help="query_speed.py's kept warehouse root (loaded here if empty)"
    )
    parser.add_argument(
        "--samples", type=int, default=1_000_000, help="samples in the warehouse (default 1,000,000)"
    )
    parser.add_argument("--eval-sets", type=int, default=20)
    parser.add_argument("--evals-per-set", type=int, default=5)
    parser.add_argument("--messages", type=int, default=10, help="messages per sample (default 10)")
    parser.add_argument("--runs", type=int, default=50, help="rounds of the API-against-direct comparison")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument(
        "--rate",
        type=float,
        help="requests per second per client (default: the clients together offer half the measured capacity)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds of both steps; medians are reported")
    args = parser.parse_args()

    import psycopg
    import query_speed

    from hawk_dagster.access.principal import principal_from_permissions
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.warehouse.embedded import ensure_embedded_server, stop_embedded_server
    from hawk_dagster.warehouse.engine import create_warehouse_engine
    from hawk_dagster.warehouse.read.queries import list_samples
    from hawk_dagster.warehouse.schema import migrate
    from tests.auth.oidc_provider import start_oidc_provider, stop_oidc_provider

    evals = args.eval_sets * args.evals_per_set
    samples_per_eval = max(1, args.samples // evals)
    keep = args.root is not None
    root = args.root.resolve() if keep else Path(tempfile.mkdtemp(prefix="hawk-api-bench-"))
    root.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="hawk-api-bench-work-"))
    print(f"warehouse root: {root}; load average {os.getloadavg()[0]:.2f}")
    server: subprocess.Popen[bytes] | None = None
    provider = None
    engine = None
    try:
        embedded = ensure_embedded_server(root)
        url, libpq = embedded.url(), embedded.conninfo()
        migrate.upgrade(url)
        with psycopg.connect(libpq) as conn:
            have = conn.execute("SELECT count(*) FROM sample").fetchone()[0]  # type: ignore[index]
        if have == 0:
            print(f"loading {evals * samples_per_eval:,} samples (query_speed.py's warehouse)")
            query_speed._load(
                libpq,
                eval_sets=args.eval_sets,
                evals_per_set=args.evals_per_set,
                samples_per_eval=samples_per_eval,
                messages=args.messages,
                seed=3,
            )
        sizes = query_speed._sizes(libpq)
        print(f"warehouse: {sizes['sample']:,} samples, {sizes['message']:,} messages")
        if have == 0 and sizes["sample"] != evals * samples_per_eval:
            print(f"expected {evals * samples_per_eval:,} samples")
            return 1

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
        command = [sys.executable, "-m", "hawk_dagster.cli", "serve", "--port", str(port)]
        with (work / "serve.log").open("wb") as log:
            server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        _wait_ready(base, server, work / "serve.log")

        import httpx

        engine = create_warehouse_engine(url)
        http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=60)

        def direct(params: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
            page = list_samples(engine, _filter(params), viewer=principal)
            return page.total, page.rows

        def api(params: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
            response = http.get("/api/v1/samples", params=params)
            response.raise_for_status()
            body = response.json()
            return body["total"], body["items"]

        sides = [Side("direct", direct), Side("api", api)]
        for params in (COMBINED, {**COMBINED, "offset": 50 * (PAGES - 1)}, CHEAP):
            (d_total, d_rows), (a_total, a_rows) = direct(params), api(params)
            difference = (
                f"total {a_total} is not {d_total}" if d_total != a_total else _same_rows(d_rows, a_rows)
            )
            if difference:
                print(f"the API's answer differs from the direct query's for {params}: {difference}")
                return 1
        print(f"the API's pages equal the direct query's ({d_total:,} errored samples visible)")

        rounds = [_round(n + 1, args, sides, base, token, server.pid) for n in range(args.repeat)]
        http.close()
        if len(rounds) > 1:
            print(f"\nmedians of {len(rounds)} rounds:")
        else:
            print("\nsummary:")
        api_ratio = statistics.median(r.api_ratio for r in rounds)
        load_ratio = statistics.median(r.load_ratio for r in rounds)
        growth = statistics.median(r.memory_growth for r in rounds)
        print(
            f"  API / direct p95 {api_ratio:.2f} (target <= 1.5: {'MET' if api_ratio <= 1.5 else 'MISSED'})"
        )
        print(
            f"  load p95 / single-client p95 {load_ratio:.2f} (target <= 3: {'MET' if load_ratio <= 3 else 'MISSED'}); "
            f"errors {sum(r.errors for r in rounds)} (target 0)"
        )
        print(f"  server memory growth under load {growth:+.1%} (target within 10 %)")
        print(
            f"  the API's fixed cost {statistics.median(r.fixed_ms for r in rounds):.1f} ms per request; server CPU "
            f"{statistics.median(r.server_cpu_ms for r in rounds):.1f} ms per cheap request"
        )
        print(f"\nload average {os.getloadavg()[0]:.2f}")
    finally:
        if engine is not None:
            engine.dispose()
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
