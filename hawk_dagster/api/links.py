"""Links into what ``hawk serve`` shows: an eval set's results page and a sample in Inspect's viewer.

One place for their shape, used by ``hawk web`` / ``hawk view-sample`` and the API's one-sample answer. No FastAPI
here (the CLI imports it): plain strings.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Final
from urllib.parse import quote, urlencode

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8080
LOCAL_BASE_URL: Final = f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"
"""Where ``hawk serve`` (and ``hawk dev``'s API) listen by default."""


def eval_set_page(base_url: str, eval_set_id: str) -> str:
    return f"{base_url.rstrip('/')}/eval-sets/{quote(eval_set_id, safe='')}"


def viewer_sample(base_url: str, eval_set_id: str, log_file: str, sample_id: str | int, epoch: int) -> str:
    """Inspect's viewer (``api.viewer``) on the eval set's folder, opened at one sample of ``log_file`` (a path
    relative to that folder, as the viewer's routes name logs)."""
    query = urlencode({"log_dir": eval_set_id})
    file = "/".join(quote(part, safe="") for part in log_file.split("/"))
    sample = quote(str(sample_id), safe="")
    return f"{base_url.rstrip('/')}/viewer/?{query}#/logs/{file}/samples/sample/{sample}/{epoch}/"


def log_file_in(log_dir: str, location: str) -> str:
    """``location`` relative to the eval set's log folder ``log_dir`` (a path or URI); its file name when it lies
    elsewhere (a log imported from another folder is still named by the viewer as the eval set's file)."""
    for root in (log_dir.rstrip("/"), "file://" + log_dir.rstrip("/")):
        if location.startswith(root + "/"):
            return location[len(root) + 1 :]
    return PurePosixPath(location).name
