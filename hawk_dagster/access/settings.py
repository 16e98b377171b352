"""Access-control settings: permission names, the default group and where the model-groups file lives.

Read from the environment once per process (``access_settings_from_env``); every name is configurable because
identity providers differ in how they spell permissions, but the defaults match the reference system's
(``model-access-<group>``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

from hawk_dagster.storage.root import StorageRoot

MODEL_GROUPS_FILE_ENV = "HAWK_MODEL_GROUPS_FILE"
GROUP_PREFIX_ENV = "HAWK_MODEL_ACCESS_PREFIX"
EDIT_PERMISSION_ENV = "HAWK_EDIT_PERMISSION"
ADMIN_PERMISSION_ENV = "HAWK_ADMIN_PERMISSION"
DEFAULT_GROUP_ENV = "HAWK_DEFAULT_MODEL_GROUP"

DEFAULT_GROUP_PREFIX = "model-access-"
DEFAULT_EDIT_PERMISSION = "hawk:edit"
DEFAULT_ADMIN_PERMISSION = "hawk:admin"
DEFAULT_GROUP = "restricted"
MODEL_GROUPS_FILE = "model-groups.yaml"
"""The model-groups file's name in the storage root, unless ``HAWK_MODEL_GROUPS_FILE`` says otherwise."""

GROUP_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")
"""A group name: letters, digits, '.', '_', ':', '-' (at most 100 characters, starting with a letter or digit)."""
GROUP_NAME_ALLOWED = (
    "a name of letters, digits, '.', '_', ':' or '-' (at most 100 characters, starting alphanumeric)"
)

OPEN_GROUP_NAMES = frozenset({"public", "everyone", "all", "any", "anonymous", "*"})
"""Names refused for the default group: a model nobody classified must never read as open to all."""


class AccessSettingsError(ValueError):
    """A setting that cannot be used; the message names the variable and what is allowed."""


@dataclass(frozen=True)
class AccessSettings:
    """How permissions map to access: ``<group_prefix><group>`` grants a model group, ``edit_permission`` allows
    editing what one can view, ``admin_permission`` sees and deletes everything.

    ``default_group`` is the group of a model no pattern of the file matches (the file's own ``default_group``
    overrides it). ``groups_file`` is a local path or URI; ``None`` means ``<storage root>/model-groups.yaml``.
    """

    group_prefix: str = DEFAULT_GROUP_PREFIX
    edit_permission: str = DEFAULT_EDIT_PERMISSION
    admin_permission: str = DEFAULT_ADMIN_PERMISSION
    default_group: str = DEFAULT_GROUP
    groups_file: str | None = None

    def __post_init__(self) -> None:
        for field, value in (
            ("group_prefix", self.group_prefix),
            ("edit_permission", self.edit_permission),
            ("admin_permission", self.admin_permission),
        ):
            if not value or value != value.strip():
                raise AccessSettingsError(f"{field}: must be a non-empty name without surrounding spaces")
        check_default_group(self.default_group, field=DEFAULT_GROUP_ENV)

    def groups_file_location(self, storage: StorageRoot) -> str:
        """Where the model-groups file is read from: the setting, else the storage root's ``model-groups.yaml``."""
        if self.groups_file:
            return self.groups_file
        return storage.uri_of(MODEL_GROUPS_FILE)


def check_default_group(name: str, *, field: str) -> None:
    """Refuse a default group that is not a group name, or whose name suggests everyone may see."""
    if not GROUP_NAME_RE.match(name):
        raise AccessSettingsError(f"{field}: {name!r} is not a group name; expected {GROUP_NAME_ALLOWED}")
    if name.lower() in OPEN_GROUP_NAMES:
        raise AccessSettingsError(
            f"{field}: {name!r} would read as open to everyone; the default group holds models nobody classified, "
            f"so name a restricted group (e.g. {DEFAULT_GROUP!r})"
        )


def access_settings_from_env(environ: Mapping[str, str] = os.environ) -> AccessSettings:
    """Settings from ``HAWK_MODEL_GROUPS_FILE``, ``HAWK_MODEL_ACCESS_PREFIX``, ``HAWK_EDIT_PERMISSION``,
    ``HAWK_ADMIN_PERMISSION`` and ``HAWK_DEFAULT_MODEL_GROUP`` (unset or empty: the default)."""

    def get(name: str, default: str) -> str:
        value = environ.get(name, "").strip()
        return value or default

    groups_file = environ.get(MODEL_GROUPS_FILE_ENV, "").strip() or None
    if groups_file is not None and "://" not in groups_file:
        groups_file = os.path.abspath(os.path.expanduser(groups_file))
    return AccessSettings(
        group_prefix=get(GROUP_PREFIX_ENV, DEFAULT_GROUP_PREFIX),
        edit_permission=get(EDIT_PERMISSION_ENV, DEFAULT_EDIT_PERMISSION),
        admin_permission=get(ADMIN_PERMISSION_ENV, DEFAULT_ADMIN_PERMISSION),
        default_group=get(DEFAULT_GROUP_ENV, DEFAULT_GROUP),
        groups_file=groups_file,
    )
