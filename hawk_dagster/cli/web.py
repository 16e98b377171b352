"""``hawk web`` and ``hawk view-sample``: open what ``hawk serve`` shows of an eval set or a sample in a browser.

The server is ``HAWK_API_URL`` when set (a deployment: ids are checked through its API, with the signed-in user's
access), else the local ``hawk serve`` default address (ids checked in this storage root's warehouse). An id that is
absent, or that the user may not see, exits 2 before any browser opens.
"""

from __future__ import annotations

import click

from hawk_dagster.cli.common import fail_bad_input
from hawk_dagster.cli.warehouse import exits_on_unknown_id

PRINT_HELP = "Print the URL instead of opening a browser."


@click.command("web")
@click.argument("eval_set_id", required=False)
@click.option("--print", "print_only", is_flag=True, help=PRINT_HELP)
@exits_on_unknown_id
def web(eval_set_id: str | None, print_only: bool) -> None:
    """Open EVAL_SET_ID's results page (default: the last eval set run here) in a browser.

    On the deployment at HAWK_API_URL, else on the local `hawk serve` (http://127.0.0.1:8080). Prints the URL when
    no browser is available, or with --print.
    """
    from hawk_dagster.api.links import eval_set_page
    from hawk_dagster.cli.eval_set_target import eval_set_id_or_last
    from hawk_dagster.cli.remote import api_url
    from hawk_dagster.config.ids import validate_eval_set_id

    eval_set_id = eval_set_id_or_last(eval_set_id)
    try:
        validate_eval_set_id(eval_set_id)
    except ValueError as ex:
        fail_bad_input(f"EVAL_SET_ID: {ex}")
    if api_url():
        from hawk_dagster.cli import remote

        remote.get_json(f"/api/v1/eval-sets/{eval_set_id}/evals")  # 404 (absent or not visible): exit 2
    else:
        from hawk_dagster.cli.warehouse import warehouse_engine
        from hawk_dagster.warehouse.read.queries import list_evals

        list_evals(warehouse_engine(), eval_set_id)  # UnknownIdError: exit 2
    _show(eval_set_page(_base_url(), eval_set_id), print_only)


@click.command("view-sample")
@click.argument("sample_uuid")
@click.option("--print", "print_only", is_flag=True, help=PRINT_HELP)
@exits_on_unknown_id
def view_sample(sample_uuid: str, print_only: bool) -> None:
    """Open SAMPLE_UUID in Inspect's log viewer, served by `hawk serve`, in a browser.

    On the deployment at HAWK_API_URL, else on the local `hawk serve` (http://127.0.0.1:8080). Prints the URL when
    no browser is available, or with --print.
    """
    from urllib.parse import quote

    from hawk_dagster.api.links import viewer_log
    from hawk_dagster.api.viewer_links import sample_viewer_url
    from hawk_dagster.cli.remote import api_url

    if api_url():
        from hawk_dagster.cli import remote

        where = remote.get_json(
            f"/api/v1/samples/{quote(sample_uuid, safe='')}"
        )  # 404 (absent or not visible): exit 2
        log = str(where["log"])
    else:
        from hawk_dagster.cli.warehouse import warehouse_engine
        from hawk_dagster.storage.root import EVALS, StorageRoot
        from hawk_dagster.warehouse.read.queries import sample_location

        where = sample_location(warehouse_engine(), sample_uuid)  # UnknownIdError: exit 2
        log = viewer_log(StorageRoot.from_env().uri_of(EVALS), where["eval_set_id"], where["location"])
    url = sample_viewer_url(_base_url(), log, where["id"], int(where["epoch"]))
    _show(url, print_only)


def _base_url() -> str:
    from hawk_dagster.api.links import LOCAL_BASE_URL
    from hawk_dagster.cli.remote import api_url

    return api_url() or LOCAL_BASE_URL


def _show(url: str, print_only: bool) -> None:
    """Open ``url`` in the user's browser (Python's ``webbrowser``: ``BROWSER``, the desktop's, a console one), or
    print it when there is none, it fails to start, or ``--print`` asks for the URL."""
    if not print_only:
        import webbrowser

        try:
            opened = webbrowser.get().open(url)
        except webbrowser.Error:
            opened = False
        if opened:
            click.echo(f"opened {url}", err=True)
            _warn_when_nothing_serves(url)
            return
    click.echo(url)
    if not print_only:
        _warn_when_nothing_serves(url)


def _warn_when_nothing_serves(url: str) -> None:
    """For the local address: say how to start the server when nothing listens there."""
    import socket

    from hawk_dagster.api.links import DEFAULT_HOST, DEFAULT_PORT, LOCAL_BASE_URL

    if not url.startswith(LOCAL_BASE_URL + "/"):
        return
    try:
        with socket.create_connection((DEFAULT_HOST, DEFAULT_PORT), timeout=0.5):
            return
    except OSError:
        click.echo(f"note: nothing answers at {LOCAL_BASE_URL}: start `hawk serve` (or `hawk dev`)", err=True)
