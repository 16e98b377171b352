"""Generate (and cache) a large Inspect ``.eval`` log with multi-turn tool-using transcripts, fully offline.

The log comes from a real ``inspect_ai.eval`` run, so its members are exactly what Inspect writes (condensed events,
``events_data`` pools, attachments, journal and summaries), with the ``hawk-mock`` provider
(``runner/hawk_runner/mock_provider.py``) as the model:

- each sample's input names a small sum and carries a few dozen random words (so text search has something to find);
- the solver runs ``TURNS`` agent steps: a user instruction, a model call with a ``bash`` tool (hawk-mock calls it),
  the tool's output (a few hundred characters of random words, some steps failing with a tool error), then a final
  ``generate()`` in which hawk-mock answers the sum (``accuracy`` 0.8, so some answers are wrong);
- about 1 % of samples raise (error samples) and about 1 % keep talking until the message limit stops them;
- scorers: ``match()`` (C/I) and a dict-valued ``steps`` scorer.

Usage::

    uv run python benchmarks/make_big_log.py                  # 10,000 samples, prints the cached file's path
    uv run python benchmarks/make_big_log.py --samples 500    # smaller
    uv run python benchmarks/make_big_log.py --force          # regenerate

The file is cached under ``$HAWK_BENCH_CACHE`` (default: ``<tmp>/hawk-bench-cache``), keyed by sample count and a
generator version, so the import benchmark generates it once per machine (about a minute per 2,000 samples on 2 cores).
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

GENERATOR_VERSION = 1
TURNS = 3
MESSAGE_LIMIT = 40

_WORDS = (
    "alpha bravo charlie delta echo foxtrot golf hotel india juliet kilo lima mike november oscar papa quebec "
    "romeo sierra tango uniform victor whiskey xray yankee zulu amber basalt cobalt dune ember fjord glacier "
    "harbor island jasper kelp lagoon meadow nebula orchard prairie quartz ridge summit tundra umber valley "
    "willow zephyr anchor beacon canyon drift estuary falcon grove heron inlet juniper kestrel lantern mesa "
    "nectar osprey pebble quiver raven sable thistle upland vortex wren yarrow zenith archive buffer cache "
    "daemon kernel module packet queue socket thread vector widget yield parser lexer token schema index"
).split()


def cache_dir() -> Path:
    """Where generated logs are kept between runs."""
    configured = os.environ.get("HAWK_BENCH_CACHE", "").strip()
    return Path(configured) if configured else Path(tempfile.gettempdir()) / "hawk-bench-cache"


def _words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(_WORDS) for _ in range(n))


def _build_task(samples: int):  # type: ignore[no-untyped-def]
    from inspect_ai import Task
    from inspect_ai.dataset import Sample
    from inspect_ai.model import ChatMessageUser, execute_tools, get_model
    from inspect_ai.scorer import Score, Scorer, Target, match, mean, scorer
    from inspect_ai.solver import Generate, Solver, TaskState, solver
    from inspect_ai.tool import Tool, ToolError, tool

    counter = iter(range(10**9))

    @tool(name="bash")
    def fake_bash() -> Tool:
        async def execute(command: str) -> str:
            """Run a shell command in the (simulated) workspace.

            Args:
              command: The command to run.
            """
            n = next(counter)
            rng = random.Random(n)
            if n % 17 == 5:
                raise ToolError(f"{command}: permission denied ({_words(rng, 3)})")
            lines = [f"{rng.randrange(10**6):06d} {_words(rng, rng.randrange(4, 9))}" for _ in range(8)]
            return f"$ {command}\n" + "\n".join(lines)

        return execute

    @solver
    def agent_steps() -> Solver:
        async def solve(state: TaskState, generate: Generate) -> TaskState:
            kind = state.metadata["kind"]
            if kind == "boom":
                raise RuntimeError(f"simulated agent crash in sample {state.sample_id}")
            model = get_model()
            tools = [fake_bash()]
            rng = random.Random(f"{state.sample_id}-steps")
            steps = 12 if kind == "chatty" else TURNS
            for step in range(steps):
                ask = ChatMessageUser(content=f"Step {step + 1}: inspect the workspace ({_words(rng, 8)}).")
                state.messages.append(ask)
                # Only the step's instruction goes to the model, so hawk-mock calls the tool on every step.
                output = await model.generate([ask], tools=tools)
                state.messages.append(output.message)
                result = await execute_tools([ask, output.message], tools)
                state.messages.extend(result.messages)
            state.messages.append(ChatMessageUser(content="Now give the final answer: just the number."))
            return await generate(state)

        return solve

    @scorer(metrics={"tool_calls": [mean()], "finished": [mean()]})
    def steps() -> Scorer:
        async def score(state: TaskState, target: Target) -> Score:
            calls = sum(len(m.tool_calls or []) for m in state.messages if m.role == "assistant")
            return Score(
                value={"tool_calls": float(calls), "finished": bool(state.output.completion)},
                explanation=f"{calls} tool calls",
            )

        return score

    def sample(i: int) -> Sample:
        rng = random.Random(i)
        a, b = rng.randrange(1000), rng.randrange(1000)
        kind = "boom" if i % 97 == 13 else ("chatty" if i % 101 == 7 else "plain")
        return Sample(
            id=f"s{i:05d}",
            input=f"Task {i}: what is {a} + {b}? Context: {_words(rng, 30)}",
            target=str(a + b),
            metadata={"kind": kind, "group": i % 10},
        )

    return Task(
        name="agentic_sums",
        dataset=[sample(i) for i in range(samples)],
        solver=agent_steps(),
        scorer=[match(), steps()],
        message_limit=MESSAGE_LIMIT,
        fail_on_error=False,
    )


def make_big_log(samples: int = 10_000, *, force: bool = False, quiet: bool = False) -> Path:
    """Path of a cached ``.eval`` log with ``samples`` samples, generating it if needed."""
    target_dir = cache_dir() / f"v{GENERATOR_VERSION}-{samples}"
    existing = sorted(target_dir.glob("*.eval"))
    if existing and not force:
        return existing[-1]
    for old in existing:
        old.unlink()
    target_dir.mkdir(parents=True, exist_ok=True)
    state = cache_dir() / "inspect-state"
    os.environ.setdefault("XDG_DATA_HOME", str(state / "data"))
    os.environ.setdefault("XDG_CACHE_HOME", str(state / "cache"))
    os.environ["INSPECT_DISPLAY"] = "none"
    os.environ.setdefault("INSPECT_LOG_LEVEL", "warning")

    import hawk_runner.mock_provider  # noqa: F401  registers hawk-mock
    from inspect_ai import eval as inspect_eval

    started = time.monotonic()
    work_dir = target_dir / "partial"
    (log,) = inspect_eval(
        _build_task(samples),
        model="hawk-mock/bench",
        model_args={"accuracy": 0.8, "bash_command": "ls -la /workspace"},
        log_dir=str(work_dir),
        display="none",
        max_samples=256,
        log_buffer=500,
        fail_on_error=False,
        score_display=False,
    )
    produced = Path(log.location)
    final = target_dir / produced.name
    produced.replace(final)
    work_dir.rmdir() if not any(work_dir.iterdir()) else None
    if not quiet:
        print(
            f"generated {samples} samples in {time.monotonic() - started:.1f}s: {final} "
            f"({final.stat().st_size / 1e6:.1f} MB, status {log.status})",
            file=sys.stderr,
        )
    return final


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--samples", type=int, default=10_000)
    parser.add_argument("--force", action="store_true", help="regenerate even if cached")
    args = parser.parse_args(argv)
    print(make_big_log(args.samples, force=args.force))
    return 0


if __name__ == "__main__":
    sys.exit(main())
