"""The access groups of each eval set and scan, kept beside its logs and in the warehouse, and kept current.

``evals/<id>/.model-groups.json`` and ``scans/<id>/.model-groups.json`` hold the groups, the models they were
computed from (an eval set's config models, then also the models its logs show it used; a scan's scanner models), a
scan's source eval sets, and the fingerprint of the model-groups rules used. They are written at submission (every
entry point: ``hawk local eval-set``, the configs sensors, ``hawk local scan`` and the scan sensor), grown at import
(models only the logs reveal), and recomputed by :func:`refresh_model_groups` when the rules change (``hawk access
refresh``, server start, the ``model_groups_refresh`` sensor). The warehouse's ``model_groups`` columns, which every
read filters on, are written from the same computation, so the file and the column never disagree for long, and
when they do the column is never the more open one: groups only grow between refreshes.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hawk_dagster.access.model_access_rules import ModelAccessRules
from hawk_dagster.access.requirements import config_models, required_groups
from hawk_dagster.config.eval_set import EvalSetConfig
from hawk_dagster.config.scan import ScanConfig
from hawk_dagster.config.yaml_source import UnreadableFileError, read_bounded
from hawk_dagster.storage.root import EVALS, SCANS, StorageRoot

if TYPE_CHECKING:
    from sqlalchemy import Engine

logger = logging.getLogger(__name__)

GROUPS_FILE = ".model-groups.json"
Kind = Literal["evals", "scans"]


@dataclass(frozen=True)
class StoredGroups:
    """What ``.model-groups.json`` holds."""

    groups: tuple[str, ...]
    models: tuple[str, ...]
    rules_fingerprint: str
    sources: tuple[str, ...] = ()
    """A scan's source eval sets (empty for eval sets)."""

    @property
    def groups_set(self) -> frozenset[str]:
        return frozenset(self.groups)

    def to_json(self) -> str:
        return (
            json.dumps(
                {
                    "groups": list(self.groups),
                    "models": list(self.models),
                    "sources": list(self.sources),
                    "rules_fingerprint": self.rules_fingerprint,
                },
                indent=2,
            )
            + "\n"
        )


def read_stored_groups(storage: StorageRoot, kind: Kind, item_id: str) -> StoredGroups | None:
    """The stored groups of an eval set or scan; None when there are none (or they are not what we write: then they
    are recomputed, never trusted)."""
    path = storage.path(kind, item_id, GROUPS_FILE)
    try:
        data = json.loads(read_bounded(path))
    except UnreadableFileError as exc:
        if not exc.missing:
            logger.warning("%s: %s; recomputing", path, exc)
        return None
    except (ValueError, RecursionError):
        logger.warning("%s is not JSON; recomputing", path)
        return None
    try:
        groups = _strings(data["groups"])
        stored = StoredGroups(
            groups=groups,
            models=_strings(data.get("models", [])),
            rules_fingerprint=str(data["rules_fingerprint"]),
            sources=_strings(data.get("sources", [])),
        )
    except (KeyError, TypeError, ValueError):
        logger.warning("%s is not what hawk writes; recomputing", path)
        return None
    return stored if stored.groups else None


def _strings(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError("a list of strings")
    return tuple(value)


def write_stored_groups(storage: StorageRoot, kind: Kind, item_id: str, stored: StoredGroups) -> None:
    if not stored.groups:
        raise ValueError("refusing to store an empty group requirement")
    folder = storage.path(kind, item_id)
    folder.mkdir(parents=True, exist_ok=True)
    folder.joinpath(GROUPS_FILE).write_text(stored.to_json())


def eval_set_stored_groups(
    config: EvalSetConfig, rules: ModelAccessRules, *, extra_models: Iterable[str] = ()
) -> StoredGroups:
    """An eval set's groups from its config (and models its logs used)."""
    models = sorted(config_models(config) | set(extra_models))
    groups = required_groups(config, rules, extra_models=models)
    return StoredGroups(tuple(sorted(groups)), tuple(models), rules.fingerprint)


def scan_stored_groups(
    config: ScanConfig,
    rules: ModelAccessRules,
    *,
    sources: Iterable[str],
    source_groups: Mapping[str, Collection[str]],
) -> StoredGroups:
    """A scan's groups: its models' and every source eval set's (a source with no known groups: the default)."""
    ids = sorted(set(sources))
    per_source = [source_groups.get(i) or (rules.default_group,) for i in ids]
    groups = required_groups(config, rules, source_groups=per_source)
    return StoredGroups(
        tuple(sorted(groups)), tuple(sorted(config_models(config))), rules.fingerprint, tuple(ids)
    )


def _recomputed(stored: StoredGroups, rules: ModelAccessRules, source_groups: Mapping[str, Collection[str]], *,
                scan: bool) -> StoredGroups:  # fmt: skip
    """``stored`` under ``rules`` (and, for a scan, its sources' current groups), from its recorded models."""
    if not scan:
        groups = rules.groups_of_models(stored.models)
        return StoredGroups(tuple(sorted(groups)), stored.models, rules.fingerprint)
    found: set[str] = set(rules.groups_of_models(stored.models)) if stored.models else set()
    for source in stored.sources:
        found |= set(source_groups.get(source) or (rules.default_group,))
    groups = frozenset(found) or frozenset({rules.default_group})
    return StoredGroups(tuple(sorted(groups)), stored.models, rules.fingerprint, stored.sources)


# ------------------------------------------------------------------------------------------------ at submission


def current_rules(storage: StorageRoot) -> ModelAccessRules:
    """The model-groups rules in force for ``storage`` (settings from the environment); ``ConfigError`` when the
    file cannot be used. Submission asks this first, so a broken file refuses a submission before anything is
    written."""
    from hawk_dagster.access.model_access_rules import load_rules_for
    from hawk_dagster.access.settings import access_settings_from_env

    return load_rules_for(storage, access_settings_from_env())


def required_for_submission(storage: StorageRoot, config: EvalSetConfig | ScanConfig) -> frozenset[str]:
    """The groups a principal must hold to submit ``config`` to ``storage`` now (``policy.can_submit``): its models'
    groups, and for a scan also every group of every eval set its sources select today. Raises ``ConfigError`` for
    an unusable model-groups file, and ``scans.sources.UnknownEvalSetError`` for a scan naming an unknown eval set."""
    rules = current_rules(storage)
    if isinstance(config, EvalSetConfig):
        return required_groups(config, rules)
    from hawk_dagster.scans.sources import resolve_eval_sets

    sources = resolve_eval_sets(storage, config)
    return scan_stored_groups(
        config, rules, sources=sources, source_groups=eval_set_groups_of(storage, sources, rules)
    ).groups_set


def record_eval_set_groups(
    storage: StorageRoot, eval_set_id: str, config: EvalSetConfig, rules: ModelAccessRules | None = None
) -> StoredGroups:
    """Compute and store a newly submitted eval set's groups (keeping models its logs already showed)."""
    rules = rules or current_rules(storage)
    earlier = read_stored_groups(storage, EVALS, eval_set_id)
    seen = earlier.models if earlier is not None else ()
    stored = eval_set_stored_groups(config, rules, extra_models=seen)
    write_stored_groups(storage, EVALS, eval_set_id, stored)
    return stored


def record_scan_groups(
    storage: StorageRoot,
    scan_id: str,
    config: ScanConfig,
    sources: Iterable[str],
    rules: ModelAccessRules | None = None,
) -> StoredGroups:
    """Compute and store a scan's groups from its models and its sources' stored groups (at submission, and at each
    cell's import with that cell's eval set among the sources)."""
    rules = rules or current_rules(storage)
    ids = set(sources)
    earlier = read_stored_groups(storage, SCANS, scan_id)
    if earlier is not None:
        ids |= set(earlier.sources)
    stored = scan_stored_groups(
        config, rules, sources=ids, source_groups=eval_set_groups_of(storage, ids, rules)
    )
    write_stored_groups(storage, SCANS, scan_id, stored)
    return stored


def eval_set_groups_of(
    storage: StorageRoot, eval_set_ids: Iterable[str], rules: ModelAccessRules
) -> dict[str, tuple[str, ...]]:
    """The stored groups of each eval set, computed from its submission when none are stored (or they were computed
    under other rules); an eval set with neither is left out (callers then require the default group)."""
    found: dict[str, tuple[str, ...]] = {}
    for eval_set_id in eval_set_ids:
        stored = read_stored_groups(storage, EVALS, eval_set_id)
        if stored is None:
            stored = _from_submission(storage, eval_set_id, rules)
            if stored is None:
                continue
        elif stored.rules_fingerprint != rules.fingerprint:
            stored = _recomputed(stored, rules, {}, scan=False)
        found[eval_set_id] = stored.groups
    return found


def _from_submission(storage: StorageRoot, eval_set_id: str, rules: ModelAccessRules) -> StoredGroups | None:
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.evals.planning import load_submitted_eval_set
    from hawk_dagster.storage.submissions import SubmissionNotFoundError

    try:
        submitted = load_submitted_eval_set(storage, eval_set_id)
    except (SubmissionNotFoundError, ConfigError) as exc:
        logger.warning("eval set %s: no usable submission to compute its groups from: %s", eval_set_id, exc)
        return None
    return eval_set_stored_groups(submitted.loaded.config, rules)


# --------------------------------------------------------------------------------------------------- at import


def log_models(engine: Engine, eval_set_id: str) -> set[str]:
    """Every model the imported logs of an eval set show: evals' models, model roles, and models samples called."""
    from sqlalchemy import select, union

    from hawk_dagster.warehouse.schema.models import Eval, ModelRole, Sample, SampleModel

    query = union(
        select(Eval.model).where(Eval.eval_set_id == eval_set_id),
        select(ModelRole.model)
        .join(Eval, Eval.pk == ModelRole.eval_pk)
        .where(Eval.eval_set_id == eval_set_id),
        select(SampleModel.model)
        .join(Sample, Sample.pk == SampleModel.sample_pk)
        .join(Eval, Eval.pk == Sample.eval_pk)
        .where(Eval.eval_set_id == eval_set_id),
    )
    with engine.connect() as conn:
        return {m for m in conn.execute(query).scalars() if m and m != "none/none"}


def absorb_log_models(
    engine: Engine, storage: StorageRoot, eval_set_id: str, config: EvalSetConfig | None
) -> StoredGroups:
    """After an import: the eval set's groups from its config and every model its logs used, stored beside the logs
    and in the warehouse; scans reading it grow to include them. Returns what was stored."""
    rules = current_rules(storage)
    earlier = read_stored_groups(storage, EVALS, eval_set_id)
    models = log_models(engine, eval_set_id) | set(earlier.models if earlier is not None else ())
    if config is not None:
        stored = eval_set_stored_groups(config, rules, extra_models=models)
    else:
        stored = StoredGroups(
            tuple(sorted(rules.groups_of_models(models))), tuple(sorted(models)), rules.fingerprint
        )
    if stored != earlier:
        write_stored_groups(storage, EVALS, eval_set_id, stored)
    set_eval_set_groups(engine, eval_set_id, stored.groups)
    return stored


def set_eval_set_groups(engine: Engine, eval_set_id: str, groups: Collection[str]) -> None:
    """Write an eval set's groups into the warehouse, and add them to every scan that read it (a scan requires all
    groups of its sources; growing it here keeps that true before the next refresh)."""
    from sqlalchemy import func, select, update

    from hawk_dagster.warehouse.schema.models import EvalSet, Scan, ScanSource

    wanted = sorted(set(groups))
    if not wanted:
        raise ValueError("refusing to store an empty group requirement")
    with engine.begin() as conn:
        conn.execute(
            update(EvalSet)
            .where(EvalSet.eval_set_id == eval_set_id)
            .values(model_groups=wanted, updated_at=func.now())
        )
        readers = conn.execute(
            select(Scan.pk, Scan.model_groups)
            .where(Scan.pk.in_(select(ScanSource.scan_pk).where(ScanSource.eval_set_id == eval_set_id)))
            .with_for_update()
        ).all()
        for scan_pk, held in readers:
            merged = sorted(set(held) | set(wanted))
            if merged != sorted(set(held)):
                conn.execute(
                    update(Scan).where(Scan.pk == scan_pk).values(model_groups=merged, updated_at=func.now())
                )


# ------------------------------------------------------------------------------------------------------ refresh


@dataclass
class RefreshReport:
    """What :func:`refresh_model_groups` changed."""

    rules_fingerprint: str
    eval_sets_rewritten: list[str] = field(default_factory=list)
    scans_rewritten: list[str] = field(default_factory=list)
    warehouse_eval_sets_updated: int = 0
    warehouse_scans_updated: int = 0

    def summary(self) -> str:
        return (
            f"model groups ({self.rules_fingerprint[:19]}): {len(self.eval_sets_rewritten)} eval set(s) and "
            f"{len(self.scans_rewritten)} scan(s) recomputed; warehouse rows updated: "
            f"{self.warehouse_eval_sets_updated} eval set(s), {self.warehouse_scans_updated} scan(s)"
        )


def _folders(storage: StorageRoot, kind: Kind) -> list[str]:
    root = storage.path(kind)
    if not root.exists():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))


def refresh_model_groups(
    storage: StorageRoot, engine: Engine | None, rules: ModelAccessRules | None = None
) -> RefreshReport:
    """Recompute every eval set's and scan's groups whose stored rules differ from the current ones (or that have
    none), rewrite their files, and bring the warehouse's columns to the same values.

    Eval sets first (a scan's groups include its sources'). Rows of the warehouse with no folder in this root keep
    their groups. Safe to run any time and from several places: each write is the same computation.
    """
    if rules is None:
        rules = current_rules(storage)
    report = RefreshReport(rules.fingerprint)
    eval_groups: dict[str, tuple[str, ...]] = {}
    for eval_set_id in _folders(storage, EVALS):
        stored = read_stored_groups(storage, EVALS, eval_set_id)
        if stored is not None and stored.rules_fingerprint == rules.fingerprint:
            eval_groups[eval_set_id] = stored.groups
            continue
        fresh = (
            _recomputed(stored, rules, {}, scan=False)
            if stored is not None
            else _from_submission(storage, eval_set_id, rules)
        )
        if fresh is None:
            continue  # no submission: not an eval set of this root (or one that cannot be read)
        write_stored_groups(storage, EVALS, eval_set_id, fresh)
        report.eval_sets_rewritten.append(eval_set_id)
        eval_groups[eval_set_id] = fresh.groups

    scan_groups: dict[str, tuple[str, ...]] = {}
    warehouse_sources = _warehouse_scan_sources(engine) if engine is not None else {}
    for scan_id in _folders(storage, SCANS):
        stored = read_stored_groups(storage, SCANS, scan_id)
        if stored is None:
            stored = _scan_from_submission(storage, scan_id, rules, eval_groups)
            if stored is None:
                continue
        with_sources = StoredGroups(
            stored.groups,
            stored.models,
            stored.rules_fingerprint,
            tuple(sorted(set(stored.sources) | warehouse_sources.get(scan_id, set()))),
        )
        fresh = _recomputed(with_sources, rules, eval_groups, scan=True)
        if fresh != stored:
            write_stored_groups(storage, SCANS, scan_id, fresh)
            report.scans_rewritten.append(scan_id)
        scan_groups[scan_id] = fresh.groups

    if engine is not None:
        report.warehouse_eval_sets_updated, report.warehouse_scans_updated = _sync_warehouse(
            engine, eval_groups, scan_groups
        )
    logger.info(report.summary())
    return report


def _scan_from_submission(
    storage: StorageRoot, scan_id: str, rules: ModelAccessRules, eval_groups: Mapping[str, Collection[str]]
) -> StoredGroups | None:
    from hawk_dagster.config.errors import ConfigError
    from hawk_dagster.scans.submission import load_submitted_scan
    from hawk_dagster.storage.submissions import SubmissionNotFoundError

    try:
        scan = load_submitted_scan(storage, scan_id)
    except (SubmissionNotFoundError, ConfigError) as exc:
        logger.warning("scan %s: no usable submission to compute its groups from: %s", scan_id, exc)
        return None
    sources = scan.resolution.eval_set_ids
    return scan_stored_groups(scan.loaded.config, rules, sources=sources, source_groups=eval_groups)


def _warehouse_scan_sources(engine: Engine) -> dict[str, set[str]]:
    from sqlalchemy import select

    from hawk_dagster.warehouse.schema.models import Scan, ScanSource

    found: dict[str, set[str]] = {}
    with engine.connect() as conn:
        for scan_id, eval_set_id in conn.execute(
            select(Scan.scan_id, ScanSource.eval_set_id)
            .join(ScanSource, ScanSource.scan_pk == Scan.pk)
            .distinct()
        ):
            found.setdefault(scan_id, set()).add(eval_set_id)
    return found


def _sync_warehouse(
    engine: Engine, eval_groups: Mapping[str, Collection[str]], scan_groups: Mapping[str, Collection[str]]
) -> tuple[int, int]:
    """Set the warehouse's columns to the computed groups where they differ; returns (eval sets, scans) updated."""
    from sqlalchemy import func, select, update

    from hawk_dagster.warehouse.schema.models import EvalSet, Scan

    eval_updates = scan_updates = 0
    with engine.begin() as conn:
        for eval_set_id, stored in conn.execute(select(EvalSet.eval_set_id, EvalSet.model_groups)).all():
            wanted = eval_groups.get(eval_set_id)
            if wanted and sorted(set(stored)) != sorted(set(wanted)):
                conn.execute(
                    update(EvalSet)
                    .where(EvalSet.eval_set_id == eval_set_id)
                    .values(model_groups=sorted(set(wanted)), updated_at=func.now())
                )
                eval_updates += 1
        for scan_id, stored in conn.execute(select(Scan.scan_id, Scan.model_groups)).all():
            wanted = scan_groups.get(scan_id)
            if wanted and sorted(set(stored)) != sorted(set(wanted)):
                conn.execute(
                    update(Scan)
                    .where(Scan.scan_id == scan_id)
                    .values(model_groups=sorted(set(wanted)), updated_at=func.now())
                )
                scan_updates += 1
    return eval_updates, scan_updates
