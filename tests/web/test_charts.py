"""The SVG charts: well-formed, labelled for assistive technology, their figures written as text, small."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

from hawk_dagster.web.charts import Bar, Bin, Cell, colour_for, fmt, heatmap, histogram, horizontal_bars

SVG = "{http://www.w3.org/2000/svg}"


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def child(element: ET.Element, tag: str) -> ET.Element:
    found = element.find(f"{SVG}{tag}")
    assert found is not None, tag
    return found


def attr(element: ET.Element, name: str) -> str:
    value = element.get(name)
    assert value is not None, name
    return value


def text_of(element: ET.Element, tag: str) -> str:
    return child(element, tag).text or ""


def texts(root: ET.Element) -> list[str]:
    """What each <text> shows (its own text, not a tooltip <title> inside it)."""
    return [(t.text or "") + "".join(child.tail or "" for child in t) for t in root.iter(f"{SVG}text")]


def test_histogram_is_labelled_and_writes_its_counts() -> None:
    bins = [Bin(0.0, 0.5, 3), Bin(0.5, 1.0, 7)]
    root = parse(histogram(bins, title="Scores <match>", x_label="match"))
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert text_of(root, "title") == "Scores <match>"  # escaped in the markup, intact when parsed
    assert child(root, "title").get("id") == title_id
    desc = child(root, "desc")
    assert (
        desc.get("id") == desc_id
        and "10 samples" in text_of(root, "desc")
        and "0.5 to 1: 7" in text_of(root, "desc")
    )
    rects = list(root.iter(f"{SVG}rect"))
    assert [text_of(r, "title") for r in rects] == ["0 to 0.5: 3 samples", "0.5 to 1: 7 samples"]
    assert float(attr(rects[1], "height")) > float(attr(rects[0], "height"))
    assert {"3", "7", "match"} <= set(texts(root))


def test_an_empty_histogram_says_so() -> None:
    root = parse(histogram([], title="Scores", x_label="score"))
    assert "No samples match." in texts(root)


def test_heatmap_cells_colours_legend_and_links() -> None:
    cells = [
        Cell("task a", "model x", 0.0, note="3 samples"),
        Cell("task a", "model y", 1.0, href="/samples?task=a&model=y"),
        Cell("task b", "model x", None),
    ]
    markup = heatmap(cells, title="Accuracy", value_label="accuracy", low=0.0, high=1.0)
    root = parse(markup)
    fills = [r.get("fill") for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert fills == [colour_for(0.0, 0, 1), colour_for(1.0, 0, 1), "#e6e6e6", "#e6e6e6"]
    assert fills[0] != fills[1]
    tips = [text_of(r, "title") for r in root.iter(f"{SVG}rect") if r.find(f"{SVG}title") is not None]
    assert tips[0] == "task a, model x: 0 (3 samples)" and tips[3] == "task b, model y: n/a"
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/samples?task=a&model=y"]
    assert links[0].get("aria-label") == "task a, model y: 1"
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert "from 0 to 1" in attr(legend, "aria-label") and ["accuracy", "0", "0.5", "1"] == texts(legend)
    assert {"task a", "task b", "model x", "model y"} <= set(texts(root))


def test_diverging_heatmap_is_centred_on_zero() -> None:
    root = parse(
        heatmap([Cell("t", "m", -0.2), Cell("t", "n", 0.1)], title="Diff", value_label="d", diverging=True)
    )
    legend = next(g for g in root.iter(f"{SVG}g") if g.get("class") == "legend")
    assert texts(legend)[1:] == ["-0.2", "0", "0.2"]


def test_bars_with_negative_values_and_intervals() -> None:
    bars = [Bar("a", 0.25, interval=(0.1, 0.4)), Bar("b", -0.1, text="-10%", href="/x")]
    root = parse(horizontal_bars(bars, title="Difference", value_label="difference"))
    rects = list(root.iter(f"{SVG}rect"))
    assert rects[1].get("fill") != rects[0].get("fill")
    zero = next(line for line in root.iter(f"{SVG}line") if line.get("class") == "axis")
    right_end = float(attr(rects[1], "x")) + float(attr(rects[1], "width"))
    assert right_end == float(attr(zero, "x1"))  # a negative bar grows left of zero
    assert len(list(root.iter(f"{SVG}path"))) == 1
    assert {"0.25", "-10%", "a", "b"} <= set(texts(root))
    assert [a.get("href") for a in root.iter(f"{SVG}a")] == ["/x"]
    assert "interval 0.1 to 0.4" in text_of(root, "desc")


def test_numbers_and_size() -> None:
    assert [fmt(3.0), fmt(0.123456), fmt(None), fmt(12345.678)] == ["3", "0.123", "n/a", "1.23e+04"]
    cells = [Cell(f"task {i}", f"model {j}", i * j / 95) for i in range(20) for j in range(5)]
    started = time.perf_counter()
    markup = heatmap(cells, title="20 x 5", value_label="accuracy")
    assert time.perf_counter() - started < 0.05
    assert len(markup) < 60_000
    assert len(histogram([Bin(i, i + 1, i) for i in range(20)], title="h", x_label="x")) < 8_000


def test_values_that_fit_are_written_whole_and_long_labels_shortened_with_a_tooltip() -> None:
    long_row = "a task name far too long for the label column " * 3
    root = parse(
        heatmap([Cell(long_row, "m", 0.875, text="0.875 ±0.125")], title="t", value_label="accuracy")
    )
    assert "0.875 ±0.125" in texts(root)
    (row_label,) = [t for t in root.iter(f"{SVG}text") if t.find(f"{SVG}title") is not None]
    assert text_of(row_label, "title") == long_row
    assert texts(root)[1].endswith("…") and long_row.startswith(texts(root)[1][:-1])
    assert float(attr(root, "width")) < 720
