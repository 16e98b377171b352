"""``python -m hawk_dagster.cli`` is the ``hawk`` command (used by tests to run it with this interpreter)."""

from hawk_dagster.cli.main import cli

cli()
