"""Changing the model-groups file changes what a user sees, once ``refresh_model_groups`` (``hawk access refresh``)
has run; a broken file refuses submissions and the refresh, changing nothing."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import text

from hawk_dagster.access.principal import principal_from_permissions
from hawk_dagster.access.settings import AccessSettings
from hawk_dagster.access.stored_groups import GROUPS_FILE, read_stored_groups, refresh_model_groups
from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.read.queries import SampleFilter, list_eval_sets, list_samples, list_scans
from tests.access.conftest import RULES, SCAN_ID, AccessWorld, build_access_world
from tests.conftest import _create_database, _drop_database

SETTINGS = AccessSettings()


@pytest.fixture
def world(
    request: pytest.FixtureRequest, tmp_path: Path, warehouse_url: str, _migrated_template: str
) -> Iterator[AccessWorld]:
    """A fresh world per test (they change it); with the scan only where the test reads it."""
    name = f"test_refresh_{uuid.uuid4().hex[:12]}"
    engine = create_warehouse_engine(_create_database(warehouse_url, name, _migrated_template))
    try:
        yield build_access_world(tmp_path, engine, with_scan=request.node.name.startswith("test_changing"))
    finally:
        engine.dispose()
        _drop_database(warehouse_url, name)


def _user(*groups: str):  # type: ignore[no-untyped-def]
    return principal_from_permissions("u", [f"model-access-{g}" for g in groups], SETTINGS)


def _eval_sets(world: AccessWorld, *groups: str) -> set[str]:
    return {r["eval_set_id"] for r in list_eval_sets(world.engine, viewer=_user(*groups)).rows}


def test_changing_the_file_changes_what_users_see(world: AccessWorld) -> None:
    alpha, gamma, alpha_beta = ("alpha",), ("gamma",), ("alpha", "beta")
    assert _eval_sets(world, *alpha) == {"es-alpha"} and _eval_sets(world, *gamma) == {"es-gamma"}
    assert list_scans(world.engine, viewer=_user(*alpha_beta)).total == 1

    # gamma's models join alpha; beta's move to a new group "partner"
    world.storage.path("model-groups.yaml").write_text(
        RULES.replace('alpha: ["hawk-mock/alpha*"]', 'alpha: ["hawk-mock/alpha*", "hawk-mock/gamma*"]')
        .replace('  gamma: ["hawk-mock/gamma*"]\n', "")
        .replace("beta: [", "partner: [")
    )
    assert _eval_sets(world, *alpha) == {"es-alpha"}, "nothing changes before the refresh"

    report = refresh_model_groups(world.storage, world.engine)
    assert sorted(report.eval_sets_rewritten) == ["es-alpha", "es-beta", "es-gamma", "es-none"]
    assert report.scans_rewritten == [SCAN_ID]
    assert (report.warehouse_eval_sets_updated, report.warehouse_scans_updated) == (2, 1)

    assert _eval_sets(world, *alpha) == {"es-alpha", "es-gamma"}
    assert _eval_sets(world, *gamma) == set(), "a group the file no longer names grants nothing"
    assert _eval_sets(world, "beta") == set() and _eval_sets(world, "partner") == {"es-beta"}
    gamma_samples = list_samples(world.engine, SampleFilter(eval_set_ids=["es-gamma"]), viewer=_user(*alpha))
    assert gamma_samples.total == len(world.uuids["es-gamma"])
    assert list_scans(world.engine, viewer=_user(*alpha_beta)).total == 0
    assert list_scans(world.engine, viewer=_user("alpha", "partner")).total == 1
    stored = read_stored_groups(world.storage, "scans", SCAN_ID)
    assert stored is not None and stored.groups == ("alpha", "partner")

    again = refresh_model_groups(world.storage, world.engine)
    assert again.eval_sets_rewritten == again.scans_rewritten == []
    assert (again.warehouse_eval_sets_updated, again.warehouse_scans_updated) == (0, 0)


def test_rows_without_stored_groups_are_computed_from_their_submission(world: AccessWorld) -> None:
    """An eval set from before access control (no file, the migration's closed default) gets its groups."""
    world.storage.path("evals", "es-beta", GROUPS_FILE).unlink()
    with world.engine.begin() as conn:
        conn.execute(text("UPDATE eval_set SET model_groups = '{restricted}' WHERE eval_set_id = 'es-beta'"))
    assert _eval_sets(world, "beta") == set()
    report = refresh_model_groups(world.storage, world.engine)
    assert report.eval_sets_rewritten == ["es-beta"]
    assert _eval_sets(world, "beta") == {"es-beta"}


def test_a_broken_file_changes_nothing(world: AccessWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    from hawk_dagster.cli.main import cli
    from hawk_dagster.config.loader import load_eval_set_config
    from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
    from hawk_dagster.intake.watch import SubmitRefused
    from hawk_dagster.storage.submissions import Submission

    world.storage.path("model-groups.yaml").write_text("groups:\n  frontier: [gpt-5]\n")
    monkeypatch.setenv("HAWK_STORAGE_ROOT", world.storage.uri)
    result = CliRunner().invoke(cli, ["access", "refresh", "--no-warehouse"])
    assert (
        result.exit_code == 2 and "groups.frontier[0]" in result.output and "provider/model" in result.output
    )
    assert _eval_sets(world, "alpha") == {"es-alpha"}

    config = "eval_set_id: es-late\ntasks:\n  - package: inspect-ai\n    items:\n      - name: t\n"
    loaded = load_eval_set_config("late.yaml", text=config)
    with pytest.raises(SubmitRefused, match="model-groups file"):
        EVAL_SET_CONFIGS_KIND.submit(world.storage, loaded, Submission.new("es-late", config, source="late.yaml", base_dir=None))  # fmt: skip
    assert not world.storage.path("evals", "es-late").exists(), "nothing written"
