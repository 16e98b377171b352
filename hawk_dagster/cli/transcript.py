"""``hawk transcript``: one sample's conversation from its log, found through the warehouse (no Inspect import)."""

from __future__ import annotations

import json

import click

from hawk_dagster.cli.common import fail_bad_input
from hawk_dagster.cli.warehouse import exits_on_unknown_id, warehouse_engine


@click.command("transcript")
@click.argument("sample_uuid")
@click.option("--raw", is_flag=True, help="Print the sample as Inspect's JSON instead of Markdown.")
@exits_on_unknown_id
def transcript(sample_uuid: str, raw: bool) -> None:
    """Print the conversation of SAMPLE_UUID as Markdown: messages, tool calls, scores, error."""
    from hawk_dagster.cli.remote import api_url

    if api_url():
        from hawk_dagster.cli import remote

        answer = remote.get_text(
            f"/api/v1/samples/{sample_uuid}/transcript", {"format": "json" if raw else None}
        )
        click.echo(
            json.dumps(json.loads(answer), indent=2, ensure_ascii=False) if raw else answer.rstrip("\n")
        )
        return
    from hawk_dagster.warehouse.read.queries import sample_location
    from hawk_dagster.warehouse.read.transcript import SampleNotInLogError, read_sample, render_markdown

    where = sample_location(warehouse_engine(), sample_uuid)
    try:
        sample = read_sample(where["location"], where["id"], where["epoch"], sample_uuid)
    except (SampleNotInLogError, FileNotFoundError) as ex:
        fail_bad_input(f"sample {sample_uuid}: {ex}")
    if raw:
        click.echo(json.dumps(sample, indent=2, ensure_ascii=False))
    else:
        click.echo(render_markdown(sample, task=where["task"], model=where["model"]))
