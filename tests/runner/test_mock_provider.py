"""The offline ``hawk-mock`` provider: deterministic answers, usage on every output, agent-like tool use."""

from __future__ import annotations

import asyncio

import pytest
from hawk_runner import mock_provider  # noqa: F401  (registers the provider)
from inspect_ai.model import ChatMessageTool, ChatMessageUser, GenerateConfig, get_model
from inspect_ai.tool import ToolInfo, ToolParams


def generate(model_name: str, messages: list, tools: list[ToolInfo] | None = None, **args: object):
    model = get_model(f"hawk-mock/{model_name}", **args)
    return asyncio.run(model.generate(messages, tools=tools or [], config=GenerateConfig()))


def test_arithmetic_is_answered_and_usage_is_always_set() -> None:
    out = generate("exact", [ChatMessageUser(content="What is 12 * 7? Reply with the number only.")])
    assert out.completion == "84"
    assert out.usage is not None and out.usage.total_tokens > 0


def test_accuracy_makes_a_deterministic_share_wrong() -> None:
    prompts = [ChatMessageUser(content=f"What is {i} + {i}?") for i in range(200)]
    answers = [generate("coin", [p], accuracy=0.5).completion for p in prompts]
    right = sum(a == str(2 * i) for i, a in enumerate(answers))
    assert 60 < right < 140
    assert answers == [generate("coin", [p], accuracy=0.5).completion for p in prompts]


def test_bash_then_submit_like_an_agent() -> None:
    tools = [ToolInfo(name=n, description=n, parameters=ToolParams()) for n in ("bash", "submit")]
    first = generate("agent", [ChatMessageUser(content="find the flag")], tools, bash_command="cat flag.txt")
    call = first.message.tool_calls[0]
    assert (call.function, call.arguments) == ("bash", {"command": "cat flag.txt"})
    second = generate(
        "agent",
        [
            ChatMessageUser(content="find the flag"),
            ChatMessageTool(content="flag{x}\n", tool_call_id=call.id),
        ],
        tools,
    )
    assert second.message.tool_calls[0].function == "submit"
    assert second.message.tool_calls[0].arguments == {"answer": "flag{x}"}


def test_bad_args_are_refused() -> None:
    with pytest.raises(ValueError, match="accuracy"):
        get_model("hawk-mock/bad", accuracy=2)
