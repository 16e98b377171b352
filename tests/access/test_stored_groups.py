"""Groups stored beside the logs on a local folder and on S3: written at submission, read back, refreshed; the
model-groups file read from the root or from where HAWK_MODEL_GROUPS_FILE points."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, text

from hawk_dagster.access.stored_groups import (
    GROUPS_FILE,
    absorb_log_models,
    read_stored_groups,
    record_scan_groups,
    refresh_model_groups,
)
from hawk_dagster.config.loader import load_eval_set_config, load_scan_config
from hawk_dagster.evals.intake import EVAL_SET_CONFIGS_KIND
from hawk_dagster.storage.root import StorageRoot
from hawk_dagster.storage.submissions import Submission
from hawk_dagster.warehouse.ingest.importer import import_eval_set

RULES = 'groups:\n  frontier: ["openai/gpt-5*"]\n  judges: ["anthropic/*"]\n'


def _config(eval_set_id: str, *models: str) -> str:
    items = "".join(f"      - name: {m}\n" for m in models)
    return f"eval_set_id: {eval_set_id}\ntasks:\n  - package: inspect-ai\n    items:\n      - name: t\n" + (
        f"models:\n  - items:\n{items}" if models else ""
    )


def _submit(storage: StorageRoot, eval_set_id: str, *models: str) -> None:
    text_ = _config(eval_set_id, *models)
    loaded = load_eval_set_config(f"{eval_set_id}.yaml", text=text_)
    EVAL_SET_CONFIGS_KIND.submit(
        storage, loaded, Submission.new(eval_set_id, text_, source=f"{eval_set_id}.yaml", base_dir=None)
    )


def test_written_at_submission_and_refreshed(storage_root: str) -> None:
    storage = StorageRoot(storage_root)
    storage.path().mkdir(parents=True, exist_ok=True)
    storage.path("model-groups.yaml").write_text(RULES)
    _submit(storage, "es-1", "openai/gpt-5", "anthropic/claude")
    _submit(storage, "es-2")
    one = read_stored_groups(storage, "evals", "es-1")
    assert one is not None and one.groups == ("frontier", "judges")
    assert one.models == ("anthropic/claude", "openai/gpt-5") and one.rules_fingerprint.startswith("sha256:")
    two = read_stored_groups(storage, "evals", "es-2")
    assert two is not None and two.groups == ("restricted",), "no model: the default group"
    raw = json.loads(storage.path("evals", "es-1", GROUPS_FILE).read_text())
    assert set(raw) == {"groups", "models", "sources", "rules_fingerprint"}

    scan_text = (
        "scan_id: sc\nscanners:\n  - package: inspect-scout\n    items:\n      - name: grep_scanner\n"
        "transcripts:\n  sources:\n    - eval_set_id: es-1\n    - eval_set_id: es-2\n"
    )
    scan = record_scan_groups(
        storage, "sc", load_scan_config("sc.yaml", text=scan_text).config, ["es-1", "es-2"]
    )
    assert scan.groups == ("frontier", "judges", "restricted") and scan.sources == ("es-1", "es-2")

    storage.path("model-groups.yaml").write_text(
        'default_group: internal\ngroups:\n  all-openai: ["openai/*"]\n'
    )
    report = refresh_model_groups(storage, None)
    assert report.eval_sets_rewritten == ["es-1", "es-2"] and report.scans_rewritten == ["sc"]
    one = read_stored_groups(storage, "evals", "es-1")
    assert one is not None and one.groups == ("all-openai", "internal")
    rescanned = read_stored_groups(storage, "scans", "sc")
    assert rescanned is not None and rescanned.groups == ("all-openai", "internal")
    assert refresh_model_groups(storage, None).scans_rewritten == []


def test_groups_file_elsewhere(storage_root: str, tmp_path_factory: pytest.TempPathFactory,
                               monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    storage = StorageRoot(storage_root)
    storage.path().mkdir(parents=True, exist_ok=True)
    storage.path("model-groups.yaml").write_text('groups:\n  ignored: ["openai/*"]\n')
    elsewhere = tmp_path_factory.mktemp("groups") / "groups.yaml"
    elsewhere.write_text('groups:\n  chosen: ["openai/*"]\n')
    monkeypatch.setenv("HAWK_MODEL_GROUPS_FILE", str(elsewhere))
    _submit(storage, "es-x", "openai/gpt-4o")
    stored = read_stored_groups(storage, "evals", "es-x")
    assert stored is not None and stored.groups == ("chosen",)


def test_import_adds_the_logs_models_and_grows_readers(tmp_path_factory: pytest.TempPathFactory,
                                                       warehouse_engine: Engine) -> None:  # fmt: skip
    """Models only the warehouse knows (here an eval row's model) join the eval set's groups, and scans reading it
    grow with them; an unusable file leaves everything as it was."""
    root = tmp_path_factory.mktemp("root")
    storage = StorageRoot(str(root))
    (root / "model-groups.yaml").write_text(RULES)
    _submit(storage, "es-1", "anthropic/judge")
    import_eval_set(warehouse_engine, str(root / "evals" / "es-1"), "es-1", model_groups=["judges"])
    with warehouse_engine.begin() as conn:
        conn.execute(
            text("""INSERT INTO eval (eval_set_id, task_id, eval_id, task_name, model, status, location,
                             file_hash) VALUES ('es-1', 't', 'e', 'task', 'openai/gpt-5', 'success', 'x', 'h')""")
        )
        scan_pk = conn.execute(
            text("INSERT INTO scan (scan_id, model_groups) VALUES ('sc', '{judges}') RETURNING pk")
        ).scalar_one()
        conn.execute(
            text(
                "INSERT INTO scan_source (scan_pk, eval_set_id, location, complete) VALUES (:s, 'es-1', 'x', true)"
            ),
            {"s": scan_pk},
        )
    stored = absorb_log_models(warehouse_engine, storage, "es-1", None)
    assert stored.groups == ("frontier", "judges") and "openai/gpt-5" in stored.models
    with warehouse_engine.connect() as conn:
        assert conn.execute(text("SELECT model_groups FROM eval_set")).scalar_one() == ["frontier", "judges"]
        assert conn.execute(text("SELECT model_groups FROM scan")).scalar_one() == ["frontier", "judges"]
    on_disk = read_stored_groups(storage, "evals", "es-1")
    assert on_disk == stored

    from hawk_dagster.evals.warehouse_import import import_eval_set_logs

    (root / "model-groups.yaml").write_text("groups: 3\n")
    report = import_eval_set_logs(warehouse_engine, storage, "es-1")  # does not raise
    assert report.ok
    assert read_stored_groups(storage, "evals", "es-1") == stored


def test_what_a_submission_requires(tmp_path_factory: pytest.TempPathFactory) -> None:
    from hawk_dagster.access.policy import can_submit
    from hawk_dagster.access.principal import principal_from_permissions
    from hawk_dagster.access.settings import AccessSettings
    from hawk_dagster.access.stored_groups import required_for_submission

    storage = StorageRoot(str(tmp_path_factory.mktemp("root")))
    storage.path().mkdir(parents=True, exist_ok=True)
    storage.path("model-groups.yaml").write_text(RULES)
    _submit(storage, "es-1", "openai/gpt-5")
    eval_set = load_eval_set_config("x.yaml", text=_config("es-2", "anthropic/c")).config
    assert required_for_submission(storage, eval_set) == {"judges"}
    scan = load_scan_config(
        "sc.yaml",
        text="scanners:\n  - package: inspect-scout\n    items:\n      - name: llm_scanner\n"
        "models:\n  - items:\n      - name: anthropic/judge\n"
        "transcripts:\n  sources:\n    - eval_set_id_pattern: 'es-*'\n",
    ).config
    required = required_for_submission(storage, scan)
    assert required == {"frontier", "judges"}
    judges_only = principal_from_permissions("u", ["model-access-judges"], AccessSettings())
    assert not can_submit(judges_only, required), "a scan needs its sources' groups too"
