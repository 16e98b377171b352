"""Example Inspect tasks installed as a package, the way task suites such as inspect_evals are."""
