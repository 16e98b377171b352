"""Tiny offline Inspect tasks for the warehouse tests (loaded by file path, and run as a script in a subprocess).

Every mock output carries ``usage``: without it ``mockllm`` counts tokens with tiktoken, which downloads its
encoding and fails offline. Every task sets ``message_limit`` so a misbehaving mock cannot loop for ever.

As a script: ``python eval_tasks.py LOG_DIR`` runs the ``slow`` task (the resume test kills it part-way).
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any

import anyio
from inspect_ai import Epochs, Task, eval_set, task
from inspect_ai.dataset import Sample
from inspect_ai.model import (
    ChatCompletionChoice,
    ChatMessage,
    ChatMessageAssistant,
    ChatMessageUser,
    ContentReasoning,
    ContentText,
    ModelOutput,
    ModelUsage,
    get_model,
)
from inspect_ai.scorer import (
    Metric,
    SampleScore,
    Score,
    Scorer,
    Target,
    match,
    mean,
    metric,
    scorer,
)
from inspect_ai.solver import Generate, Solver, TaskState, solver
from inspect_ai.tool import Tool, ToolError, tool

TASKS_FILE = Path(__file__).resolve()
MOCK_MODEL = "mockllm/model"
DELAY_ENV = "HAWK_TEST_MOCK_DELAY"

ARITH_SAMPLES = 6
ARITH_WRONG_ID = "add-3"
MULTI_IDS = (1, 2, 3, 4, 5)
MULTI_EPOCHS = 2
CHATTY_ID = 4
BOOM_ID = 5
VERDICTS = {1: "C", 2: "P", 3: "maybe", 4: "N", 5: "C"}
SLOW_SAMPLES = 10
AGENT_MODEL = "mockllm/agent"
GRADER_MODEL = "mockllm/grader"
AGENT_IDS = ("find-alpha", "find-beta")


async def mock_answer(input: list[ChatMessage], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
    """Deterministic answers; the delay (seconds) comes from the environment so it is not part of task identity."""
    delay = float(os.environ.get(DELAY_ENV, "0") or 0)
    if delay:
        await anyio.sleep(delay)
    prompt = input[-1].text if input else ""
    if m := re.fullmatch(r"What is (\d+)\+(\d+)\?", prompt):
        a, b = int(m.group(1)), int(m.group(2))
        content = str(a + b + (1 if f"add-{a}" == ARITH_WRONG_ID else 0))
        usage = ModelUsage(input_tokens=10, output_tokens=1, total_tokens=11)
    elif m := re.fullmatch(r"Say (\d+)", prompt):
        content = m.group(1)
        usage = ModelUsage(
            input_tokens=7, output_tokens=2, total_tokens=9, input_tokens_cache_read=3, reasoning_tokens=1
        )
    else:
        content = prompt
        usage = ModelUsage(input_tokens=3, output_tokens=1, total_tokens=4)
    output = ModelOutput.from_content(model=MOCK_MODEL, content=content)
    output.usage = usage
    return output


@task
def arith(n: int = ARITH_SAMPLES) -> Task:
    """Addition with ``match()``: C/I string scores, one wrong answer."""
    return Task(
        dataset=[
            Sample(id=f"add-{i}", input=f"What is {i}+{i}?", target=str(2 * i), metadata={"i": i})
            for i in range(n)
        ],
        scorer=match(),
        message_limit=6,
    )


@solver
def multi_solver() -> Solver:
    """Raises for the 'boom' sample; keeps talking for the 'chatty' one until the message limit stops it."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        if state.metadata.get("kind") == "boom":
            raise RuntimeError("boom: deliberate sample failure")
        state = await generate(state)
        if state.metadata.get("kind") == "chatty":
            for turn in range(10):
                state.messages.append(ChatMessageUser(content=f"and again {turn}"))
                state = await generate(state)
        return state

    return solve


@metric
def scored_count() -> Metric:
    """Counts scores without converting values (``mean`` would turn "maybe" into a silent 0)."""

    def compute(scores: list[SampleScore]) -> float:
        return float(len(scores))

    return compute


@scorer(metrics={"exact": [mean()], "len_ok": [mean()]})
def parts() -> Scorer:
    """A dict-valued scorer: one float key, one bool key."""

    async def score(state: TaskState, target: Target) -> Score:
        completion = state.output.completion
        return Score(
            value={"exact": 1.0 if completion == target.text else 0.0, "len_ok": len(completion) < 5},
            answer=completion,
            explanation=f"compared {completion!r} with {target.text!r}",
            metadata={"target": target.text},
        )

    return score


@scorer(metrics=[scored_count()])
def verdict() -> Scorer:
    """Categorical values C/P/N plus one that is not numeric at all."""

    async def score(state: TaskState, target: Target) -> Score:
        return Score(value=VERDICTS[int(state.sample_id)])

    return score


@task
def multi() -> Task:
    """Int ids, two epochs, a dict scorer, a categorical scorer, one erroring and one limit-hitting sample."""
    kinds = {BOOM_ID: "boom", CHATTY_ID: "chatty"}
    return Task(
        dataset=[
            Sample(id=i, input=f"Say {i}", target=str(i), metadata={"kind": kinds.get(i, "plain")})
            for i in MULTI_IDS
        ],
        solver=multi_solver(),
        scorer=[parts(), verdict()],
        epochs=Epochs(MULTI_EPOCHS, "mode"),
        fail_on_error=False,
        message_limit=4,
    )


@task
def slow(n: int = SLOW_SAMPLES) -> Task:
    """Echo task for the kill-and-resume test."""
    return Task(
        dataset=[Sample(id=f"s-{i}", input=f"echo {i}", target=f"echo {i}") for i in range(n)],
        scorer=match(),
        message_limit=4,
    )


@tool
def lookup() -> Tool:
    """A local tool: succeeds for most keys, raises a tool error for ``missing``."""

    async def execute(key: str) -> str:
        """Look a key up.

        Args:
          key: The key to look up.
        """
        if key == "missing":
            raise ToolError("no such key: missing")
        return f"value of {key}: 42"

    return execute


async def agent_answer(input: list[ChatMessage], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
    """Two tool calls (the second fails), then a final answer with a reasoning part."""
    tool_results = sum(1 for m in input if m.role == "tool")
    if tools and tool_results == 0:
        output = ModelOutput.for_tool_call(AGENT_MODEL, "lookup", {"key": "alpha"})
    elif tools and tool_results == 1:
        output = ModelOutput.for_tool_call(AGENT_MODEL, "lookup", {"key": "missing"})
    else:
        message = ChatMessageAssistant(
            content=[
                ContentReasoning(reasoning="alpha is 42; missing does not exist."),
                ContentText(text="42"),
            ],
            model=AGENT_MODEL,
        )
        output = ModelOutput(
            model=AGENT_MODEL, choices=[ChatCompletionChoice(message=message, stop_reason="stop")]
        )
    output.usage = ModelUsage(input_tokens=5, output_tokens=2, total_tokens=7)
    return output


async def grader_answer(input: list[ChatMessage], tools: Any, tool_choice: Any, config: Any) -> ModelOutput:
    output = ModelOutput.from_content(model=GRADER_MODEL, content="looks right")
    output.usage = ModelUsage(input_tokens=4, output_tokens=2, total_tokens=6)
    return output


@solver
def agent_solver() -> Solver:
    """A tool loop, then one call to the ``grader`` role's model."""

    async def solve(state: TaskState, generate: Generate) -> TaskState:
        state.tools = [lookup()]
        state = await generate(state, tool_calls="loop")
        verdict = await get_model(role="grader").generate("Is the answer right?")
        state.metadata["grader"] = verdict.completion
        return state

    return solve


@task
def agentic() -> Task:
    """Multi-turn transcripts: tool calls, a tool error, reasoning content, and a second model (the grader role)."""
    return Task(
        dataset=[Sample(id=i, input=f"Find {i.split('-')[1]} for me.", target="42") for i in AGENT_IDS],
        solver=agent_solver(),
        scorer=match(),
        message_limit=12,
    )


def run_agentic(log_dir: str) -> bool:
    """The agentic task with the grader role, into ``log_dir``."""
    from inspect_ai import eval as inspect_eval

    (log,) = inspect_eval(
        f"{TASKS_FILE}@agentic",
        model=get_model(AGENT_MODEL, custom_outputs=agent_answer),
        model_roles={"grader": get_model(GRADER_MODEL, custom_outputs=grader_answer)},
        log_dir=log_dir,
        display="none",
    )
    return log.status == "success"


def run_slow(log_dir: str) -> bool:
    """The resume scenario's eval_set call; identical arguments in the killed and the resumed run."""
    ok, _ = eval_set(
        [f"{TASKS_FILE}@slow"],
        log_dir=log_dir,
        model=MOCK_MODEL,
        model_args={"custom_outputs": mock_answer},
        display="none",
        max_samples=2,
        log_buffer=2,
        retry_attempts=1,
    )
    return ok


if __name__ == "__main__":
    sys.exit(0 if run_slow(sys.argv[1]) else 1)
