"""A scan's page data: per-scanner counts agreeing with ``scanner_counts``, distributions, flagged results."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import Engine

from hawk_dagster.warehouse.read.queries import UnknownIdError, export_scanner_results_csv, scanner_counts
from hawk_dagster.warehouse.read.scan_results import flagged_results, scan_results, scanner_keys
from tests.web.results_fixtures import viewer
from tests.web.results_tasks import ADD_SAMPLES, CHAT_IDS

pytestmark = pytest.mark.xdist_group("results_warehouse")


def test_scanner_figures_and_distribution(results_engine: Engine) -> None:
    results = scan_results(results_engine, "scan-a")
    assert (results.name, results.created_by) == ("scan of res-a", "scanner")
    assert [(s.eval_set_id, s.complete) for s in results.sources] == [("res-a", True)]
    (scanner,) = results.scanners
    (counts,) = scanner_counts(results_engine, "scan-a")
    assert (scanner.scanner, scanner.scanned, scanner.positive, scanner.errors) == (
        counts["scanner"], counts["scanned"], counts["positive"], counts["errors"],
    )  # fmt: skip
    assert scanner.scanned == 2 * (ADD_SAMPLES + len(CHAT_IDS))
    assert sum(b.count for b in scanner.distribution) == scanner.results
    rows = list(csv.DictReader(_csv(results_engine, "scan-a")))
    assert len(rows) == scanner.results


def _csv(engine: Engine, scan_id: str) -> io.StringIO:
    out = io.StringIO()
    export_scanner_results_csv(engine, scan_id, out)
    out.seek(0)
    return out


def test_flagged_results_page_and_link_to_their_samples(results_engine: Engine) -> None:
    (scanner,) = scan_results(results_engine, "scan-a").scanners
    page = flagged_results(results_engine, "scan-a", limit=5)
    assert page.total == scanner.positive > 0
    assert len(page.rows) == min(5, page.total)
    for row in page.rows:
        assert row["eval_set_id"] == "res-a" and row["sample_uuid"] == row["transcript_id"]
        assert row["task"] == "add"  # only add's prompts hold '+'
    rest = flagged_results(results_engine, "scan-a", limit=100, offset=5)
    assert len(rest.rows) == page.total - 5
    assert flagged_results(results_engine, "scan-a", scanner="nope").total == 0
    assert scanner_keys(results_engine, "scan-a") == ["mentions"]


def test_a_scan_of_a_hidden_eval_set_does_not_exist_for_the_viewer(results_engine: Engine) -> None:
    for read in (scan_results, flagged_results, scanner_keys):
        with pytest.raises(UnknownIdError, match="no scan 'scan-g'"):
            read(results_engine, "scan-g", viewer=viewer("alpha"))  # type: ignore[operator]
    assert scan_results(results_engine, "scan-g", viewer=viewer("gamma")).scanners
