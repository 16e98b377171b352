"""Hostile configs and the files they name: each is a clear issue in bounded time, never a hang or a traceback."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result

from hawk_dagster.config.errors import ConfigError, ConfigIssue
from hawk_dagster.config.loader import load_eval_set_config, read_config_text
from tests.config.test_yaml_source import laughs

pytestmark = pytest.mark.timeout(60)  # a regression hangs (a FIFO) or grows without bound; fail instead

TASK = "tasks:\n  - package: inspect-ai\n    items: [{name: t}]\n"


def only_issue(path: Path) -> ConfigIssue:
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    [issue] = caught.value.issues
    return issue


def test_an_alias_bomb_among_the_settings_is_refused(write_config: Callable[..., Path]) -> None:
    # 6 levels of 9 is half a million values: the old loader accepted it (the keys only warned) and copied it all
    path = write_config(TASK + laughs(6))
    issue = only_issue(path)
    assert issue.file == str(path) and "once aliases are expanded" in issue.found


def test_an_alias_bomb_in_metadata_is_refused(write_config: Callable[..., Path]) -> None:
    bomb = laughs(6).replace("\n", "\n  ")
    issue = only_issue(write_config(TASK + "metadata:\n  " + bomb))
    assert issue.path.startswith("metadata.l")


def test_deep_nesting_is_an_issue(write_config: Callable[..., Path]) -> None:
    issue = only_issue(write_config(TASK + "metadata: " + "[" * 10_000 + "\n"))
    assert issue.found.startswith("lists and mappings nested more than")
    assert issue.line == 4


@pytest.mark.parametrize(
    ("content", "found"),
    [
        (b"\x00\x01\x02binary\xff\xfe", "not UTF-8"),
        (b"tasks: [\x00]\n", "the control character U+0000"),
        (b"\x1b[31mred\n", "the control character U+001B"),
    ],
)
def test_binary_junk_is_an_issue(tmp_path: Path, content: bytes, found: str) -> None:
    path = tmp_path / "junk.yaml"
    path.write_bytes(content)
    assert found in only_issue(path).found


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("", "an empty file"),
        ("# nothing here\n", "an empty file"),
        ("- a\n- b\n", "['a', 'b']"),
        ("just words\n", "'just words'"),
        (TASK + "---\n" + TASK, "a second YAML document (after a `---` line)"),
    ],
)
def test_what_is_not_one_mapping_is_an_issue(
    write_config: Callable[..., Path], text: str, found: str
) -> None:
    assert only_issue(write_config(text)).found == found


def test_a_huge_key_is_cut_short_in_messages(write_config: Callable[..., Path]) -> None:
    key = "k" * 500_000
    issue = only_issue(write_config(TASK + "runner:\n  ? " + key + "\n  : 1\n"))  # `?`: a key of any length
    assert issue.path == "runner['" + "k" * 57 + "...']"
    assert len(issue.format()) < 500


def test_a_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text(TASK + "# " + "x" * (2 << 20) + "\n")
    issue = only_issue(path)
    assert (issue.found, issue.allowed) == ("a file of more than 1 MiB", "a file of at most 1 MiB")


def test_a_config_read_through_a_pipe_is_read_once(
    tmp_path: Path, run_validate: Callable[..., Result]
) -> None:
    """``hawk validate <(...)``: the kind and the config come from one read of the pipe."""
    fifo = tmp_path / "grid.yaml"
    os.mkfifo(fifo)

    def write() -> None:
        with open(fifo, "w") as f:
            f.write(TASK)

    writer = threading.Thread(target=write)
    writer.start()
    result = run_validate(fifo)
    writer.join()
    assert result.exit_code == 0, result.stderr
    assert "inspect_ai/t" in result.stdout or "t" in result.stdout.split()


def test_validate_exits_2_on_an_alias_bomb(
    write_config: Callable[..., Path], run_validate: Callable[..., Result]
) -> None:
    path = write_config(laughs(9))  # the 420-byte file that ran for minutes at 4+ GB
    result = run_validate(path)
    assert result.exit_code == 2
    assert f"{path}:" in result.stderr and "50,000 values" in result.stderr


def test_read_config_text_refuses_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="a directory"):
        read_config_text(tmp_path)


# --- files a config names ----------------------------------------------------------------------------------------


def test_an_alias_bomb_in_an_approval_file_is_an_issue_in_that_file(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    (workdir / "policy.yaml").write_text("approvers: []\n" + laughs(9))
    issue = only_issue(write_config(TASK + "approval: policy.yaml\n"))
    assert issue.file.endswith("policy.yaml") and "once aliases are expanded" in issue.found


def test_an_approval_fifo_is_refused_without_blocking(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    os.mkfifo(workdir / "policy.yaml")
    issue = only_issue(write_config(TASK + "approval: policy.yaml\n"))
    assert issue.file.endswith("policy.yaml") and issue.found == "a named pipe (FIFO)"


def test_an_eval_yaml_fifo_is_refused_without_blocking(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    eval_file = workdir / "ctf" / "web" / "eval.yml"
    eval_file.unlink()
    os.mkfifo(eval_file)
    issue = only_issue(write_config("tasks:\n  - cyber: ctf\n"))
    assert issue.file.endswith("eval.yml") and issue.found == "a named pipe (FIFO)"


def test_an_eval_yaml_linked_to_a_device_is_refused(write_config: Callable[..., Path], workdir: Path) -> None:
    eval_file = workdir / "ctf" / "web" / "eval.yml"
    eval_file.unlink()
    eval_file.symlink_to("/dev/zero")
    issue = only_issue(write_config("tasks:\n  - cyber: ctf\n"))
    assert issue.file.endswith("eval.yml") and issue.found == "a character device"


def test_an_alias_bomb_in_an_eval_yaml_is_an_issue_in_that_file(
    write_config: Callable[..., Path], workdir: Path
) -> None:
    (workdir / "ctf" / "web" / "eval.yml").write_text("name: web\n" + laughs(9))
    issue = only_issue(write_config("tasks:\n  - cyber: ctf\n"))
    assert issue.file.endswith("eval.yml") and "once aliases are expanded" in issue.found


@pytest.mark.parametrize(
    "source",
    [
        pytest.param("x = " + "-" * 200_000 + "1\n", id="parser stack"),
        pytest.param("x = 1" + " + 1" * 200_000 + "\n", id="ast recursion"),
    ],
)
def test_a_task_file_too_deep_for_python_is_an_issue(
    write_config: Callable[..., Path], workdir: Path, source: str
) -> None:
    (workdir / "tasks" / "deep.py").write_text(source)
    issue = only_issue(write_config("tasks:\n  - path: tasks/deep.py\n"))
    assert issue.file.endswith("deep.py") and "nested too deeply" in issue.found


def test_a_huge_task_file_is_refused_unread(write_config: Callable[..., Path], workdir: Path) -> None:
    (workdir / "tasks" / "huge.py").write_text("#" * (5 << 20))
    issue = only_issue(write_config("tasks:\n  - path: tasks/huge.py\n"))
    assert issue.path == "tasks[0].path" and "a file of more than 4 MiB" in issue.allowed


def test_thousands_of_the_same_mistake_make_a_short_message(write_config: Callable[..., Path]) -> None:
    path = write_config(TASK + "metadata:\n" + "".join("  k: 1\n" for _ in range(5_000)))
    with pytest.raises(ConfigError) as caught:
        load_eval_set_config(path)
    assert len(caught.value.issues) == 4_999
    lines = str(caught.value).splitlines()
    assert len(lines) == 1 + 100 + 1
    assert lines[-1] == "  ... and 4899 more (fix these first)"
