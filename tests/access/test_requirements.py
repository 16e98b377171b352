"""Which groups an eval set or scan requires: every model it names, wherever it names it."""

from __future__ import annotations

from typing import Any

from hawk_dagster.access.model_access_rules import rules_from_text
from hawk_dagster.access.requirements import config_models, required_groups
from hawk_dagster.access.settings import AccessSettings
from hawk_dagster.config.eval_set import EvalSetConfig
from hawk_dagster.config.scan import ScanConfig

RULES = rules_from_text(
    """
groups:
  frontier: ["openai/gpt-5*"]
  partner: ["partnerlab/*"]
  judges: ["anthropic/*"]
  open: ["hawk-mock/*"]
""",
    source="model-groups.yaml",
    settings=AccessSettings(),
)

TASKS = [{"package": "inspect-ai", "items": [{"name": "t"}]}]


def _eval_set(**fields: Any) -> EvalSetConfig:
    return EvalSetConfig.model_validate({"tasks": TASKS, **fields})


def test_models_and_roles() -> None:
    config = _eval_set(
        models=[{"package": "openai", "name": "openai", "items": [{"name": "gpt-5"}]}],
        model_roles={"grader": {"items": [{"name": "anthropic/claude-x"}]}},
    )
    assert config_models(config) == {"openai/gpt-5", "anthropic/claude-x"}
    assert required_groups(config, RULES) == {"frontier", "judges"}


def test_no_model_requires_the_default_group() -> None:
    assert required_groups(_eval_set(), RULES) == {"restricted"}


def test_unknown_model_adds_the_default_group() -> None:
    config = _eval_set(models=[{"items": [{"name": "hawk-mock/a"}, {"name": "other/model"}]}])
    assert required_groups(config, RULES) == {"open", "restricted"}


def test_models_named_in_arguments_and_fallbacks() -> None:
    config = _eval_set(
        tasks=[{"package": "inspect-ai", "items": [{"name": "t", "args": {"grader_model": "anthropic/c"}}]}],
        models=[{"items": [{"name": "hawk-mock/a", "args": {"default": "partnerlab/fallback"}}]}],
        solvers=[
            {"package": "inspect-ai", "items": [{"name": "s", "args": {"judge_models": ["openai/gpt-5"]}}]}
        ],
        agents=[{"package": "inspect-ai", "items": [{"name": "a", "args": {"model": "not-a-model-name"}}]}],
    )
    assert config_models(config) == {"hawk-mock/a", "partnerlab/fallback", "anthropic/c", "openai/gpt-5"}
    assert required_groups(config, RULES) == {"open", "partner", "judges", "frontier"}


def test_models_the_logs_used_are_added() -> None:
    config = _eval_set(models=[{"items": [{"name": "hawk-mock/a"}]}])
    assert required_groups(config, RULES, extra_models=["openai/gpt-5-mini"]) == {"open", "frontier"}


def _scan(**fields: Any) -> ScanConfig:
    return ScanConfig.model_validate(
        {
            "scanners": [{"package": "inspect-scout", "items": [{"name": "grep_scanner", "args": {}}]}],
            "transcripts": {"sources": [{"eval_set_id": "es-a"}]},
            **fields,
        }
    )


def test_scan_requires_its_models_and_every_source_group() -> None:
    scan = _scan(models=[{"items": [{"name": "anthropic/judge"}]}])
    assert required_groups(scan, RULES, source_groups=[{"frontier"}, {"partner", "open"}]) == {
        "judges",
        "frontier",
        "partner",
        "open",
    }


def test_scan_without_models_requires_its_sources_groups_only() -> None:
    assert required_groups(_scan(), RULES, source_groups=[{"frontier"}]) == {"frontier"}
    assert required_groups(_scan(), RULES) == {"restricted"}, "nothing known: closed"


def test_scanner_arguments_name_models() -> None:
    scan = _scan(
        scanners=[
            {
                "package": "inspect-scout",
                "items": [{"name": "llm_scanner", "args": {"model": "partnerlab/j"}}],
            }
        ]
    )
    assert required_groups(scan, RULES, source_groups=[{"open"}]) == {"partner", "open"}
