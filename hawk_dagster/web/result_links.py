"""Links the eval-set, compare and scan pages give: a cell's samples on the samples page, one sample's page, a log in
Inspect's viewer on the same origin (``api.viewer_links``; none when ``hawk serve`` runs without the viewer or the log
lies outside the storage root's ``evals/``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

from hawk_dagster.api.viewer_links import log_path, log_viewer_url

if TYPE_CHECKING:
    from fastapi import Request


def samples_url(
    eval_set_ids: str | Sequence[str],
    *,
    task: str | None = None,
    task_id: str | None = None,
    model: str | None = None,
    status: str | None = None,
) -> str:
    """The samples page filtered to these eval sets (and task, task id, model, status): the page's own parameter
    names."""
    ids = [eval_set_ids] if isinstance(eval_set_ids, str) else list(eval_set_ids)
    params = [("eval_set_id", i) for i in ids]
    chosen = (("task", task), ("task_id", task_id), ("model", model), ("status", status))
    params += [(name, value) for name, value in chosen if value]
    return f"/samples?{urlencode(params)}"


def sample_url(uuid: str) -> str:
    return f"/samples/{quote(uuid, safe='')}"


def eval_set_url(eval_set_id: str) -> str:
    return f"/eval-sets/{quote(eval_set_id, safe='')}"


def viewer_url(request: Request, location: str) -> str | None:
    """The log at ``location`` in Inspect's viewer as ``hawk serve`` mounts it, or None."""
    settings = request.app.state.settings
    if not settings.log_viewer:
        return None
    log = log_path(settings.storage.uri_of("evals"), location)
    return None if log is None else log_viewer_url("", log)
