"""The access matrix on a real warehouse: principals x eval sets of three groups (and one of the default group) x a
scan reading two of them, through every reader; every allowed and every denied answer, and listings, counts,
totals and exports that never include what the principal cannot see."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest

from hawk_dagster.access.policy import can_view
from hawk_dagster.access.principal import LOCAL_ADMIN, Principal, principal_from_permissions
from hawk_dagster.access.settings import AccessSettings
from hawk_dagster.access.stored_groups import GROUPS_FILE, read_stored_groups
from hawk_dagster.warehouse.read import counts, queries
from hawk_dagster.warehouse.read.queries import SampleFilter, UnknownIdError
from hawk_dagster.warehouse.read.transcript import sample_transcript
from tests.access.conftest import EVAL_SETS, SAMPLES_PER_EVAL_SET, SCAN_ID, SCAN_SOURCES, AccessWorld

SETTINGS = AccessSettings()

EXPECTED_GROUPS = {
    "es-alpha": ["alpha"],
    "es-beta": ["beta"],
    "es-gamma": ["gamma"],
    "es-none": ["restricted"],
}
SCAN_GROUPS = ["alpha", "beta"]


def _user(*groups: str, extra: tuple[str, ...] = ()) -> Principal:
    return principal_from_permissions(
        "-".join(groups) or "nobody", [*(f"model-access-{g}" for g in groups), *extra], SETTINGS
    )


PRINCIPALS: dict[str, Principal] = {
    "nobody": _user(),
    "alpha": _user("alpha"),
    "beta": _user("beta", extra=("hawk:edit",)),
    "alpha+beta": _user("alpha", "beta"),
    "all three": _user("alpha", "beta", "gamma"),
    "restricted": _user("restricted"),
    "everything": _user("alpha", "beta", "gamma", "restricted"),
    "metachar": principal_from_permissions(
        "m",
        ["model-access-alpha'; DROP TABLE eval_set; --", "model-access-%", "model-access-{alpha}"],
        SETTINGS,
    ),
    "prefix only": principal_from_permissions("p", ["model-access-", "alpha", "hawk:edit"], SETTINGS),
    "admin": principal_from_permissions("root", ["hawk:admin"], SETTINGS),
    "local admin": LOCAL_ADMIN,
}
VIEWERS: list[Principal | None] = [*PRINCIPALS.values(), None]
IDS = [*PRINCIPALS, "cli (viewer=None)"]


def _sees(viewer: Principal | None) -> set[str]:
    """The eval sets ``viewer`` may see, by the Python rule on the groups this test expects."""
    if viewer is None:
        return set(EVAL_SETS)
    return {es for es, groups in EXPECTED_GROUPS.items() if can_view(viewer, groups)}


def _sees_scan(viewer: Principal | None) -> bool:
    return viewer is None or can_view(viewer, SCAN_GROUPS)


def test_groups_are_stored_beside_the_logs_and_in_the_warehouse(access_world: AccessWorld) -> None:
    from sqlalchemy import text

    for eval_set_id, groups in EXPECTED_GROUPS.items():
        stored = read_stored_groups(access_world.storage, "evals", eval_set_id)
        assert stored is not None and list(stored.groups) == groups, eval_set_id
        assert access_world.storage.path("evals", eval_set_id, GROUPS_FILE).exists()
    none = read_stored_groups(access_world.storage, "evals", "es-none")
    assert none is not None and "hawk-mock/unlisted" in none.models, "models the logs show are recorded"
    scan = read_stored_groups(access_world.storage, "scans", SCAN_ID)
    assert scan is not None and list(scan.groups) == SCAN_GROUPS and scan.sources == SCAN_SOURCES
    with access_world.engine.connect() as conn:
        rows = dict(conn.execute(text("SELECT eval_set_id, model_groups FROM eval_set")).all())
        scans = dict(conn.execute(text("SELECT scan_id, model_groups FROM scan")).all())
    assert rows == EXPECTED_GROUPS and scans == {SCAN_ID: SCAN_GROUPS}


def test_expected_visibility_is_what_the_matrix_says() -> None:
    """The matrix's own premises, so a change of rule cannot make the reader tests vacuous."""
    assert _sees(PRINCIPALS["nobody"]) == set()
    assert _sees(PRINCIPALS["alpha"]) == {"es-alpha"}
    assert _sees(PRINCIPALS["alpha+beta"]) == {"es-alpha", "es-beta"}
    assert _sees(PRINCIPALS["restricted"]) == {"es-none"}
    assert _sees(PRINCIPALS["metachar"]) == set() and _sees(PRINCIPALS["prefix only"]) == set()
    assert _sees(PRINCIPALS["admin"]) == set(EVAL_SETS)
    assert [name for name, p in PRINCIPALS.items() if _sees_scan(p)] == [
        "alpha+beta", "all three", "everything", "admin", "local admin"
    ]  # fmt: skip


def _unknown(call: Callable[..., object], *args: object, **kwargs: object) -> str:
    """The message of the ``UnknownIdError`` that ``call(*args, **kwargs)`` must raise."""
    with pytest.raises(UnknownIdError) as raised:
        call(*args, **kwargs)
    return str(raised.value)


@pytest.mark.parametrize("viewer", VIEWERS, ids=IDS)
def test_eval_set_readers(access_world: AccessWorld, viewer: Principal | None) -> None:
    engine, visible = access_world.engine, _sees(viewer)
    page = queries.list_eval_sets(engine, viewer=viewer)
    assert {r["eval_set_id"] for r in page.rows} == visible and page.total == len(visible)
    assert {r["samples"] for r in page.rows} <= {SAMPLES_PER_EVAL_SET}
    searched = queries.list_eval_sets(engine, search="es-", viewer=viewer)
    assert searched.total == len(visible)
    assert queries.list_eval_sets(engine, search="u-es-gamma", viewer=viewer).total == int(
        "es-gamma" in visible
    )
    for eval_set_id in EVAL_SETS:
        if eval_set_id in visible:
            assert len(queries.list_evals(engine, eval_set_id, viewer=viewer)) == 1
            assert counts.warehouse_counts(engine, eval_set_id, viewer=viewer) != {}
        else:
            message = _unknown(queries.list_evals, engine, eval_set_id, viewer=viewer)
            absent = _unknown(queries.list_evals, engine, eval_set_id + "-x", viewer=None)
            assert message == absent.replace(eval_set_id + "-x", eval_set_id), "forbidden answers like absent"
            assert counts.warehouse_counts(engine, eval_set_id, viewer=viewer) == {}


@pytest.mark.parametrize("viewer", VIEWERS, ids=IDS)
def test_sample_readers(access_world: AccessWorld, viewer: Principal | None) -> None:
    engine, visible = access_world.engine, _sees(viewer)
    expected = {u for es in visible for u in access_world.uuids[es]}
    everything = SampleFilter(limit=100)
    page = queries.list_samples(engine, everything, viewer=viewer)
    assert {r["uuid"] for r in page.rows} == expected and page.total == len(expected)
    # a filter naming eval sets, a task, a status, a text search, a score range: never more than visible
    for f in (
        SampleFilter(eval_set_ids=list(EVAL_SETS), limit=100),
        SampleFilter(eval_set_ids=["es-gamma"], limit=100),
        SampleFilter(task="addition", statuses=["success"], limit=100),
        SampleFilter(text="+", limit=100),
        SampleFilter(score_min=-1e9, limit=100),
        SampleFilter(limit=1, offset=1, sort="uuid", descending=True),
    ):
        listed = queries.list_samples(engine, f, viewer=viewer)
        unrestricted = queries.list_samples(engine, f, viewer=None)
        allowed = {r["uuid"] for r in queries.iter_samples(engine, f, viewer=None)} & expected
        assert listed.total == len(allowed) <= unrestricted.total, f
        assert {r["uuid"] for r in listed.rows} <= allowed
    assert {r["uuid"] for r in queries.iter_samples(engine, everything, viewer=viewer)} == expected
    out = io.StringIO()
    assert queries.export_samples_csv(engine, everything, out, viewer=viewer) == len(expected)
    assert len(out.getvalue().splitlines()) == len(expected) + 1
    page_sql, count_sql = queries.sample_statements(everything, viewer=viewer)
    with engine.connect() as conn:
        assert conn.execute(count_sql).scalar_one() == len(expected)
        assert {r.uuid for r in conn.execute(page_sql)} == expected
    # scorers: listed only for visible samples; asking for one elsewhere is an unknown scorer
    labels = queries.scorer_labels(engine, SampleFilter(), viewer=viewer)
    assert bool(labels) == bool(visible)
    if visible:
        scorer = labels[0]
        queries.require_scorer(engine, SampleFilter(scorer=scorer), viewer=viewer)
    else:
        _unknown(queries.require_scorer, engine, SampleFilter(scorer="match"), viewer=viewer)


@pytest.mark.parametrize("viewer", VIEWERS, ids=IDS)
def test_one_sample_and_its_transcript(access_world: AccessWorld, viewer: Principal | None) -> None:
    engine, visible = access_world.engine, _sees(viewer)
    absent = _unknown(queries.sample_location, engine, "no-such-uuid", viewer=None)
    for eval_set_id, uuids in access_world.uuids.items():
        for uuid in uuids:
            if eval_set_id in visible:
                assert queries.sample_location(engine, uuid, viewer=viewer)["eval_set_id"] == eval_set_id
                transcript = sample_transcript(engine, uuid, viewer=viewer)
                assert transcript.sample["uuid"] == uuid and "# Sample" in transcript.markdown()
            else:
                for read in (queries.sample_location, sample_transcript):
                    assert _unknown(read, engine, uuid, viewer=viewer) == absent.replace("no-such-uuid", uuid)


@pytest.mark.parametrize("viewer", VIEWERS, ids=IDS)
def test_scan_readers(access_world: AccessWorld, viewer: Principal | None) -> None:
    engine, sees = access_world.engine, _sees_scan(viewer)
    listed = queries.list_scans(engine, viewer=viewer)
    assert [r["scan_id"] for r in listed.rows] == ([SCAN_ID] if sees else []) and listed.total == int(sees)
    assert queries.list_scans(engine, search="scan", viewer=viewer).total == int(sees)
    per_cell = queries.scanner_counts(engine, SCAN_ID, viewer=viewer)
    if sees:
        assert {r["eval_set_id"] for r in per_cell} == set(SCAN_SOURCES)
        assert sum(r["scanned"] for r in per_cell) == listed.rows[0]["scanned"] == 2 * SAMPLES_PER_EVAL_SET
        out = io.StringIO()
        assert (
            queries.export_scanner_results_csv(engine, SCAN_ID, out, viewer=viewer)
            == 4 * SAMPLES_PER_EVAL_SET
        )
        keyed = io.StringIO()
        assert queries.export_scanner_results_csv(
            engine, SCAN_ID, keyed, scanner_key="test_labels", viewer=viewer
        )
    else:
        assert per_cell == []
        absent = _unknown(queries.export_scanner_results_csv, engine, "scan-x", io.StringIO())
        for key in (None, "test_labels"):
            out = io.StringIO()
            denied = _unknown(
                queries.export_scanner_results_csv, engine, SCAN_ID, out, scanner_key=key, viewer=viewer
            )
            assert denied == absent.replace("scan-x", SCAN_ID) and out.getvalue() == ""
