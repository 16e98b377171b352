"""How the runner turns a plan into ``eval_set`` arguments, and the checks it makes before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hawk_runner.plan import ModelSpec, RunPlan
from hawk_runner.run import PLATFORM_DEFAULTS, eval_set_kwargs
from hawk_runner.secrets import MissingSecretsError, check_secrets, missing_secrets
from inspect_ai import Epochs
from inspect_ai.model import Model


def plan(**changes: object) -> RunPlan:
    return RunPlan.model_validate({"eval_set_id": "es", "log_dir": "/tmp/es", "cells": [], **changes})


def test_platform_defaults_yield_to_the_config(tmp_path: Path) -> None:
    kwargs = eval_set_kwargs(plan(eval_set_args={"display": "plain", "max_samples": 4}), str(tmp_path))
    assert kwargs["display"] == "plain" and kwargs["max_samples"] == 4
    assert kwargs["continue_on_fail"] is PLATFORM_DEFAULTS["continue_on_fail"]


def test_json_shapes_become_inspect_types(tmp_path: Path) -> None:
    approval = {"approvers": [{"name": "auto", "tools": ["bash"]}]}
    kwargs = eval_set_kwargs(
        plan(
            eval_set_args={"limit": [2, 5], "epochs": {"epochs": 3, "reducer": "mean"}, "approval": approval},
            model_roles={"grader": ModelSpec(name="hawk-mock/grader", args={"accuracy": 0.5})},
        ),
        str(tmp_path),
    )
    assert kwargs["limit"] == (2, 5)
    assert isinstance(kwargs["epochs"], Epochs) and kwargs["epochs"].epochs == 3
    assert yaml.safe_load(Path(kwargs["approval"]).read_text()) == approval
    grader = kwargs["model_roles"]["grader"]
    assert isinstance(grader, Model) and grader.name == "grader"


def test_missing_secrets_are_named_with_the_fix() -> None:
    required = plan(required_secrets=["A_TOKEN", "B_TOKEN"]).required_secrets
    assert missing_secrets(required, {"A_TOKEN": "x", "B_TOKEN": ""}) == ["B_TOKEN"]
    with pytest.raises(MissingSecretsError) as raised:
        check_secrets(required, {"A_TOKEN": "a-value", "B_TOKEN": ""})
    message = str(raised.value)
    assert raised.value.missing == ["B_TOKEN"]
    assert "--secret B_TOKEN" in message and "--secrets-file" in message and "a-value" not in message
    check_secrets(required, {"A_TOKEN": "x", "B_TOKEN": "y"})


def test_a_plan_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError):
        plan(secrets={"A": "value"})
