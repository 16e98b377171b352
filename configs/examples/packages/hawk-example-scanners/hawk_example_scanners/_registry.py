# Imported through the `inspect_ai` entry point so `hawk_example_scanners/<name>` resolves by registry name.
from hawk_example_scanners.scanners import keyword  # noqa: F401
