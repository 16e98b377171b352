"""The charts with long labels, drawn by headless Chromium with the pages' stylesheet and the machine's fonts:
no text reaches outside the SVG's viewBox (where the page would cut it off), and a shortened label keeps its full
text as a tooltip. A screenshot of the charts is saved."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from markupsafe import Markup
from playwright.sync_api import Browser, Page

from hawk_dagster.web import charts
from tests.web.browser import launched_chromium, save_screenshot

pytestmark = pytest.mark.slow

STYLESHEET = Path(charts.__file__).parent / "static" / "hawk.css"
LONG_TASK = "inspect_evals/gpqa_diamond_with_chain_of_thought_and_self_consistency [react_agent_with_tools]"
LONG_MODELS = ("openai/gpt-4.1-mini-2025-04-14-long-name", "anthropic/claude-3-7-sonnet-20250219")
LONG_METRIC = "difference in headline accuracy (res-b-long-eval-set-name minus res-a-long-eval-set-name)"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launched_chromium() as browser:
        yield browser


def long_charts() -> list[Markup]:
    rows = [LONG_TASK, "WWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWWW", "add"]
    cells = [
        charts.Cell(row, model, 0.1 * (i + j) - 0.2, text=f"{0.1 * (i + j):.2f} ±0.0123")
        for i, row in enumerate(rows)
        for j, model in enumerate(LONG_MODELS)
    ]
    bars = [
        charts.Bar(f"{LONG_TASK} · {model}", 0.1 * (i + 1), interval=(0.0, 0.5))
        for i, model in enumerate(LONG_MODELS)
    ] + [charts.Bar("MMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMMM", -0.3, text="-0.300 (n = 123456)")]
    bins = [charts.Bin(i / 10, (i + 1) / 10, 1_000_000 * i) for i in range(10)]
    return [
        charts.heatmap(cells, title="heatmap", value_label=LONG_METRIC, diverging=True),
        charts.heatmap(
            cells[:2], title="narrow", value_label="accuracy", rows=[LONG_TASK], columns=LONG_MODELS
        ),
        charts.horizontal_bars(bars, title="bars", value_label=LONG_METRIC),
        charts.histogram(bins, title="histogram", x_label=LONG_METRIC),
    ]


def drawn_outside(page: Page) -> list[str]:
    """Every <text> whose drawn box leaves its SVG's viewBox (half a unit of slack for rounding)."""
    outside: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('svg.chart text')].filter(t => {
            const b = t.getBBox(), v = t.ownerSVGElement.viewBox.baseVal;
            return b.x < v.x - 0.5 || b.y < v.y - 0.5 || b.x + b.width > v.x + v.width + 0.5
                || b.y + b.height > v.y + v.height + 0.5;
        }).map(t => t.closest('svg').getAttribute('class') + ': ' + t.textContent)"""
    )
    return outside


def test_long_labels_stay_inside_the_charts(chromium: Browser) -> None:
    page = chromium.new_page(viewport={"width": 1280, "height": 900})
    try:
        figures = "".join(f"<figure>{chart}</figure>" for chart in long_charts())
        page.set_content(f"<!doctype html><style>{STYLESHEET.read_text()}</style><main>{figures}</main>")
        save_screenshot(page, "charts-long-labels")
        assert drawn_outside(page) == []
        # a shortened label keeps its whole text as the tooltip of the label itself
        shortened = page.evaluate(
            """() => [...document.querySelectorAll('svg.chart text')]
                .filter(t => [...t.childNodes].some(n => n.nodeType === 3 && n.textContent.endsWith('…')))
                .map(t => t.querySelector('title') ? t.querySelector('title').textContent : null)"""
        )
        assert shortened and None not in shortened
        assert LONG_TASK in shortened and LONG_METRIC in shortened
    finally:
        page.close()
