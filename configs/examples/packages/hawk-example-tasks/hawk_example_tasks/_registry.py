from hawk_example_tasks.tasks import subtraction

__all__ = ["subtraction"]
