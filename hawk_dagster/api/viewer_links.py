"""Links into Inspect's viewer as ``hawk serve`` serves it (``/viewer``, its log API at ``/api``): one place builds
them, for the results pages, ``hawk view-sample`` and ``hawk web``.

Paths are relative to the storage root's ``evals/`` folder (the viewer mount's file mapping): the eval set's folder
is ``log_dir``, a log is ``<eval_set_id>/<file>``. The fragment is the viewer's own route
(``#/logs/<log>/samples/sample/<id>/<epoch>/``), each segment percent-encoded as the viewer encodes it.
``inspect_server=true`` makes the viewer read through the log API; without it, it looks for static log files beside
its page and finds none.
No Inspect import: the CLI builds these links.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import quote, urlencode

VIEWER_PATH: Final = "/viewer/"


def log_path(evals_root: str, location: str) -> str | None:
    """A log's path as the viewer names it (``<eval_set_id>/<file>``), from its location (a path or URI under
    ``evals_root``); None when the log is not under it."""
    root = evals_root.rstrip("/")
    for prefix in (f"{root}/", f"file://{root}/"):
        if location.startswith(prefix):
            return location[len(prefix) :]
    return None


def eval_set_viewer_url(base_url: str, eval_set_id: str) -> str:
    """The viewer listing one eval set's logs."""
    query = urlencode({"inspect_server": "true", "log_dir": eval_set_id})
    return f"{base_url.rstrip('/')}{VIEWER_PATH}?{query}"


def log_viewer_url(base_url: str, log: str) -> str:
    """The viewer open on one log (``log`` as :func:`log_path` gives it)."""
    eval_set_id = log.split("/", 1)[0]
    return f"{eval_set_viewer_url(base_url, eval_set_id)}#/logs/{quote(log, safe='/')}/"


def sample_viewer_url(base_url: str, log: str, sample_id: str | int, epoch: int) -> str:
    """The viewer open on one sample of one log (``log`` as :func:`log_path` gives it)."""
    eval_set_id = log.split("/", 1)[0]
    fragment = f"#/logs/{quote(log, safe='/')}/samples/sample/{quote(str(sample_id), safe='')}/{epoch}/"
    return eval_set_viewer_url(base_url, eval_set_id) + fragment
