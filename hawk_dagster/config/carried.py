"""What the config loaders need to know about carried files (``carried_files``), without the storage behind them.

The deployment resolves a config's ``carried_files`` id to a local folder (``hawk_dagster.storage.carried``) and hands
the loaders that lookup as a :data:`CarriedResolver`; this module is the whole contract, so the loaders stay free of
storage code.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

CarriedResolver = Callable[[str], Path]
"""A carried-files id -> the local folder the config's relative paths resolve against (raises
:class:`CarriedFilesError`)."""


class CarriedFilesError(Exception):
    """The files a config's ``carried_files`` names cannot be used (missing, incomplete or altered); says why."""
