"""Free-text search finds exactly the samples whose search document contains the term, whatever the term's spacing,
punctuation, case or LIKE wildcards."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from hawk_dagster.warehouse.read.queries import SampleFilter, list_samples
from hawk_dagster.warehouse.schema.models import Eval, EvalSet, Sample
from hawk_dagster.warehouse.schema.search import search_key

DOCUMENTS = [
    "run sudo apt-get install -y curl\n$ sudo: command not found",
    "ls -la /etc/passwd\tcat /etc/shadow",
    "ReadTimeoutError: timed out after 30s",
    "50%_done marker  with  double  spaces",
    "wide\u3000space and\xa0nbsp and\u2028line",
    "trailing space ",
    "path/with/slashes and back\\slash",
    "Émigré naïve CAFÉ",
    "",
]


@pytest.fixture
def engine(warehouse_engine: Engine) -> Engine:
    with Session(warehouse_engine) as session:
        session.add(EvalSet(eval_set_id="es-search"))
        evaluation = Eval(eval_set_id="es-search", task_id="t", eval_id="e", task_name="t", model="m",
                          status="success", location="/x", file_hash="h")  # fmt: skip
        session.add(evaluation)
        session.flush()
        for n, document in enumerate(DOCUMENTS):
            session.add(Sample(eval_pk=evaluation.pk, uuid=f"u{n}", id=str(n), epoch=1, input="", target="",
                               search_text=search_key(document)))  # fmt: skip
        session.commit()
    return warehouse_engine


def _found(engine: Engine, term: str) -> list[str]:
    page = list_samples(engine, SampleFilter(eval_set_ids=["es-search"], text=term, sort="id", limit=100))
    return sorted(row["uuid"] for row in page.rows)


def _expected(term: str) -> list[str]:
    return sorted(f"u{n}" for n, d in enumerate(DOCUMENTS) if search_key(term) in search_key(d))


@pytest.mark.parametrize(
    "term",
    [
        "sudo", "SUDO", "udo", "sudo apt", "o apt-g", "et-get install -y c", "-y curl\n$ su", "not found",
        "/etc/", "c/passwd\tcat", "passwd cat", "timeout", "TimeoutError", "d out after 3", "50%_d", "5%_d",
        "double  spaces", "double spaces", "space and\xa0nb", "space and nb", "\u3000", " and", "trailing space ",
        "space  ", "back\\sla", "h/with/sl", "café", "NAÏVE caf", "ïve", " ", "e", "zzz",
    ],
)  # fmt: skip
def test_search_matches_exactly_the_documents_that_contain_the_term(engine: Engine, term: str) -> None:
    assert _found(engine, term) == _expected(term)


def test_random_substrings_are_found(engine: Engine) -> None:
    """Every substring of every document (across words or inside one) finds exactly the documents holding it."""
    rng = random.Random(7)
    for _ in range(150):
        document = search_key(rng.choice([d for d in DOCUMENTS if d]))
        start = rng.randrange(len(document))
        term = document[start : start + rng.randrange(1, 16)]
        assert _found(engine, term) == _expected(term), repr(term)
