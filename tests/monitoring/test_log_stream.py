"""Raw output read in pieces gives the same lines as read whole: nothing repeated, nothing lost, blank lines kept."""

from __future__ import annotations

from pathlib import Path

import pytest

from hawk_dagster.monitoring.log_stream import EvalSetLogs, LogLine, tail_lines

TEXT = "first\n\nthird line\npartial"


@pytest.mark.parametrize("cut", range(len(TEXT) + 1))
def test_output_read_in_two_pieces_equals_output_read_whole(tmp_path: Path, cut: int) -> None:
    output = tmp_path / "runner.log"
    output.write_text(TEXT)
    whole = [line.text for line in EvalSetLogs(None, "es", output).poll(final=True)]

    output.write_text(TEXT[:cut])
    stream = EvalSetLogs(None, "es", output)
    pieces = [line.text for line in stream.poll()]
    output.write_text(TEXT)
    pieces += [line.text for line in stream.poll()]
    pieces += [line.text for line in stream.poll(final=True)]

    assert whole == pieces == ["first", "", "third line", "partial"]


def test_a_replaced_output_file_is_read_from_its_start(tmp_path: Path) -> None:
    output = tmp_path / "runner.log"
    output.write_text("a long first file\n")
    stream = EvalSetLogs(None, "es", output)
    assert [line.text for line in stream.poll()] == ["a long first file"]
    output.write_text("new\n")
    assert [line.text for line in stream.poll()] == ["new"]


def test_tail_takes_the_last_lines_of_each_source() -> None:
    from datetime import UTC, datetime

    events = [LogLine(datetime.now(UTC), "r", "INFO", "run", f"e{i}") for i in range(5)]
    output = [LogLine(None, None, "OUTPUT", "runner", f"o{i}") for i in range(3)]
    assert [line.text for line in tail_lines(events + output, 2)] == ["e3", "e4", "o1", "o2"]
    assert tail_lines(events + output, 0) == []
    assert tail_lines(events, None) == events


@pytest.mark.parametrize("cut", range(len(TEXT) + 1))
def test_a_new_reader_resumed_from_a_cursor_continues_exactly(tmp_path: Path, cut: int) -> None:
    """What a reconnecting client does: a fresh reader per request, resumed from the last answer's cursor; a line
    still being written when the cursor was taken is returned whole, once."""
    output = tmp_path / "runner.log"
    output.write_text(TEXT[:cut])
    first = EvalSetLogs(None, "es", output)
    lines = [line.text for line in first.poll()]
    output.write_text(TEXT)
    second = EvalSetLogs(None, "es", output)
    second.resume(first.cursor())
    lines += [line.text for line in second.poll(final=True)]
    assert lines == ["first", "", "third line", "partial"]


@pytest.mark.parametrize(
    "token",
    ["", "garbage!", "eyJ2IjogMn0", "eyJ2IjoxLCJlIjp7fSwiYyI6W1sicnVuIiwiLi4vZXRjIiwwLDBdXSwibyI6MH0"],
    ids=["empty", "not base64 json", "other version", "a path as file key"],
)
def test_a_cursor_this_code_did_not_make_is_refused(token: str) -> None:
    with pytest.raises(ValueError, match="not a cursor"):
        EvalSetLogs(None, "es", None).resume(token)
