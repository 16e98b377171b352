"""Access settings from the environment, and the model-groups file: format, matching and clear refusals."""

from __future__ import annotations

from pathlib import Path

import pytest

from hawk_dagster.access.model_access_rules import load_rules, load_rules_for, rules_from_text
from hawk_dagster.access.settings import AccessSettings, AccessSettingsError, access_settings_from_env
from hawk_dagster.config.errors import ConfigError
from hawk_dagster.storage.root import StorageRoot

SETTINGS = AccessSettings()

RULES_TEXT = """
default_group: unclassified
groups:
  frontier: ["openai/gpt-5*", "anthropic/claude-opus-*"]
  partner: ["partnerlab/*", "openai/gpt-5-partner"]
  open: ["hawk-mock/*", "mockllm/*"]
"""


def test_settings_defaults_and_env(tmp_path: Path) -> None:
    settings = access_settings_from_env({})
    assert settings == AccessSettings()
    assert (settings.group_prefix, settings.edit_permission, settings.admin_permission) == (
        "model-access-",
        "hawk:edit",
        "hawk:admin",
    )
    assert settings.default_group == "restricted"
    storage = StorageRoot(str(tmp_path))
    assert settings.groups_file_location(storage) == str(tmp_path / "model-groups.yaml")
    custom = access_settings_from_env(
        {
            "HAWK_MODEL_GROUPS_FILE": "s3://bucket/access/groups.yaml",
            "HAWK_MODEL_ACCESS_PREFIX": "grp:",
            "HAWK_EDIT_PERMISSION": "edit",
            "HAWK_ADMIN_PERMISSION": "root",
            "HAWK_DEFAULT_MODEL_GROUP": "internal",
        }
    )
    assert custom.groups_file_location(storage) == "s3://bucket/access/groups.yaml"
    assert (custom.group_prefix, custom.edit_permission, custom.admin_permission, custom.default_group) == (
        "grp:",
        "edit",
        "root",
        "internal",
    )


@pytest.mark.parametrize(
    "name", ["public", "Everyone", "all", "*", "has space", "x'; DROP TABLE eval_set; --"]
)
def test_default_group_is_never_open(name: str) -> None:
    with pytest.raises(AccessSettingsError, match=r"^HAWK_DEFAULT_MODEL_GROUP: "):
        access_settings_from_env({"HAWK_DEFAULT_MODEL_GROUP": name})


def test_matching() -> None:
    rules = rules_from_text(RULES_TEXT, source="model-groups.yaml", settings=SETTINGS)
    assert rules.default_group == "unclassified"
    assert rules.groups_of_model("openai/gpt-5") == {"frontier"}
    assert rules.groups_of_model("openai/gpt-5-mini") == {"frontier"}
    assert rules.groups_of_model("OpenAI/GPT-5") == {"frontier"}, "case cannot slip past a pattern"
    # in several groups: in all of them, and requires all of them
    assert rules.groups_of_model("openai/gpt-5-partner") == {"frontier", "partner"}
    assert rules.groups_of_model("openai/gpt-4o") == {"unclassified"}
    assert rules.groups_of_model("gpt-5") == {"unclassified"}, "patterns cover the full provider/model name"
    assert rules.groups_of_models([]) == {"unclassified"}, "no model is not open to all"
    assert rules.groups_of_models(["hawk-mock/a", "partnerlab/x"]) == {"open", "partner"}


def test_fingerprint_follows_content_not_formatting() -> None:
    a = rules_from_text(RULES_TEXT, source="a", settings=SETTINGS)
    b = rules_from_text(RULES_TEXT.replace("  ", "    ") + "\n# a comment\n", source="b", settings=SETTINGS)
    c = rules_from_text(RULES_TEXT.replace("mockllm/*", "mockllm/x"), source="c", settings=SETTINGS)
    assert a.fingerprint == b.fingerprint != c.fingerprint


def test_missing_file_puts_every_model_in_the_default_group(tmp_path: Path) -> None:
    rules = load_rules_for(StorageRoot(str(tmp_path)), SETTINGS)
    assert not rules.present and rules.groups_of_model("openai/gpt-5") == {"restricted"}


def test_file_read_from_the_storage_root(tmp_path: Path) -> None:
    (tmp_path / "model-groups.yaml").write_text(RULES_TEXT)
    rules = load_rules_for(StorageRoot(str(tmp_path)), SETTINGS)
    assert rules.present and rules.groups_of_model("partnerlab/m") == {"partner"}


@pytest.mark.parametrize(
    "text,field,allowed",
    [
        ("groups: [a]", "groups", "a mapping"),
        ("grups: {}", "grups", "only `groups` and `default_group`"),
        ("groups: {'bad name': [openai/*]}", "groups.bad name", "letters, digits"),
        ('groups: {"x\'; DROP": [openai/*]}', "groups.x'; DROP", "letters, digits"),
        ("groups: {a: []}", "groups.a", "non-empty list"),
        ("groups: {a: [gpt-5]}", "groups.a[0]", "full model name"),
        ("groups: {a: [1]}", "groups.a[0]", "non-empty pattern"),
        ("default_group: public", "default_group", "open to everyone"),
        ("default_group: [x]", "default_group", "a group name"),
        ("- a", "(top level)", "a mapping"),
    ],
)
def test_refusals_name_the_field(tmp_path: Path, text: str, field: str, allowed: str) -> None:
    path = tmp_path / "model-groups.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as raised:
        load_rules(str(path), SETTINGS)
    message = str(raised.value)
    assert f": {field}: " in message and allowed in message, message


def test_yaml_limits_apply(tmp_path: Path) -> None:
    path = tmp_path / "model-groups.yaml"
    path.write_text("a: &a [" + ",".join(["*a"] * 9) + "]\n")
    with pytest.raises(ConfigError):
        load_rules(str(path), SETTINGS)
    path.write_bytes(b"x" * (2 << 20))
    with pytest.raises(ConfigError, match=r"model-groups\.yaml"):
        load_rules(str(path), SETTINGS)
