"""Markdown transcripts of real samples: messages in order, tool calls, scores, errors."""

from __future__ import annotations

import importlib.util

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.agent import react
from inspect_ai.log import EvalSample, read_eval_log

from hawk_dagster.warehouse.read.transcript import render_markdown
from tests.grids import EXAMPLES


@pytest.fixture(scope="module")
def agent_sample(tmp_path_factory: pytest.TempPathFactory) -> EvalSample:
    spec = importlib.util.spec_from_file_location("example_arithmetic", EXAMPLES / "tasks" / "arithmetic.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_dir = tmp_path_factory.mktemp("logs")
    (log,) = inspect_eval(
        module.addition(n=1), solver=react(), model="hawk-mock/careful", log_dir=str(log_dir), display="none"
    )
    samples = read_eval_log(log.location).samples
    assert samples
    return samples[0]


def test_agent_transcript_shows_messages_tool_calls_and_scores(agent_sample: EvalSample) -> None:
    md = render_markdown(agent_sample, task="addition", model="hawk-mock/careful")
    assert md.startswith(f"# Sample {agent_sample.id} (epoch 1)")
    assert f"`{agent_sample.uuid}`" in md and "- task: addition" in md
    question = (
        agent_sample.messages[0].text if agent_sample.messages[0].role == "user" else agent_sample.input
    )
    assert str(question).splitlines()[0] in md
    assert "### 1. system" in md and "### 2. user" in md and "### 3. assistant" in md
    assert "| match | C |" in md


def test_tool_calls_results_and_tool_errors(agent_sample: EvalSample) -> None:
    from inspect_ai.model import ChatMessageAssistant, ChatMessageTool
    from inspect_ai.tool import ToolCall, ToolCallError

    call = ToolCall(id="call-1", function="bash", arguments={"command": "cat flag.txt"})
    messages = [
        *agent_sample.messages[:2],
        ChatMessageAssistant(content="Let me look.", tool_calls=[call]),
        ChatMessageTool(
            content="", tool_call_id="call-1", function="bash", error=ToolCallError("permission", "denied")
        ),
    ]
    md = render_markdown(agent_sample.model_copy(update={"messages": messages}))
    assert "**tool call** `bash` (id `call-1`)" in md and '"command": "cat flag.txt"' in md
    assert "### 4. tool (bash)" in md and "**tool error** (permission): denied" in md


def test_errors_are_rendered(agent_sample: EvalSample) -> None:
    from inspect_ai.log import EvalError

    broken = agent_sample.model_copy(
        update={
            "error": EvalError(
                message="RuntimeError: boom", traceback="Traceback...\nboom", traceback_ansi=""
            )
        }
    )
    md = render_markdown(broken)
    assert "## Error" in md and "RuntimeError: boom" in md and "Traceback..." in md


def test_fences_survive_backticks_in_content(agent_sample: EvalSample) -> None:
    sample = agent_sample.model_copy(update={"metadata": {"code": "```python\nprint(1)\n```"}})
    md = render_markdown(sample)
    assert "````json" in md
