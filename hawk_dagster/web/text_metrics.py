"""How wide a chart's text is drawn, so the charts can size their margins and shorten what would not fit, rather
than guess from a character count (which clipped long bold labels off the SVG's edges).

The widths are those of DejaVu Sans (regular for values, bold for the ``label`` class), measured in Chromium (``CanvasRenderingContext2D.measureText`` at 1000 px):
Debian's fallback for the stylesheet's ``system-ui`` and one of the widest common sans-serif faces, so the text of
any other system font (Segoe UI, Roboto, San Francisco) fits too. Characters outside printable ASCII count a full
em, wider than any Latin letter of the face.
"""

from __future__ import annotations

from typing import Final

_ASCII_BOLD: Final = (
    349, 457, 521, 838, 696, 1002, 873, 307, 458, 458, 523, 838, 380, 416, 380, 366, 696, 696, 696, 696, 696, 696,
    696, 696, 696, 696, 400, 400, 838, 838, 838, 581, 1000, 774, 763, 734, 831, 684, 684, 821, 837, 373, 373, 775,
    638, 996, 837, 851, 733, 851, 771, 721, 683, 813, 774, 1104, 771, 725, 726, 458, 366, 458, 838, 500, 500, 675,
    716, 593, 716, 679, 436, 716, 712, 343, 343, 666, 343, 1042, 712, 688, 716, 716, 494, 596, 479, 712, 652, 924,
    646, 652, 583, 712, 366, 712, 838,
)  # fmt: skip
"""Advance widths of the characters ``' '`` (32) to ``'~'`` (126) in bold, in thousandths of an em."""
_ASCII_REGULAR: Final = (
    318, 401, 460, 838, 637, 951, 780, 275, 391, 391, 500, 838, 318, 361, 318, 337, 637, 637, 637, 637, 637, 637,
    637, 637, 637, 637, 337, 337, 838, 838, 838, 531, 1000, 685, 687, 699, 771, 632, 576, 775, 752, 295, 295, 656,
    558, 863, 749, 788, 604, 788, 695, 635, 611, 732, 685, 989, 686, 611, 686, 391, 337, 391, 838, 500, 500, 613,
    635, 550, 635, 616, 353, 635, 634, 278, 278, 580, 278, 975, 634, 612, 635, 635, 412, 521, 393, 634, 592, 818,
    592, 592, 525, 637, 337, 637, 838,
)  # fmt: skip
"""The same in the regular weight."""
_WIDE: Final = 1000
"""Any other character (accented, CJK, symbols; ``…`` is 1000 in the face)."""
ELLIPSIS: Final = "…"


def text_width(text: str, size: float, *, bold: bool = False) -> float:
    """The width of ``text`` at font size ``size`` (in the same units), never less than it is drawn."""
    widths = _ASCII_BOLD if bold else _ASCII_REGULAR
    return sum(widths[o - 32] if 32 <= (o := ord(c)) < 127 else _WIDE for c in text) * size / 1000


def fit_text(text: str, room: float, size: float, *, bold: bool = False) -> str:
    """``text`` as is if it fits in ``room``, otherwise as much of its start as fits followed by an ellipsis."""
    if text_width(text, size, bold=bold) <= room:
        return text
    budget = room - text_width(ELLIPSIS, size)
    used = 0.0
    for end, char in enumerate(text):
        used += text_width(char, size, bold=bold)
        if used > budget:
            return text[:end].rstrip() + ELLIPSIS
    return text  # not reached: the whole text would have fitted
