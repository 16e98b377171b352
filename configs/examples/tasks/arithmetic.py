"""Two small offline tasks for the examples: questions the hawk-mock model can answer (or get wrong)."""

from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import match


def _samples(op: str, n: int, seed: int) -> list[Sample]:
    samples = []
    for i in range(1, n + 1):
        a, b = (i * 7 + seed) % 50 + 1, (i * 13 + seed * 3) % 40 + 1
        value = a + b if op == "+" else a * b
        samples.append(
            Sample(
                id=f"{op}{i}",
                input=f"What is {a} {op} {b}? Reply with the number only.",
                target=str(value),
                metadata={"a": a, "b": b},
            )
        )
    return samples


@task
def addition(n: int = 10) -> Task:
    return Task(dataset=_samples("+", n, seed=1), scorer=match(numeric=True))


@task
def multiplication(n: int = 10) -> Task:
    return Task(dataset=_samples("*", n, seed=2), scorer=match(numeric=True))
