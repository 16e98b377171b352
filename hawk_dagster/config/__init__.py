"""Researcher YAML: the eval-set and scan configs as pydantic models, loading with errors that name the file, field
path, what was found and what is allowed, and the published JSON Schemas. Static: nothing is installed or imported."""
