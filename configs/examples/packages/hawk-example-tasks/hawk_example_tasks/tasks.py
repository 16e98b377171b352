from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import match


@task
def subtraction(n: int = 5) -> Task:
    samples = [
        Sample(
            id=f"sub{i}",
            input=f"What is {100 + i} - {i * 3}? Reply with the number only.",
            target=str(100 - 2 * i),
        )
        for i in range(1, n + 1)
    ]
    return Task(dataset=samples, scorer=match(numeric=True))
