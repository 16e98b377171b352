"""Bounded YAML: the size, nesting and alias-expansion limits of ``parse_yaml``, and bounded reads of files."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from upath import UPath

from hawk_dagster.config import yaml_source
from hawk_dagster.config.yaml_source import (
    MAX_YAML_BYTES,
    MAX_YAML_DEPTH,
    MAX_YAML_NODES,
    UnreadableFileError,
    YamlReadError,
    YamlSyntaxError,
    parse_yaml,
    read_bounded,
    read_yaml_file,
)

pytestmark = pytest.mark.timeout(60)  # a regression here hangs or eats memory; fail instead


def laughs(levels: int, width: int = 9) -> str:
    """The "billion laughs": each level a list of ``width`` aliases to the level before (``width ** levels``)."""
    lines = ["l0: &l0 [" + ", ".join(["lol"] * width) + "]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * width) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def only_issue(text: str, file: str = "bad.yaml") -> yaml_source.ConfigIssue:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml(text, file=file)
    [issue] = caught.value.issues
    assert issue.file == file
    return issue


def test_a_billion_laughs_is_refused_before_it_is_built() -> None:
    text = laughs(9)  # 9 ** 9 = 387 million strings from 420 bytes
    assert len(text) < 500
    issue = only_issue(text, "bomb.yaml")
    assert issue.found == f"more than {MAX_YAML_NODES:,} values once aliases are expanded"
    assert f"at most {MAX_YAML_NODES:,} values" in issue.allowed
    assert issue.line is not None and issue.path.startswith("l")


def test_aliases_that_repeat_a_block_are_fine() -> None:
    parsed = parse_yaml(
        "base: &base {temperature: 0.2, max_tokens: 10}\n"
        "a: *base\n"
        "b: {<<: *base, temperature: 0.5}\n"
        "small: " + laughs(3).split("\n")[0].split(": ", 1)[1] + "\n",
        file="ok.yaml",
    )
    assert parsed.data["a"] == {"temperature": 0.2, "max_tokens": 10}
    assert parsed.data["b"] == {"temperature": 0.5, "max_tokens": 10}


def test_the_value_budget_counts_every_use_of_an_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_source, "MAX_YAML_NODES", 30)
    block = "b: &b [1, 2, 3, 4]\n"  # 1 key + 1 list + 4 items = 6, plus the top-level mapping
    parse_yaml(block + "c: [*b, *b, *b]\n", file="ok.yaml")  # 7 + 1 key + 1 list + 3 * 5 = 24 values
    issue = only_issue(block + "c: [*b, *b, *b, *b, *b]\n")  # 34 values, 17 written
    assert issue.found == "more than 30 values once aliases are expanded"
    assert (issue.path, issue.line) == ("c", 2)


def test_a_long_flat_file_stops_at_the_budget_while_composing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yaml_source, "MAX_YAML_NODES", 100)
    issue = only_issue("x: [" + ", ".join(["1"] * 200) + "]\n")
    assert issue.found == "more than 100 values written out"
    assert issue.path.startswith("x[") and issue.line == 1


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param("[" * 10_000, 1, id="10k flow brackets"),
        pytest.param("{a: " * 10_000, 1, id="10k flow mappings"),
        pytest.param("".join(" " * i + f"k{i}:\n" for i in range(200)), MAX_YAML_DEPTH, id="block mappings"),
        pytest.param("".join(" " * i + "-\n" for i in range(200)), MAX_YAML_DEPTH + 1, id="block lists"),
    ],
)
def test_deep_nesting_is_an_issue_not_a_recursion_error(text: str, line: int) -> None:
    issue = only_issue(text)
    assert issue.found == f"lists and mappings nested more than {MAX_YAML_DEPTH} levels deep"
    assert issue.allowed == f"at most {MAX_YAML_DEPTH} levels of nesting"
    assert issue.line == line
    assert len(issue.path) < 120  # the path is cut short, not sixty-four `[0]`


def test_nesting_at_the_limit_is_fine() -> None:
    parsed = parse_yaml("[" * MAX_YAML_DEPTH + "]" * MAX_YAML_DEPTH, file="ok.yaml")
    depth, value = 0, parsed.data
    while isinstance(value, list):
        depth, value = depth + 1, value[0] if value else None
    assert depth == MAX_YAML_DEPTH


def test_aliases_cannot_nest_deeper_than_the_limit() -> None:
    chain = "a0: &a0 [1]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}]\n" for i in range(1, MAX_YAML_DEPTH + 5))
    issue = only_issue(chain)
    assert issue.found.endswith("levels deep once aliases are expanded")


@pytest.mark.parametrize("text", ["a: &a [*a]\n", "a: &a {b: [1, {c: *a}]}\n"])
def test_a_value_that_contains_itself_is_refused(text: str) -> None:
    issue = only_issue(text)
    assert "contains itself" in issue.found
    assert issue.path.startswith("a")


@pytest.mark.parametrize(
    "number",
    [
        pytest.param("1" * 5_000, id="more digits than Python converts"),
        pytest.param("1" + ":00" * 2_000, id="sexagesimal"),
        pytest.param("1." + "0" * 500, id="float"),
    ],
)
def test_an_absurdly_long_number_is_refused(number: str) -> None:
    issue = only_issue(f"seed: {number}\n")
    assert issue.path == "seed" and issue.found == f"a number {len(number):,} characters long"
    assert "quote it" in issue.allowed


def test_a_long_quoted_number_is_text() -> None:
    assert parse_yaml(f"seed: '{'1' * 5_000}'\n", file="ok.yaml").data == {"seed": "1" * 5_000}


def test_text_over_the_size_limit_is_refused_before_parsing() -> None:
    issue = only_issue("x: " + "a" * MAX_YAML_BYTES)
    assert issue.found == "more than 1 MiB of text"
    assert issue.allowed == "a YAML file of at most 1 MiB"
    multibyte = "x: " + "é" * (MAX_YAML_BYTES // 2)  # fewer characters than the limit, more bytes
    assert only_issue(multibyte).found == "more than 1 MiB of text"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [("a: 1\nb: \x00\n", 2, 4), ("\x7fELF\x02\x01", 1, 1), ("a: \x1b[31m\n", 1, 4)],
)
def test_control_characters_are_located(text: str, line: int, column: int) -> None:
    issue = only_issue(text)
    assert issue.found.startswith("the control character U+")
    assert "binary file" in issue.allowed
    assert (issue.line, issue.column) == (line, column)


def test_a_second_document_is_named() -> None:
    issue = only_issue("a: 1\n---\nb: 2\n")
    assert issue.line == 2 and "one YAML document per file" in issue.allowed


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n", "---\n", "--- null\n"])
def test_an_empty_document_is_none(text: str) -> None:
    assert parse_yaml(text, file="empty.yaml").data is None


# --- reading --------------------------------------------------------------------------------------------------


@pytest.fixture
def big_file(tmp_path: Path) -> Path:
    path = tmp_path / "big.yaml"
    path.write_bytes(b"x: " + b"a" * (3 * MAX_YAML_BYTES))
    return path


def test_a_large_file_is_read_no_further_than_the_limit(
    big_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    read: list[int] = []
    real_read = os.read

    def counting_read(fd: int, n: int) -> bytes:
        chunk = real_read(fd, n)
        read.append(len(chunk))
        return chunk

    monkeypatch.setattr(yaml_source.os, "read", counting_read)
    with pytest.raises(UnreadableFileError) as caught:
        read_bounded(big_file)
    assert sum(read) == MAX_YAML_BYTES + 1
    assert (
        caught.value.found == "a file of more than 1 MiB"
        and caught.value.allowed == "a file of at most 1 MiB"
    )


def test_a_file_at_the_limit_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "full.yaml"
    path.write_bytes(b"#" * MAX_YAML_BYTES)
    assert len(read_bounded(path)) == MAX_YAML_BYTES


def test_a_device_is_read_within_the_limit_when_allowed() -> None:
    with pytest.raises(UnreadableFileError, match="more than 1 MiB"):
        read_bounded(Path("/dev/zero"), regular_only=False)
    with pytest.raises(UnreadableFileError, match="a character device"):
        read_bounded(Path("/dev/zero"))


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "x.yaml"
    os.mkfifo(path)
    yield path


def test_a_fifo_is_refused_without_blocking(fifo: Path) -> None:
    with pytest.raises(UnreadableFileError) as caught:
        read_bounded(fifo)
    assert caught.value.found == "a named pipe (FIFO)"


def test_a_pipe_is_read_when_allowed(fifo: Path) -> None:
    """``hawk validate <(...)``: the CLI reads what the writer sends."""

    def write() -> None:
        with open(fifo, "wb") as f:
            f.write(b"a: 1\n")

    writer = threading.Thread(target=write)
    writer.start()
    assert read_bounded(fifo, regular_only=False) == b"a: 1\n"
    writer.join()


@pytest.mark.parametrize("target", ["/etc/hostname", "/dev/zero", "/nonexistent/x.yaml", "link.yaml"])
def test_a_symlink_is_refused_when_links_are_not_followed(tmp_path: Path, target: str) -> None:
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    with pytest.raises(UnreadableFileError) as caught:
        read_bounded(link, follow_symlinks=False)
    assert caught.value.found == f"a symbolic link (to {target})"
    assert "copy the file in" in caught.value.allowed


def test_a_directory_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "dir.yaml").mkdir()
    with pytest.raises(UnreadableFileError, match="a directory"):
        read_bounded(tmp_path / "dir.yaml")
    with pytest.raises(UnreadableFileError) as caught:
        read_bounded(tmp_path / "absent.yaml")
    assert caught.value.missing


def test_read_yaml_file_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: caf\xe9\n")
    with pytest.raises(YamlReadError) as caught:
        read_yaml_file(path, file="latin1.yaml")
    [issue] = caught.value.issues
    assert issue.file == "latin1.yaml" and "not UTF-8" in issue.found and "UTF-8" in issue.allowed
    assert not caught.value.missing
    with pytest.raises(YamlReadError) as missing:
        read_yaml_file(tmp_path / "gone.yaml", file="gone.yaml")
    assert missing.value.missing


def test_an_object_is_read_with_one_bounded_request(moto_s3: str) -> None:
    big = UPath(f"{moto_s3}/bounded/big.yaml")
    big.write_bytes(b"#" * (2 * MAX_YAML_BYTES))
    with pytest.raises(UnreadableFileError, match="more than 1 MiB"):
        read_bounded(big)
    small = UPath(f"{moto_s3}/bounded/small.yaml")
    small.write_bytes(b"a: 1\n")
    assert read_bounded(small) == b"a: 1\n"
    with pytest.raises(UnreadableFileError) as caught:
        read_bounded(UPath(f"{moto_s3}/bounded/absent.yaml"))
    assert caught.value.missing
