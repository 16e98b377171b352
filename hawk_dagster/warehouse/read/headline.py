"""How a headline metric is named wherever one is shown (the run table, ``hawk list evals``, the API)."""

from __future__ import annotations


def headline_name(score: str | None, metric: str | None) -> str | None:
    """``<score>/<metric>``, e.g. ``match/accuracy``; the score tells apart two scorers' ``accuracy``."""
    if metric is None:
        return None
    return f"{score}/{metric}" if score else metric
