"""Free-text search over samples: the search document, the shorter document its trigram index is built on, and the
conditions a search term becomes.

``sample.search_text`` is the document a search must match exactly (a substring, in lower case). Its trigram index
is built on ``sample.search_words`` instead: the document's whitespace-separated tokens, each once. pg_trgm takes
trigrams from the alphanumeric runs of a text, and every run lies inside one token, so both documents have the same
trigram set: the index finds the same candidates, but PostgreSQL extracts (and sorts) trigrams from less than half
the text when a sample is imported, the most expensive part of keeping the index (measured on the import benchmark:
1.9 s -> 0.9 s for 10,000 samples).

A term is then matched by conditions on both columns: :func:`word_patterns` gives ``LIKE`` patterns that
``search_words`` must match whenever ``search_text`` contains the term (each whitespace-separated piece of the term
lies inside one token; a piece that whitespace precedes or follows in the term starts or ends its token), which the
index answers; ``search_text LIKE '%term%'`` then decides exactly.
"""

from __future__ import annotations

SEPARATORS = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008"
    "\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
"""The characters :meth:`str.split` splits on (Python's whitespace; a test keeps this list equal to it): token
boundaries in ``search_words``. The migration that fills ``search_words`` for rows imported earlier splits on exactly
these."""

LIKE_ESCAPE = "/"


def search_key(text: str) -> str:
    """Text as the search document stores it, and as a search term must be written to match it: lower case.

    Matching a lower-cased document with ``LIKE`` is about 4x cheaper for PostgreSQL than ``ILIKE`` over the original
    (measured on the query benchmark: 9 ms instead of 33 ms to check 6,000 documents), and checking the trigram
    index's candidates is most of a search's cost.
    """
    return text.lower()


def search_document(sample_id: str, input_text: str, target: str, transcript: list[str], output: str) -> str:
    """``sample.search_text``: everything free-text search should find, one document per sample.

    One document per sample (rather than an index over ``message``) keeps one trigram index entry per distinct
    trigram per sample; transcripts repeat themselves (prompts, tool output), so this is far smaller and faster to
    maintain. The input is left out when there are messages: the first messages are the input. Lower-cased by
    :func:`search_key`.
    """
    return search_key(
        "\n".join(part for part in (sample_id, input_text, target, *transcript, output) if part)
    )


def search_words(document: str) -> str:
    """``sample.search_words``: the document's tokens, each once, space-separated, with a space at both ends (so a
    token's start and end can be matched as `` token``/``token ``)."""
    return " " + " ".join(dict.fromkeys(document.split())) + " "


def word_patterns(term: str) -> list[str]:
    """``LIKE`` patterns (escape character :data:`LIKE_ESCAPE`) that ``search_words`` matches whenever
    ``search_text`` contains ``term`` (already lower-cased with :func:`search_key`). Empty for a term without
    tokens."""
    pieces = term.split()
    patterns = []
    for index, piece in enumerate(pieces):
        starts_token = index > 0 or term[:1].isspace()
        ends_token = index < len(pieces) - 1 or term[-1:].isspace()
        patterns.append(
            "%" + (" " if starts_token else "") + escape_like(piece) + (" " if ends_token else "") + "%"
        )
    return patterns


def escape_like(text: str) -> str:
    """``text`` as a literal inside a ``LIKE`` pattern that uses :data:`LIKE_ESCAPE`."""
    return (
        text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
