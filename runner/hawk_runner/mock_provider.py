"""``hawk-mock/<name>``: an offline, deterministic model provider for examples, tests and benchmarks.

Inspect's own ``mockllm`` downloads a tokenizer unless every output carries ``usage`` and cannot be scripted from
YAML, so a grid written in YAML could not run offline with it. This provider always reports usage, never counts tokens
with a tokenizer, and behaves like a (weak) agent so agentic tasks run end to end:

- a question of the form ``... 12 + 7 ...`` (``+ - * x``, or the multiplication sign) gets the computed answer, otherwise the prompt's last line
  is echoed back;
- with a ``bash`` tool and no tool result yet it runs ``bash_command``; once a tool result is in, it submits that
  result through ``submit`` when that tool exists (the shape of a solved CTF);
- ``accuracy`` (0..1) makes a deterministic share of text answers wrong (seeded by model name and prompt), so two
  mock models score differently; ``latency`` (seconds) makes each call take that long, to exercise concurrency,
  progress reporting and kills mid-run.

Model args (YAML ``models[].items[].args``): ``accuracy``, ``latency``, ``bash_command``, ``answer`` (a fixed reply).
"""

from __future__ import annotations

import hashlib
import operator
import re
from typing import Any

import anyio
from inspect_ai.model import (
    ChatMessage,
    ChatMessageTool,
    GenerateConfig,
    ModelAPI,
    ModelOutput,
    ModelUsage,
    modelapi,
)
from inspect_ai.tool import ToolChoice, ToolInfo

PROVIDER = "hawk-mock"

_ARITHMETIC = re.compile(r"(-?\d+)\s*([+\-*x\u00d7])\s*(-?\d+)")
_OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "x": operator.mul, "\u00d7": operator.mul}


def _tokens(text: str) -> int:
    return max(1, len(text) // 4)


class HawkMockAPI(ModelAPI):
    def __init__(
        self,
        model_name: str,
        base_url: str | None = None,
        api_key: str | None = None,
        config: GenerateConfig | None = None,
        accuracy: float = 1.0,
        latency: float = 0.0,
        bash_command: str = "cat flag.txt",
        answer: str | None = None,
        **model_args: Any,
    ) -> None:
        super().__init__(model_name, base_url, api_key, [], config or GenerateConfig())
        if not 0.0 <= float(accuracy) <= 1.0:
            raise ValueError(f"hawk-mock: accuracy must be between 0 and 1, got {accuracy!r}")
        if float(latency) < 0:
            raise ValueError(f"hawk-mock: latency must be >= 0 seconds, got {latency!r}")
        self.accuracy = float(accuracy)
        self.latency = float(latency)
        self.bash_command = bash_command
        self.answer = answer

    async def count_text_tokens(self, text: str) -> int:
        return _tokens(text)

    def max_connections(self) -> int:
        return 1000

    async def generate(
        self,
        input: list[ChatMessage],
        tools: list[ToolInfo],
        tool_choice: ToolChoice,
        config: GenerateConfig,
    ) -> ModelOutput:
        if self.latency:
            await anyio.sleep(self.latency)
        model = f"{PROVIDER}/{self.model_name}"
        tool_names = {t.name for t in tools}
        tool_results = [m for m in input if isinstance(m, ChatMessageTool)]
        prompt = next((m.text for m in input if m.role == "user"), "")

        if "bash" in tool_names and not tool_results:
            output = ModelOutput.for_tool_call(model, "bash", {"command": self.bash_command})
        elif "submit" in tool_names:
            answer = tool_results[-1].text.strip() if tool_results else self._text_answer(prompt)
            output = ModelOutput.for_tool_call(model, "submit", {"answer": answer})
        else:
            output = ModelOutput.from_content(model, self._text_answer(prompt))

        prompt_tokens = sum(_tokens(m.text) for m in input)
        completion_tokens = _tokens(output.completion or str(output.message.tool_calls or ""))
        output.usage = ModelUsage(
            input_tokens=prompt_tokens,
            output_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )
        return output

    def _text_answer(self, prompt: str) -> str:
        if self.answer is not None:
            return self.answer
        match = _ARITHMETIC.search(prompt)
        if match is None:
            lines = [line for line in prompt.strip().splitlines() if line.strip()]
            return lines[-1] if lines else ""
        value = _OPS[match.group(2)](int(match.group(1)), int(match.group(3)))
        return str(value if self._answers_correctly(prompt) else value + 1)

    def _answers_correctly(self, prompt: str) -> bool:
        digest = hashlib.sha256(f"{self.model_name}\0{prompt}".encode()).digest()
        return int.from_bytes(digest[:4], "big") / 2**32 < self.accuracy


@modelapi(name=PROVIDER)
def hawk_mock() -> type[ModelAPI]:
    return HawkMockAPI
