"""Deleting an eval set on a real warehouse: who may, what is hidden, what stays, and that re-imports keep it hidden."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from inspect_ai import eval as inspect_eval

from hawk_dagster.access.principal import LOCAL_ADMIN, Principal
from hawk_dagster.evals.deletion import DeletionNotAllowedError, delete_eval_set, plan_deletion
from hawk_dagster.evals.warehouse_import import import_eval_set_logs
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import Submission, write_submission
from hawk_dagster.warehouse.engine import create_warehouse_engine
from hawk_dagster.warehouse.read.queries import SampleFilter, UnknownIdError, list_eval_sets, list_samples
from tests.grids import EXAMPLES

CONFIG = "tasks:\n  - package: inspect-ai\n    items: [{name: addition}]\n"


def _user(subject: str, *groups: str) -> Principal:
    return Principal(
        subject=subject, groups=frozenset(groups), permissions=frozenset(), is_admin=False, can_edit=False
    )


@pytest.fixture
def world(tmp_path: Path, make_database: Callable[..., str]) -> tuple[StorageRoot, sa.Engine]:
    spec = importlib.util.spec_from_file_location("arithmetic_deletion", EXAMPLES / "tasks" / "arithmetic.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    storage = StorageRoot(str(tmp_path))
    inspect_eval(
        module.addition(n=3), model="hawk-mock/alpha", log_dir=storage.eval_log_dir("es-1"), display="none"
    )
    write_submission(
        storage, Submission.new("es-1", CONFIG, source="g.yaml", base_dir=None, created_by="alice")
    )
    engine = create_warehouse_engine(make_database())
    import_eval_set_logs(engine, storage, "es-1")
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE eval_set SET model_groups = '{alpha}' WHERE eval_set_id = 'es-1'"))
    return storage, engine


def test_only_the_submitter_or_an_administrator_may_delete(world: tuple[StorageRoot, sa.Engine]) -> None:
    storage, engine = world
    with pytest.raises(DeletionNotAllowedError, match=r"only its submitter \(alice\) or an administrator"):
        plan_deletion(storage, "es-1", principal=_user("bob", "alpha"), instance=None, engine=engine)
    # One who may not see it is told it does not exist, word for word as for an id that does not.
    with pytest.raises(UnknownIdError) as hidden:
        plan_deletion(storage, "es-1", principal=_user("carol"), instance=None, engine=engine)
    with pytest.raises(UnknownIdError) as absent:
        plan_deletion(storage, "es-2", principal=_user("carol"), instance=None, engine=engine)
    assert str(hidden.value).replace("es-1", "X") == str(absent.value).replace("es-2", "X")
    assert plan_deletion(storage, "es-1", principal=_user("alice", "alpha"), instance=None, engine=engine)
    assert plan_deletion(storage, "es-1", principal=LOCAL_ADMIN, instance=None, engine=engine)


def test_deleted_eval_sets_leave_listings_but_keep_rows_and_logs(
    world: tuple[StorageRoot, sa.Engine],
) -> None:
    storage, engine = world
    plan = plan_deletion(storage, "es-1", principal=_user("alice", "alpha"), instance=None, engine=engine)
    assert (plan.created_by, plan.in_warehouse, plan.active_runs, plan.deleted_at) == (
        "alice",
        True,
        (),
        None,
    )

    result = delete_eval_set(plan, deleted_by="alice", instance=None, engine=engine)

    assert (result.stopped, result.not_stopped, result.sandbox_deleted) == ((), (), False)
    assert list_eval_sets(engine).total == 0
    (row,) = list_eval_sets(engine, include_deleted=True).rows
    assert row["eval_set_id"] == "es-1" and row["deleted_by"] == "alice" and row["deleted_at"] is not None
    assert list_samples(engine, SampleFilter(eval_set_ids=["es-1"])).total == 0
    assert list_samples(engine, SampleFilter()).total == 0
    assert list_samples(engine, SampleFilter(eval_set_ids=["es-1"], include_deleted=True)).total == 3
    assert list(Path(storage.eval_log_dir("es-1")).glob("*.eval")), "the logs are kept"

    # An import after the deletion (a stopped run's last import) does not bring it back; deleting again keeps the
    # first deletion's time and author.
    import_eval_set_logs(engine, storage, "es-1")
    assert list_eval_sets(engine).total == 0
    again = plan_deletion(storage, "es-1", principal=LOCAL_ADMIN, instance=None, engine=engine)
    assert again.deleted_at == row["deleted_at"].isoformat()
    delete_eval_set(again, deleted_by="root", instance=None, engine=engine)
    (after,) = list_eval_sets(engine, include_deleted=True).rows
    assert (after["deleted_at"], after["deleted_by"]) == (row["deleted_at"], "alice")


def test_an_eval_set_not_imported_yet_stays_hidden_once_imported(
    world: tuple[StorageRoot, sa.Engine],
) -> None:
    storage, engine = world
    write_submission(
        storage, Submission.new("es-new", CONFIG, source="g.yaml", base_dir=None, created_by="dan")
    )
    plan = plan_deletion(storage, "es-new", principal=LOCAL_ADMIN, instance=None, engine=engine)
    assert (plan.created_by, plan.in_warehouse) == ("dan", False)
    delete_eval_set(plan, deleted_by="root", instance=None, engine=engine)
    (row,) = [r for r in list_eval_sets(engine, include_deleted=True).rows if r["eval_set_id"] == "es-new"]
    assert (row["created_by"], row["deleted_by"]) == ("dan", "root")
    assert [r["eval_set_id"] for r in list_eval_sets(engine).rows] == ["es-1"]
