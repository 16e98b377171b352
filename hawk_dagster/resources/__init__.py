"""Dagster resources: thin wrappers that hand plain-module objects to assets and sensors."""

from hawk_dagster.resources.storage import StorageResource

__all__ = ["StorageResource"]
