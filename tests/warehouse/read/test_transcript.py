"""Markdown transcripts of real samples, read from the log as plain JSON: messages in order, tool calls, scores,
errors."""

from __future__ import annotations

import importlib.util

import pytest
from inspect_ai import eval as inspect_eval
from inspect_ai.agent import react
from inspect_ai.log import EvalSample, read_eval_log

from hawk_dagster.warehouse.read.transcript import SampleNotInLogError, read_sample, render_markdown
from tests.grids import EXAMPLES


@pytest.fixture(scope="module")
def agent_log(tmp_path_factory: pytest.TempPathFactory) -> str:
    spec = importlib.util.spec_from_file_location("example_arithmetic", EXAMPLES / "tasks" / "arithmetic.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    log_dir = tmp_path_factory.mktemp("logs")
    (log,) = inspect_eval(
        module.addition(n=1), solver=react(), model="hawk-mock/careful", log_dir=str(log_dir), display="none"
    )
    return log.location


@pytest.fixture(scope="module")
def agent_sample(agent_log: str) -> EvalSample:
    samples = read_eval_log(agent_log).samples
    assert samples
    return samples[0]


def _md(sample: EvalSample, **kwargs: str) -> str:
    """Rendered from the JSON form Inspect writes into the log, which is what the renderer reads."""
    return render_markdown(sample.model_dump(mode="json", exclude_none=True), **kwargs)


def test_the_sample_is_read_from_the_log_as_inspect_wrote_it(
    agent_log: str, agent_sample: EvalSample
) -> None:
    raw = read_sample(agent_log, str(agent_sample.id), agent_sample.epoch, agent_sample.uuid or "")
    read = EvalSample.model_validate(raw)
    assert (read.uuid, read.id, read.epoch, read.target) == (
        agent_sample.uuid,
        agent_sample.id,
        agent_sample.epoch,
        agent_sample.target,
    )
    assert read.messages == agent_sample.messages and read.scores == agent_sample.scores
    with pytest.raises(SampleNotInLogError, match=r"no samples/nope_epoch_1\.json"):
        read_sample(agent_log, "nope", 1, "x")
    with pytest.raises(SampleNotInLogError, match="is not sample"):
        read_sample(agent_log, str(agent_sample.id), agent_sample.epoch, "someone-else")


def test_agent_transcript_shows_messages_tool_calls_and_scores(agent_sample: EvalSample) -> None:
    md = _md(agent_sample, task="addition", model="hawk-mock/careful")
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
    md = _md(agent_sample.model_copy(update={"messages": messages}))
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
    md = _md(broken)
    assert "## Error" in md and "RuntimeError: boom" in md and "Traceback..." in md


def test_fences_survive_backticks_in_content(agent_sample: EvalSample) -> None:
    sample = agent_sample.model_copy(update={"metadata": {"code": "```python\nprint(1)\n```"}})
    md = _md(sample)
    assert "````json" in md
