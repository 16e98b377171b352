"""``benchmarks/api_speed.py`` runs end to end on a small warehouse, so the benchmark cannot rot: a real server with
sign-in, its pages equal to the direct query's, the paced load answered without errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "api_speed.py"


@pytest.mark.slow
def test_the_api_benchmark_runs_on_a_small_warehouse() -> None:
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--samples", "1200", "--eval-sets", "3", "--evals-per-set", "2",
         "--messages", "2", "--runs", "5", "--clients", "4", "--seconds", "2"],
        capture_output=True,
        text=True,
        timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "warehouse: 1,200 samples" in out
    assert "the API's pages equal the direct query's" in out
    assert "ratio API / direct (p95):" in out and "capacity:" in out
    assert ", 0 errors," in out and "server memory (RSS," in out
    assert "load p95 / single-client p95" in out
