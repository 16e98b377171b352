"""Scanners for the scan tests, registered by importing this module.

They are registered under the installed example package's prefix (``hawk_example_scanners/test_labels``,
``.../test_flaky``) because Scout records the package version of every scanner it runs and fails for a prefix that
is not an installed distribution; a config can then name them like any package scanner.

``flaky`` fails on every other sample id while ``HAWK_TEST_FLAKY_FAIL=1`` and appends each transcript it is called
for to the file named by ``HAWK_TEST_FLAKY_CALLS``, so a test can see which transcripts a resume re-ran.
"""

from __future__ import annotations

import os

from inspect_scout import Result, Scanner, Transcript, scanner


def fails(sample_id: str) -> bool:
    """Whether ``flaky`` fails on the transcript of this dataset sample id (the example arithmetic task's ids
    ``+1``, ``+2``, ... alternate). Decided by the sample id, not the random transcript id, so every run has some
    failing and some passing transcripts."""
    return sum(map(ord, sample_id)) % 2 == 0


@scanner(name="hawk_example_scanners/test_labels", messages="all")
def labels() -> Scanner[Transcript]:
    """Two labelled results per transcript."""

    async def scan(transcript: Transcript) -> list[Result]:
        return [
            Result(label="messages", value=len(transcript.messages)),
            Result(label="first_role", value=transcript.messages[0].role, explanation="who spoke first"),
        ]

    return scan


@scanner(name="hawk_example_scanners/test_flaky", messages="all")
def flaky() -> Scanner[Transcript]:
    async def scan(transcript: Transcript) -> Result:
        calls = os.environ.get("HAWK_TEST_FLAKY_CALLS")
        if calls:
            with open(calls, "a") as f:
                f.write(transcript.transcript_id + "\n")
        if os.environ.get("HAWK_TEST_FLAKY_FAIL") == "1" and fails(transcript.task_id or ""):
            raise RuntimeError(f"flaky failure on {transcript.transcript_id}")
        return Result(value=True)

    return scan
