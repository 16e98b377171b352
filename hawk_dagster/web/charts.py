"""Charts for the results pages: small inline SVG written on the server, no script and no request of their own.

Why not Vega-Lite through ``vl-convert-python`` (the issue's suggestion): measured on this machine (2 cores), a warm
render of a 200-point binned bar chart took 123 ms (1.7 s for the first, which starts its JavaScript engine), its
SVG was 11 KB, and the package installs 84 MB. One chart would use the samples page's whole 100 ms budget; these
builders take well under a millisecond and write 2-6 KB.

Accessibility: every chart is ``role="img"`` labelled by its ``<title>`` and a ``<desc>`` that states the figures
in words; every bar or cell has its own ``<title>`` (a tooltip) and its value written as text where it fits; a
heatmap carries its colour legend, and its cells their numbers, so colour never carries meaning alone. Links (a
heatmap cell's samples, a bar's details) are real ``<a>`` elements, reachable with the keyboard.

The API (stable: the eval set, compare and scan pages build on it): :func:`histogram` of :class:`Bin`,
:func:`heatmap` of :class:`Cell`, :func:`horizontal_bars` of :class:`Bar`; each returns :class:`markupsafe.Markup`
to drop into a template as is. Sizes are in CSS pixels of the SVG's ``viewBox``; the SVG scales to its container.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from markupsafe import Markup, escape

from hawk_dagster.web.text_metrics import fit_text, text_width

FONT: Final = 12
"""Text size in the charts' own units (the stylesheet sets the family)."""
MAX_LABEL_WIDTH: Final = 260
"""The widest row label column; longer labels are shortened, their whole text kept as a tooltip."""
PALETTE: Final = ((68, 1, 84), (59, 82, 139), (33, 145, 140), (94, 201, 98), (253, 231, 37))
"""Viridis at five stops: ordered in lightness, readable by the colour-blind and in greyscale."""
DIVERGING: Final = ((178, 24, 43), (244, 165, 130), (247, 247, 247), (146, 197, 222), (33, 102, 172))
"""Red - white - blue, for values either side of zero (differences)."""
BAR_COLOUR: Final = "#3b528b"
NEGATIVE_COLOUR: Final = "#b2182b"
MISSING_COLOUR: Final = "#e6e6e6"


@dataclass(frozen=True)
class Bin:
    """One bar of a histogram: values in ``[low, high)`` (the last bin includes ``high``)."""

    low: float
    high: float
    count: int


@dataclass(frozen=True)
class Cell:
    """One cell of a heatmap. ``value`` None: nothing to show (drawn grey, "no value"). ``text`` replaces the
    formatted value in the cell and its tooltip (e.g. ``"0.82 ± 0.03"``); ``note`` is added to the tooltip only (e.g.
    ``"120 samples, 3 errors"``); ``href`` makes the cell a link."""

    row: str
    column: str
    value: float | None
    text: str | None = None
    note: str | None = None
    href: str | None = None


@dataclass(frozen=True)
class Bar:
    """One bar of :func:`horizontal_bars`. ``interval`` draws an error bar (e.g. a 95% confidence interval);
    negative values grow left of a zero line."""

    label: str
    value: float
    text: str | None = None
    interval: tuple[float, float] | None = None
    note: str | None = None
    href: str | None = None


def fmt(value: float | None, digits: int = 3) -> str:
    """A number as the charts write it: integers plainly, others to ``digits`` significant figures."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.{digits}g}"


def _chart_id(kind: str, title: str) -> str:
    return f"chart-{kind}-{hashlib.sha1(title.encode()).hexdigest()[:8]}"


def _open(kind: str, title: str, desc: str, width: float, height: float) -> tuple[str, list[str]]:
    chart_id = _chart_id(kind, title)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {width:.0f} {height:.0f}"'
        f' width="{width:.0f}" height="{height:.0f}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d"'
        f' font-size="{FONT}">',
        f'<title id="{chart_id}-t">{escape(title)}</title>',
        f'<desc id="{chart_id}-d">{escape(desc)}</desc>',
    ]
    return chart_id, parts


def _close(parts: list[str]) -> Markup:
    parts.append("</svg>")
    return Markup("".join(parts))


def _link(href: str | None, inner: str, label: str) -> str:
    if href is None:
        return inner
    return f'<a href="{escape(href)}" aria-label="{escape(label)}">{inner}</a>'


def _width(text: str, *, bold: bool = False) -> float:
    """Drawn width of ``text``; ``bold`` for the ``label`` class (the stylesheet's weight 600)."""
    return text_width(text, FONT, bold=bold)


def _label(text: str, room: float, *, bold: bool = True) -> str:
    """``text`` escaped for a ``<text>`` element, shortened to ``room`` with its whole text as a tooltip if needed
    (``bold``: a ``label``-class text, ``False``: a value)."""
    shown = fit_text(text, room, FONT, bold=bold)
    tip = f"<title>{escape(text)}</title>" if shown != text else ""
    return f"{tip}{escape(shown)}"


def _label_column(labels: Sequence[str]) -> int:
    """The width of a column of row labels: the longest label's (up to :data:`MAX_LABEL_WIDTH`) and its gap."""
    return round(min(MAX_LABEL_WIDTH, max((_width(label, bold=True) for label in labels), default=24.0) + 20))


def _centred(text: str, x: float, y: float, width: float, css_class: str = "label") -> str:
    """A ``<text>`` centred on ``x`` and shortened to stay between 4 and ``width - 4``."""
    room = 2 * min(x - 4, width - 4 - x)
    return (f'<text x="{x:.0f}" y="{y:.0f}" text-anchor="middle" class="{css_class}">'
            f"{_label(text, room)}</text>")  # fmt: skip


def _ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering ``[low, high]`` (about ``count`` of them)."""
    if high <= low:
        return [low]
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(low / step - 1e-9) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 12))
        value += step
    return ticks


# --------------------------------------------------------------------------------------------------- histogram


def histogram(
    bins: Sequence[Bin],
    *,
    title: str,
    x_label: str,
    y_label: str = "samples",
    width: int = 720,
    height: int = 220,
) -> Markup:
    """Counts per value range as vertical bars, with count labels on the bars when they fit."""
    total = sum(b.count for b in bins)
    desc = (
        f"{total} {y_label} in {len(bins)} bins of {x_label}: "
        + "; ".join(f"{fmt(b.low)} to {fmt(b.high)}: {b.count}" for b in bins)
        if bins
        else f"no {y_label} to show"
    )
    _, parts = _open("histogram", title, desc, width, height)
    peak = max((b.count for b in bins), default=0) or 1
    y_ticks = [t for t in _ticks(0, peak, 4) if float(t).is_integer()]
    left = round(max(48.0, max((_width(fmt(t)) for t in y_ticks), default=0.0) + 12))
    right, top, bottom = 12, 14, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    if not bins:
        parts.append(f'<text x="{width / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">No {escape(y_label)}'
                     " match.</text>")  # fmt: skip
        return _close(parts)
    for tick in y_ticks:
        y = top + plot_h - tick / peak * plot_h
        parts.append(f'<line class="grid" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(tick)}</text>')  # fmt: skip
    slot = plot_w / len(bins)
    for i, b in enumerate(bins):
        bar_h = b.count / peak * plot_h
        x, y = left + i * slot, top + plot_h - bar_h
        label = f"{fmt(b.low)} to {fmt(b.high)}: {b.count} {y_label}"
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{max(slot - 2, 1):.1f}" height="{bar_h:.1f}"'
                     f' fill="{BAR_COLOUR}"><title>{escape(label)}</title></rect>')  # fmt: skip
        if b.count and slot - 4 >= _width(str(b.count)):
            inside = y - 3 < top + 9  # no room above a full-height bar: write the count inside it, in white
            fill = ' fill="#fff"' if inside else ""
            parts.append(f'<text x="{x + slot / 2:.1f}" y="{y + 14 if inside else y - 3:.1f}" text-anchor="middle"'
                         f'{fill} class="value">{b.count}</text>')  # fmt: skip
    edges = [bins[0].low, *(b.high for b in bins)]
    every = max(1, math.ceil(len(edges) * (max(_width(fmt(e)) for e in edges) + 8) / plot_w))
    for i, edge in enumerate(edges):
        if i % every and i != len(edges) - 1:
            continue
        x = left + i * slot
        # the last edge ends at the plot's right side: written right-aligned there, not centred past the edge
        anchor = "end" if i == len(edges) - 1 and x + _width(fmt(edge)) / 2 > width else "middle"
        parts.append(f'<text x="{x:.1f}" y="{top + plot_h + 15}" text-anchor="{anchor}">{fmt(edge)}</text>')
    parts.append(
        f'<line class="axis" x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" y2="{top + plot_h}"/>'
    )
    parts.append(_centred(x_label, left + plot_w / 2, height - 6, width))
    return _close(parts)


# ----------------------------------------------------------------------------------------------------- heatmap


def _mix(palette: Sequence[tuple[int, int, int]], t: float) -> str:
    t = min(1.0, max(0.0, t))
    span = t * (len(palette) - 1)
    i = min(int(span), len(palette) - 2)
    frac = span - i
    a, b = palette[i], palette[i + 1]
    r, g, bl = (round(a[k] + (b[k] - a[k]) * frac) for k in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def colour_for(value: float | None, low: float, high: float, *, diverging: bool = False) -> str:
    """The fill of a heatmap cell holding ``value`` on a scale from ``low`` to ``high``."""
    if value is None:
        return MISSING_COLOUR
    t = 0.5 if high <= low else (value - low) / (high - low)
    return _mix(DIVERGING if diverging else PALETTE, t)


def _text_colour(fill: str) -> str:
    r, g, b = (int(fill[i : i + 2], 16) for i in (1, 3, 5))
    return "#000" if (0.299 * r + 0.587 * g + 0.114 * b) > 140 else "#fff"


def heatmap(
    cells: Sequence[Cell],
    *,
    title: str,
    value_label: str,
    rows: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    low: float | None = None,
    high: float | None = None,
    diverging: bool = False,
    cell_width: int = 96,
    cell_height: int = 34,
) -> Markup:
    """Rows x columns coloured by value, each cell's value written in it, and a colour legend from ``low`` to
    ``high`` (default: the values' range; ``diverging``: a red-white-blue scale centred on zero)."""
    rows = list(rows) if rows is not None else list(dict.fromkeys(c.row for c in cells))
    columns = list(columns) if columns is not None else list(dict.fromkeys(c.column for c in cells))
    by_key: Mapping[tuple[str, str], Cell] = {(c.row, c.column): c for c in cells}
    values = [c.value for c in cells if c.value is not None]
    if low is None:
        low = min(values, default=0.0)
    if high is None:
        high = max(values, default=1.0)
    if high <= low:
        high = low + 1.0
    if diverging:
        bound = max(abs(low), abs(high)) or 1.0
        low, high = -bound, bound
    label_w = _label_column(rows)
    header_h = 28
    legend_h = 46
    legend_w = 240
    legend_title_x = label_w + legend_w + 10
    # room for the legend's title beside its scale, up to a chart 720 wide (a longer title is shortened)
    width = max(
        label_w + max(1, len(columns)) * cell_width + 8,
        min(
            max(720, label_w + max(1, len(columns)) * cell_width + 8),
            math.ceil(legend_title_x + _width(value_label, bold=True) + 5),
        ),
    )
    height = header_h + max(1, len(rows)) * cell_height + legend_h
    desc = (
        f"{value_label} for {len(rows)} rows by {len(columns)} columns. "
        + "; ".join(
            f"{c.row}, {c.column}: {c.text or fmt(c.value)}" + (f" ({c.note})" if c.note else "")
            for c in cells
        )
        if cells
        else "no values to show"
    )
    _, parts = _open("heatmap", title, desc, width, height)
    for j, column in enumerate(columns):
        x = label_w + j * cell_width + cell_width / 2
        parts.append(f'<text x="{x:.0f}" y="{header_h - 10}" text-anchor="middle" class="label">'
                     f"{_label(column, cell_width - 4)}</text>")  # fmt: skip
    for i, row in enumerate(rows):
        y = header_h + i * cell_height
        parts.append(f'<text x="{label_w - 8:.0f}" y="{y + cell_height / 2 + 4:.0f}" text-anchor="end"'
                     f' class="label">{_label(row, label_w - 12)}</text>')  # fmt: skip
        for j, column in enumerate(columns):
            cell = by_key.get((row, column))
            value = cell.value if cell else None
            fill = colour_for(value, low, high, diverging=diverging)
            shown = (cell.text if cell and cell.text else fmt(value)) if cell else "n/a"
            tip = f"{row}, {column}: {shown}" + (f" ({cell.note})" if cell and cell.note else "")
            x = label_w + j * cell_width
            inner = (
                f'<rect x="{x + 1}" y="{y + 1}" width="{cell_width - 2}" height="{cell_height - 2}" fill="{fill}">'
                f"<title>{escape(tip)}</title></rect>"
                f'<text x="{x + cell_width / 2:.0f}" y="{y + cell_height / 2 + 4:.0f}" text-anchor="middle"'
                f' fill="{_text_colour(fill)}" class="value">{_label(shown, cell_width - 6, bold=False)}</text>'
            )
            parts.append(_link(cell.href if cell else None, inner, tip))
    # the legend: a gradient from low to high with its ends and middle written out
    legend_y = header_h + len(rows) * cell_height + 14
    grad_id = _chart_id("legend", title + value_label)
    palette = DIVERGING if diverging else PALETTE
    stops = "".join(
        f'<stop offset="{k / (len(palette) - 1):.2f}" stop-color="{_mix(palette, k / (len(palette) - 1))}"/>'
        for k in range(len(palette))
    )
    parts.append(f'<defs><linearGradient id="{grad_id}">{stops}</linearGradient></defs>')
    parts.append(f'<g class="legend" aria-label="colour legend: {escape(value_label)} from {fmt(low)} to {fmt(high)}">'
                 f'<text x="{legend_title_x:.0f}" y="{legend_y + 10}" class="label">'
                 f"{_label(value_label, width - legend_title_x - 4)}</text>"
                 f'<rect x="{label_w}" y="{legend_y}" width="{legend_w}" height="12" fill="url(#{grad_id})"/>'
                 f'<text x="{label_w}" y="{legend_y + 26}">{fmt(low)}</text>'
                 f'<text x="{label_w + legend_w / 2:.0f}" y="{legend_y + 26}" text-anchor="middle">'
                 f"{fmt((low + high) / 2)}</text>"
                 f'<text x="{label_w + legend_w}" y="{legend_y + 26}" text-anchor="end">{fmt(high)}</text></g>')  # fmt: skip
    return _close(parts)


# --------------------------------------------------------------------------------------------- horizontal bars


def horizontal_bars(
    bars: Sequence[Bar],
    *,
    title: str,
    value_label: str,
    low: float | None = None,
    high: float | None = None,
    width: int = 560,
    bar_height: int = 22,
) -> Markup:
    """One labelled bar per item, its value written beside it; intervals as error bars; negative values left of a
    zero line. The scale spans ``low``..``high`` (default: zero and the values' and intervals' extremes)."""
    extremes = [0.0, *(b.value for b in bars)]
    extremes += [end for b in bars if b.interval for end in b.interval]
    low = min(extremes) if low is None else low
    high = max(extremes) if high is None else high
    if high <= low:
        high = low + 1.0
    label_w = _label_column([b.label for b in bars])
    value_w = max((_width(b.text or fmt(b.value)) for b in bars), default=24.0) + 10
    top, axis_h = 6, 34
    plot_w = max(60.0, width - label_w - value_w - 8)
    width = max(width, round(label_w + plot_w + value_w + 8))
    height = top + max(1, len(bars)) * (bar_height + 6) + axis_h
    desc = (
        f"{value_label}: "
        + "; ".join(
            f"{b.label}: {b.text or fmt(b.value)}"
            + (f" (interval {fmt(b.interval[0])} to {fmt(b.interval[1])})" if b.interval else "")
            + (f", {b.note}" if b.note else "")
            for b in bars
        )
        if bars
        else "no values to show"
    )
    _, parts = _open("bars", title, desc, width, height)

    def x_of(value: float) -> float:
        return label_w + (min(max(value, low), high) - low) / (high - low) * plot_w

    zero = x_of(0.0)
    plot_bottom = top + len(bars) * (bar_height + 6)
    for tick in _ticks(low, high, 4):
        x = x_of(tick)
        parts.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{plot_bottom}"/>'
                     f'<text x="{x:.1f}" y="{plot_bottom + 14}" text-anchor="middle">{fmt(tick)}</text>')  # fmt: skip
    for i, b in enumerate(bars):
        y = top + i * (bar_height + 6)
        start, end = sorted((zero, x_of(b.value)))
        shown = b.text or fmt(b.value)
        tip = (
            f"{b.label}: {shown}"
            + (f" (interval {fmt(b.interval[0])} to {fmt(b.interval[1])})" if b.interval else "")
            + (f", {b.note}" if b.note else "")
        )
        colour = NEGATIVE_COLOUR if b.value < 0 else BAR_COLOUR
        inner = (
            f'<text x="{label_w - 8:.0f}" y="{y + bar_height / 2 + 4:.0f}" text-anchor="end" class="label">'
            f"{_label(b.label, label_w - 12)}</text>"
            f'<rect x="{start:.1f}" y="{y}" width="{max(end - start, 1):.1f}" height="{bar_height}" fill="{colour}">'
            f"<title>{escape(tip)}</title></rect>"
        )
        if b.interval:
            lo_x, hi_x = x_of(b.interval[0]), x_of(b.interval[1])
            mid = y + bar_height / 2
            inner += (f'<path class="interval" d="M{lo_x:.1f},{mid - 5:.1f}v10M{lo_x:.1f},{mid:.1f}H{hi_x:.1f}'
                      f'M{hi_x:.1f},{mid - 5:.1f}v10"/>')  # fmt: skip
        right_end = max(end, x_of(b.interval[1]) if b.interval else end)
        inner += (f'<text x="{right_end + 4:.1f}" y="{y + bar_height / 2 + 4:.0f}" class="value">'
                  f"{escape(shown)}</text>")  # fmt: skip
        parts.append(_link(b.href, inner, tip))
    parts.append(f'<line class="axis" x1="{zero:.1f}" x2="{zero:.1f}" y1="{top}" y2="{plot_bottom}"/>')
    parts.append(_centred(value_label, label_w + plot_w / 2, height - 4, width))
    return _close(parts)


__all__ = ["Bar", "Bin", "Cell", "colour_for", "fmt", "heatmap", "histogram", "horizontal_bars"]
