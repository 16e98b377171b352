"""The one access rule: its Python and SQL forms agree on every case, the empty requirement included."""

from __future__ import annotations

import itertools

import pytest
from sqlalchemy import Column, Engine, Integer, MetaData, Table, Text, insert, select, text
from sqlalchemy.dialects.postgresql import ARRAY

from hawk_dagster.access.policy import can_delete, can_edit, can_submit, can_view, visible_clause
from hawk_dagster.access.principal import LOCAL_ADMIN, Principal, principal_from_permissions
from hawk_dagster.access.settings import AccessSettings

SETTINGS = AccessSettings()

REQUIREMENTS: list[list[str]] = [
    [],
    ["a"],
    ["b"],
    ["a", "b"],
    ["a", "b", "c"],
    ["c"],
    ["a", "a"],
    ["x'; DROP TABLE t; --"],
    ['"quoted"', "a"],
    ["{a,b}"],
    ["%"],
]


def _principal(*permissions: str) -> Principal:
    return principal_from_permissions("user", permissions, SETTINGS)


PRINCIPALS: list[Principal] = [
    _principal(),
    _principal("model-access-a"),
    _principal("model-access-a", "model-access-b"),
    _principal("model-access-a", "model-access-b", "model-access-c"),
    _principal("model-access-b", "hawk:edit"),
    _principal("model-access-x'; DROP TABLE t; --"),
    _principal('model-access-"quoted"', "model-access-a"),
    _principal("model-access-{a,b}"),
    _principal("model-access-%"),
    _principal("model-access-"),  # the bare prefix grants nothing
    _principal("MODEL-ACCESS-a"),  # exact, case-sensitive
    _principal("hawk:admin"),
    LOCAL_ADMIN,
]


@pytest.fixture
def requirements_table(warehouse_engine: Engine) -> Table:
    """A plain table of requirement arrays (no CHECK: the empty array must be tested too)."""
    table = Table(
        "requirement_cases",
        MetaData(),
        Column("id", Integer, primary_key=True),
        Column("groups", ARRAY(Text)),
    )
    table.create(warehouse_engine)
    with warehouse_engine.begin() as conn:
        conn.execute(insert(table), [{"id": i, "groups": g} for i, g in enumerate(REQUIREMENTS)])
    return table


def test_python_and_sql_forms_agree(warehouse_engine: Engine, requirements_table: Table) -> None:
    with warehouse_engine.connect() as conn:
        for principal in PRINCIPALS:
            in_sql = set(
                conn.execute(
                    select(requirements_table.c.id).where(
                        visible_clause(principal, requirements_table.c.groups)
                    )
                ).scalars()
            )
            in_python = {i for i, groups in enumerate(REQUIREMENTS) if can_view(principal, groups)}
            assert in_sql == in_python, principal
        assert conn.execute(text("SELECT count(*) FROM requirement_cases")).scalar_one() == len(REQUIREMENTS)


def test_the_rule() -> None:
    nobody, a, ab = PRINCIPALS[0], PRINCIPALS[1], PRINCIPALS[2]
    assert not can_view(nobody, ["a"])
    assert can_view(a, ["a"]) and not can_view(a, ["a", "b"]) and can_view(ab, ["a", "b"])
    # an empty requirement is not "visible to all"; only administrators pass it
    for principal in PRINCIPALS:
        assert can_view(principal, []) is principal.is_admin
    assert can_view(PRINCIPALS[11], ["anything"]) and can_view(LOCAL_ADMIN, ["anything"])
    # SQL metacharacters are names like any other
    assert can_view(PRINCIPALS[5], ["x'; DROP TABLE t; --"]) and not can_view(PRINCIPALS[5], ["x"])
    assert not can_view(PRINCIPALS[8], ["a"])  # '%' is no wildcard
    assert PRINCIPALS[9].groups == frozenset() and PRINCIPALS[10].groups == frozenset()


def test_submit_edit_delete() -> None:
    reader = _principal("model-access-a")
    editor = _principal("model-access-a", "hawk:edit")
    foreign_editor = _principal("model-access-b", "hawk:edit")
    admin = _principal("hawk:admin")
    assert can_submit(reader, ["a"]) and not can_submit(reader, ["a", "b"]) and not can_submit(reader, [])
    assert not can_edit(reader, ["a"]) and can_edit(editor, ["a"])
    assert not can_edit(foreign_editor, ["a"]), "editing needs view too"
    assert can_edit(admin, ["a"])
    assert (
        can_delete(reader, "user") and not can_delete(reader, "someone-else") and not can_delete(reader, None)
    )
    assert not can_delete(_principal("model-access-a", "hawk:edit"), "") and can_delete(admin, "someone-else")


def test_principal_from_permissions_reads_configured_names() -> None:
    settings = AccessSettings(group_prefix="grp:", edit_permission="edit", admin_permission="root")
    principal = principal_from_permissions("s", ["grp:a", "grp:b", "model-access-c", "edit"], settings)
    assert principal.groups == {"a", "b"} and principal.can_edit and not principal.is_admin
    assert principal_from_permissions("s", ["root"], settings).is_admin


@pytest.mark.parametrize("held,required", list(itertools.product([(), ("a",), ("a", "b")], REQUIREMENTS[:5])))
def test_can_submit_is_the_view_rule(held: tuple[str, ...], required: list[str]) -> None:
    principal = _principal(*(f"model-access-{g}" for g in held))
    assert can_submit(principal, required) == can_view(principal, required)
