"""The user a request acts for, as the access rules see them.

Interim copy of the contract in /work/coord/INTERFACES.md, so the server can be built before the `access` branch
lands; that branch's module replaces this one when merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.auth.tokens import VerifiedToken


@dataclass(frozen=True)
class Principal:
    subject: str
    groups: frozenset[str]
    permissions: frozenset[str]
    is_admin: bool
    can_edit: bool


LOCAL_ADMIN = Principal(
    subject="local", groups=frozenset(), permissions=frozenset(), is_admin=True, can_edit=True
)
"""The local user of a ``hawk serve`` without an issuer (bound to loopback only)."""


def principal_from_token(token: VerifiedToken, settings: AccessSettings) -> Principal:
    """The principal a verified token's subject and permissions make."""
    subject, permissions = token.subject, token.permissions
    prefix = settings.group_permission_prefix
    return Principal(
        subject=subject,
        groups=frozenset(
            p[len(prefix) :] for p in permissions if p.startswith(prefix) and len(p) > len(prefix)
        ),
        permissions=permissions,
        is_admin=settings.admin_permission in permissions,
        can_edit=settings.edit_permission in permissions or settings.admin_permission in permissions,
    )
