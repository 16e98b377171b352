"""Inspect entry point: importing this registers the ``hawk-mock`` model provider."""

from hawk_runner.mock_provider import hawk_mock  # noqa: F401
