"""What ``hawk web`` and ``hawk view-sample`` open: ``hawk serve``'s default address, an eval set's results page, and
which log of an eval set a sample's viewer link names (the viewer URL itself: ``api.viewer_links``).

No FastAPI here (the CLI imports it): plain strings.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Final
from urllib.parse import quote

from hawk_dagster.api.viewer_links import log_path

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080
LOCAL_BASE_URL: Final = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
"""Where ``hawk serve`` (and ``hawk dev``'s API) listen by default."""


def eval_set_page(base_url: str, eval_set_id: str) -> str:
    return f"{base_url.rstrip('/')}/eval-sets/{quote(eval_set_id, safe='')}"


def viewer_log(evals_root: str, eval_set_id: str, location: str) -> str:
    """The log at ``location`` as the viewer names it (``<eval_set_id>/<file>``); a log the warehouse recorded
    outside ``evals_root`` (imported from another copy of the root) by its file name in the eval set's folder."""
    return log_path(evals_root, location) or f"{eval_set_id}/{PurePosixPath(location).name}"
