"""Access settings (interim copy of the contract in /work/coord/INTERFACES.md; the `access` branch replaces it)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True)
class AccessSettings:
    group_permission_prefix: str = "model-access-"
    edit_permission: str = "hawk:edit"
    admin_permission: str = "hawk:admin"


def access_settings_from_env(environ: Mapping[str, str] = os.environ) -> AccessSettings:
    """The defaults (the `access` branch reads HAWK_* variables)."""
    return AccessSettings()
