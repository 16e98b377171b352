"""The one access rule, in Python and in SQL: a principal may view what requires only groups they hold.

- view: every required group held (an administrator views everything). An empty requirement is *not* open: nothing
  stored is ever empty (requirements fall back to the default group; the warehouse refuses an empty array), and an
  empty one reaching here is refused too, so a bug upstream fails closed.
- submit/run: the same rule over the groups of the config (a scan's includes its sources').
- edit: view + the edit permission (or administrator).
- delete: the submitter or an administrator (callers check view first, so a forbidden id answers like an absent one).

``can_view`` and ``visible_clause`` are the same rule; a test runs both on the same cases. The SQL form is
``cardinality(groups) > 0 AND groups <@ :held`` (array contained-by), which a GIN index on the column serves.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import Text, and_, bindparam, func, true, type_coerce
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql import ColumnElement

from hawk_dagster.access.principal import Principal


def can_view(principal: Principal, required_groups: Collection[str]) -> bool:
    """Whether ``principal`` may see something that requires ``required_groups``."""
    if principal.is_admin:
        return True
    required = frozenset(required_groups)
    return bool(required) and required <= principal.groups


def visible_clause(
    principal: Principal, groups_column: ColumnElement[Any] | InstrumentedAttribute[Any]
) -> ColumnElement[bool]:
    """:func:`can_view` as a SQL condition on a ``text[]`` column of required groups."""
    if principal.is_admin:
        return true()
    column = type_coerce(groups_column, ARRAY(Text))
    held = bindparam(None, sorted(principal.groups), type_=ARRAY(Text))
    return and_(func.cardinality(column) > 0, column.contained_by(held))


def can_submit(principal: Principal, required_groups: Collection[str]) -> bool:
    """Whether ``principal`` may submit (run) a config requiring ``required_groups``: the view rule."""
    return can_view(principal, required_groups)


def can_edit(principal: Principal, required_groups: Collection[str]) -> bool:
    """Whether ``principal`` may edit what requires ``required_groups``: view plus the edit permission."""
    return can_view(principal, required_groups) and (principal.can_edit or principal.is_admin)


def can_delete(principal: Principal, created_by: str | None) -> bool:
    """Whether ``principal`` may delete what ``created_by`` submitted: the submitter or an administrator.

    Callers decide visibility first (an invisible id answers 404 like an absent one).
    """
    if principal.is_admin:
        return True
    return bool(created_by) and created_by == principal.subject
