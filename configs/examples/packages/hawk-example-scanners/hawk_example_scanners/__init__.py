"""Example Inspect Scout scanners for hawk-dagster: ``hawk_example_scanners/keyword``."""

from hawk_example_scanners.scanners import keyword

__all__ = ["keyword"]
