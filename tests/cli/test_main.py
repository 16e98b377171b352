"""The command table: ``hawk --help`` lists every command with its own summary, without importing any of them."""

from __future__ import annotations

from click.testing import CliRunner

from hawk_dagster.cli.main import COMMANDS, cli


def test_the_table_summaries_are_the_commands_own() -> None:
    for name, lazy in COMMANDS.items():
        command = lazy.load()
        assert command.name == name
        assert lazy.summary == command.get_short_help_str(limit=1000), name


def test_help_lists_every_command_and_each_command_has_help() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in COMMANDS:
        assert f"  {name} " in result.output
        sub = CliRunner().invoke(cli, [name, "--help"])
        assert sub.exit_code == 0 and "Usage: " in sub.output, name
    assert CliRunner().invoke(cli, ["no-such-command"]).exit_code == 2
