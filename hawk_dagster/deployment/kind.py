"""Which deployment the code location serves: ``local`` (a laptop, ``hawk local``/``hawk dev``) or ``kubernetes``.

Read from ``HAWK_DEPLOYMENT`` when the definitions are built. An eval set runs through the same assets, resources and
runner in both; only what surrounds the runs differs (see ``hawk_dagster.definitions``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final, Literal, get_args

DEPLOYMENT_ENV: Final = "HAWK_DEPLOYMENT"
Deployment = Literal["local", "kubernetes"]
LOCAL: Final = "local"
KUBERNETES: Final = "kubernetes"


def deployment_from_env(environ: Mapping[str, str] = os.environ) -> Deployment:
    """``HAWK_DEPLOYMENT`` (default ``local``); any other value is an error rather than a silent local deployment."""
    value = environ.get(DEPLOYMENT_ENV, "").strip().lower() or LOCAL
    if value == LOCAL:
        return LOCAL
    if value == KUBERNETES:
        return KUBERNETES
    allowed = ", ".join(get_args(Deployment))
    raise ValueError(f"{DEPLOYMENT_ENV}={value!r} is not a deployment hawk knows; use one of: {allowed}")
