"""An eval set's log folder as the runner leaves it and reads it on resume, by the one rule of which log of a task
counts (:mod:`hawk_runner.log_choice`).

- :func:`set_aside_superseded`: a killed run leaves a ``started`` log that Inspect's resume does not remove (another
  process wrote it), so the folder would hold two logs of one task and mislead whoever browses it. Once the task's
  newest log has finished, the older ones are moved to ``superseded/`` and renamed ``<name>.superseded``. Inspect's
  ``eval_set`` needs only each task's newest log to resume (every attempt's log is seeded from the previous one, so an
  older log holds nothing the newest lacks), and it lists the folder recursively by extension: a moved log still
  named ``.eval`` would be listed again, and on S3 (where a move is a copy with a new modification time) taken for the
  newest. Scout's transcript index reads the folder the same way, so set-aside logs are not scanned twice either.
- :func:`reusable_samples`: the samples a resume will reuse, so progress starts from them instead of 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hawk_runner.log_choice import newest_per_task, preference

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog, EvalLogInfo

SUPERSEDED_DIR = "superseded"
SUPERSEDED_SUFFIX = ".superseded"

Logged = tuple["EvalLog", "EvalLogInfo"]


def task_logs(log_dir: str) -> tuple[dict[str, Logged], list[Logged]]:
    """Each task's log that counts and the superseded rest (headers only; the folder itself, not ``superseded/``)."""
    from inspect_ai.log import list_eval_logs, read_eval_log

    logs = [
        (read_eval_log(info, header_only=True), info) for info in list_eval_logs(log_dir, recursive=False)
    ]

    def key(logged: Logged) -> Any:
        header, info = logged
        completed = header.results.completed_samples if header.results is not None else 0
        return preference(header.eval.created, header.status, completed, _file_name(info.name))

    return newest_per_task(logs, lambda logged: logged[0].eval.task_id, key)


def set_aside_superseded(log_dir: str) -> list[str]:
    """Move the superseded logs of tasks whose newest log has finished to ``superseded/<name>.superseded``; returns
    the file names moved. A task whose newest log is still ``started`` keeps all its logs (its run may be alive)."""
    from inspect_ai._util.file import filesystem
    from inspect_ai.log import write_log_dir_manifest

    newest, superseded = task_logs(log_dir)
    finished = {task_id for task_id, (header, _) in newest.items() if header.status != "started"}
    fs = filesystem(log_dir)
    moved: list[str] = []
    for header, info in superseded:
        if header.eval.task_id not in finished:
            continue
        folder, name = info.name.rstrip("/").rsplit("/", 1)  # as listed (a file:// or s3:// URI)
        target_dir = f"{folder}/{SUPERSEDED_DIR}"
        fs.mkdir(target_dir, exist_ok=True)
        fs.mv(info.name, f"{target_dir}/{name}{SUPERSEDED_SUFFIX}")
        moved.append(name)
    if moved:
        write_log_dir_manifest(
            log_dir
        )  # Inspect's view reads the folder's manifest: drop the moved logs from it
    return moved


def reusable_samples(log_dir: str) -> dict[str, int]:
    """Per task id, the finished samples a resume reuses from the task's log that counts: samples without an error
    in a log that did not finish (a successful log is reused whole, and then its task does not run at all)."""
    from inspect_ai.log import read_eval_log_sample_summaries

    newest, _ = task_logs(log_dir)
    reusable: dict[str, int] = {}
    for task_id, (header, info) in newest.items():
        if header.status == "success":
            continue
        summaries = read_eval_log_sample_summaries(info)
        reusable[task_id] = sum(1 for s in summaries if s.error is None)
    return reusable


def _file_name(location: str) -> str:
    return location.rstrip("/").rsplit("/", 1)[-1]
