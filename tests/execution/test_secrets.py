"""``--secret`` and ``--secrets-file``: values reach the runner's environment and never a message."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from hawk_dagster.cli.main import cli
from hawk_dagster.execution.secrets import SecretsError, collect_secrets
from tests.grids import EXAMPLES

VALUE = "planted-" + "secret-value-71ab"


def test_names_are_read_from_the_environment_and_files(tmp_path: Path) -> None:
    env_file = tmp_path / "secrets.env"
    env_file.write_text("FROM_FILE=one\nEMPTY=\n")
    values = collect_secrets(["FROM_ENV"], [env_file], environ={"FROM_ENV": "two"})
    assert values == {"FROM_FILE": "one", "FROM_ENV": "two"}


@pytest.mark.parametrize(
    ("argument", "named"),
    [
        (f"QA_FOO={VALUE}", "--secret QA_FOO=...:"),
        (f"not a name {VALUE}", "--secret (argument 2):"),
        (f"={VALUE}", "--secret (argument 2):"),
        (f"9LIVES={VALUE}", "--secret (argument 2):"),
    ],
)
def test_a_value_given_to_secret_is_never_repeated(argument: str, named: str) -> None:
    with pytest.raises(SecretsError) as caught:
        collect_secrets(["OK_NAME", argument], [], environ={"OK_NAME": "x"})
    message = str(caught.value)
    assert VALUE not in message
    assert message.startswith(named)
    assert "takes the name of an environment variable" in message and "--secrets-file" in message


def test_missing_names_are_named_not_valued() -> None:
    with pytest.raises(SecretsError) as caught:
        collect_secrets(["ABSENT"], [], environ={})
    assert "ABSENT" in str(caught.value)


def test_the_cli_refuses_secret_name_value_without_echoing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HAWK_STORAGE_ROOT", str(tmp_path / "root"))
    result = CliRunner().invoke(
        cli, ["local", "eval-set", str(EXAMPLES / "simple.eval-set.yaml"), "--secret", f"QA_FOO={VALUE}"]
    )
    assert result.exit_code == 2
    assert VALUE not in result.output
    assert "--secret QA_FOO=..." in result.output and "export QA_FOO=..." in result.output
    assert not (tmp_path / "root").exists()
