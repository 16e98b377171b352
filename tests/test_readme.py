"""The README stays true: its config reference is the schema's, and its two commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

from hawk_dagster.config.schema import render_markdown_reference

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_config_reference_is_generated_from_the_schema() -> None:
    block = re.search(r"<!-- config-reference:start -->\n(.*?)\n<!-- config-reference:end -->", README, re.S)
    assert block is not None
    assert block.group(1).strip() == render_markdown_reference().strip(), (
        "README's config reference is stale: regenerate the block between the config-reference markers from "
        "hawk_dagster.config.render_markdown_reference()"
    )


def test_the_two_commands() -> None:
    commands = re.search(r"```bash\n# 1\..*?\n(.*?)\n\n# 2\..*?\n(.*?)\n```", README, re.S)
    assert commands is not None
    run_example, run_tests = commands.group(1).strip(), commands.group(2).strip()
    config = run_example.split("hawk local eval-set", 1)[1].split()[0]
    assert (ROOT / config).is_file()
    assert run_tests in (ROOT / ".ci" / "run").read_text()
