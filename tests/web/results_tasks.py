"""Tiny offline tasks for the results pages' warehouse: a scored ``add`` task (``match()``: accuracy and stderr) and
a ``chat`` task with one errored sample and one stopped by its message limit. Which ``add`` answers are wrong is the
mock model's choice (``answers``), so two eval sets of the same tasks score differently on known samples.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.model import ChatMessage, ChatMessageUser, ModelOutput, ModelUsage
from inspect_ai.scorer import match
from inspect_ai.solver import Generate, Solver, TaskState, generate, solver

ADD_SAMPLES = 8
CHAT_IDS = ("hello", "again", "boom", "chatty")
MESSAGE_LIMIT = 6


@task
def add() -> Task:
    return Task(
        dataset=[Sample(id=i, input=f"What is {i}+{i}?", target=str(2 * i)) for i in range(ADD_SAMPLES)],
        solver=generate(),
        scorer=match(),
    )


@solver
def chat_solver() -> Solver:
    """Raises for ``boom``; keeps talking for ``chatty`` until the message limit stops it."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if state.sample_id == "boom":
            raise RuntimeError("boom: deliberate sample failure")
        state = await generate(state)
        if state.sample_id == "chatty":
            for turn in range(20):
                state.messages.append(ChatMessageUser(content=f"Say {turn}"))
                state = await generate(state)
        return state

    return solve


@solver
def careful() -> Solver:
    """``generate`` under a name of its own: the ``add`` task run by a second agent."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        return await generate(state)

    return solve


@task
def chat() -> Task:
    return Task(
        dataset=[Sample(id=name, input=f"Say {name}", target=name) for name in CHAT_IDS],
        solver=chat_solver(),
        scorer=match(),
        message_limit=MESSAGE_LIMIT,
        fail_on_error=False,
    )


def answers(wrong: Collection[int]) -> Callable[..., Awaitable[ModelOutput]]:
    """A mock model answering ``add`` right except for the sample ids in ``wrong``; every output carries usage
    (mockllm would otherwise count tokens with tiktoken, which downloads its encoding)."""

    async def answer(input: list[ChatMessage], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
        prompt = input[-1].text if input else ""
        if m := re.fullmatch(r"What is (\d+)\+(\d+)\?", prompt):
            i = int(m.group(1))
            content = str(2 * i + (1 if i in wrong else 0))
            usage = ModelUsage(input_tokens=10, output_tokens=2, total_tokens=12)
        else:
            content = prompt.removeprefix("Say ")
            usage = ModelUsage(input_tokens=5, output_tokens=1, total_tokens=6, reasoning_tokens=1)
        output = ModelOutput.from_content(model="mockllm/model", content=content)
        output.usage = usage
        return output

    return answer
