"""Eval-set configs: pydantic models, loading with researcher-readable errors, grid expansion, JSON Schema."""

from hawk_dagster.config.errors import ConfigError, ConfigIssue
from hawk_dagster.config.eval_set import EvalSetConfig
from hawk_dagster.config.grid import (
    build_run_plan,
    eval_set_args,
    expand_grid,
    model_roles,
    required_packages,
)
from hawk_dagster.config.ids import (
    EVAL_SET_ID_MAX_LENGTH,
    EVAL_SET_ID_PATTERN,
    eval_set_id_from_filename,
    generate_eval_set_id,
    validate_eval_set_id,
)
from hawk_dagster.config.loader import LoadedEvalSet, load_eval_set_config
from hawk_dagster.config.schema import eval_set_json_schema, render_markdown_reference

__all__ = [
    "EVAL_SET_ID_MAX_LENGTH",
    "EVAL_SET_ID_PATTERN",
    "ConfigError",
    "ConfigIssue",
    "EvalSetConfig",
    "LoadedEvalSet",
    "build_run_plan",
    "eval_set_args",
    "eval_set_id_from_filename",
    "eval_set_json_schema",
    "expand_grid",
    "generate_eval_set_id",
    "load_eval_set_config",
    "model_roles",
    "render_markdown_reference",
    "required_packages",
    "validate_eval_set_id",
]
