"""Who is asking: a signed-in user's model groups and powers, read from their token's permissions once.

Typed against a small protocol rather than ``hawk_dagster.auth.tokens.VerifiedToken`` so this module needs nothing
of sign-in (the CLI's local reads never build a principal; they pass ``viewer=None``).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol

from hawk_dagster.access.settings import AccessSettings


class TokenFacts(Protocol):
    """What a verified token tells us (``hawk_dagster.auth.tokens.VerifiedToken`` has these)."""

    @property
    def subject(self) -> str: ...

    @property
    def permissions(self) -> Collection[str]: ...

    @property
    def display_name(self) -> str: ...


@dataclass(frozen=True)
class Principal:
    """A user as access control sees them.

    ``groups`` are the model groups held (permissions ``<prefix><group>`` with the prefix removed); ``is_admin``
    sees, edits and deletes everything; ``can_edit`` may edit what they can view.
    """

    subject: str
    groups: frozenset[str]
    permissions: frozenset[str]
    is_admin: bool
    can_edit: bool
    display_name: str = ""


LOCAL_ADMIN = Principal(
    subject="local",
    groups=frozenset(),
    permissions=frozenset(),
    is_admin=True,
    can_edit=True,
    display_name="local user",
)
"""The local user of ``hawk serve`` without an issuer (loopback only): the owner of the machine and its files."""


def principal_from_permissions(
    subject: str, permissions: Collection[str], settings: AccessSettings, *, display_name: str = ""
) -> Principal:
    """A principal from a subject and its permission names (exact, case-sensitive matches only)."""
    held = frozenset(p for p in permissions if isinstance(p, str))
    prefix = settings.group_prefix
    groups = frozenset(p[len(prefix) :] for p in held if p.startswith(prefix) and len(p) > len(prefix))
    return Principal(
        subject=subject,
        groups=groups,
        permissions=held,
        is_admin=settings.admin_permission in held,
        can_edit=settings.edit_permission in held,
        display_name=display_name or subject,
    )


def principal_from_token(token: TokenFacts, settings: AccessSettings) -> Principal:
    """The principal a verified token speaks for."""
    return principal_from_permissions(
        token.subject, token.permissions, settings, display_name=token.display_name
    )
