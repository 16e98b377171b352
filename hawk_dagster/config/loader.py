"""Load an eval-set config: read, parse, validate, check local task sources, and collect warnings.

Everything is static: no package is installed and no task is imported, so the same call serves ``hawk validate`` on
a laptop, the CLI before submission, and the sensor that picks configs up from the bucket.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import ValidationError

from hawk_dagster.config.carried import CarriedFilesError, CarriedResolver
from hawk_dagster.config.errors import (
    ConfigError,
    ConfigIssue,
    Loc,
    describe_value,
    format_path,
    issues_from_validation_error,
    short_text,
    suggest,
)
from hawk_dagster.config.eval_set import (
    RESERVED_TOP_LEVEL_KEYS,
    TOP_LEVEL_KEYS,
    ApprovalConfig,
    CyberTaskGroup,
    EvalSetConfig,
    FileTaskGroup,
)
from hawk_dagster.config.generation import SETTINGS_PLACE, generation_settings
from hawk_dagster.config.scan import ScanConfig
from hawk_dagster.config.task_sources import (
    CheckResult,
    check_cyber_group,
    check_file_group,
    display_path,
    resolve_local,
)
from hawk_dagster.config.yaml_source import (
    ParsedYaml,
    YamlReadError,
    YamlSourceError,
    YamlSyntaxError,
    parse_yaml,
    read_yaml_file,
    to_plain_json,
)

if TYPE_CHECKING:
    from upath import UPath

_SECRET_LOOKING = re.compile(r"(KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL)", re.IGNORECASE)


@dataclass(frozen=True)
class LoadedEvalSet:
    """A validated config plus what the loader learnt about it (where it came from, what to warn about)."""

    config: EvalSetConfig
    source: str
    """The config's name as given (path or URL); used in every message."""
    base_dir: Path | None
    """Absolute folder that relative task paths resolve against; None for a config that is not on this machine."""
    warnings: list[str] = field(default_factory=list)
    """Things that will run but may not be what was meant (unknown top-level keys, deprecated fields, ...)."""
    extra_eval_set_args: dict[str, Any] = field(default_factory=dict)
    """Unknown top-level keys, passed through to ``inspect_ai.eval_set`` as keyword arguments."""
    data: dict[str, Any] = field(default_factory=dict)
    """The config as plain JSON, as validated (what the warehouse keeps as the eval set's config)."""
    text: str = ""
    """The text that was validated (what to submit: the file may have changed since it was read)."""


PASS_THROUGH_COMMENT = "hawk-pass-through"
"""``# hawk-pass-through: key, ...``: a config's own confirmation that unknown top-level keys go to
``inspect_ai.eval_set`` as written; a strict load (the configs-folder sensor) refuses any it does not confirm."""
_PASS_THROUGH_LINE = re.compile(rf"^#[ \t]*{PASS_THROUGH_COMMENT}:(.*)$", re.MULTILINE)


def confirmed_pass_through(text: str) -> set[str]:
    """The top-level keys a config's ``# hawk-pass-through:`` lines confirm."""
    return {
        key for line in _PASS_THROUGH_LINE.finditer(text) for key in re.split(r"[\s,]+", line.group(1)) if key
    }


def with_pass_through(text: str, keys: Iterable[str]) -> str:
    """The YAML with a ``# hawk-pass-through:`` line confirming ``keys`` (prepended; nothing else changes)."""
    missing = sorted(set(keys) - confirmed_pass_through(text))
    if not missing:
        return text
    return f"# {PASS_THROUGH_COMMENT}: {', '.join(missing)}\n{text}"


def load_eval_set_config(
    source: str | Path,
    *,
    text: str | None = None,
    base_dir: Path | None = None,
    carried: CarriedResolver | None = None,
    strict: bool = False,
) -> LoadedEvalSet:
    """Load and statically check an eval-set config; raise ``ConfigError`` listing every problem found.

    ``source`` names the config (a local path, or a URL such as ``s3://bucket/configs/grid.yaml``) and is read when
    ``text`` is None. ``base_dir`` is where relative task paths resolve: by default the folder of a local ``source``;
    a config from elsewhere has none unless given, and then ``path``/``cyber`` task groups are errors. A config that
    names ``carried_files`` resolves them in the folder ``carried`` gives for it instead (the deployment passes one;
    without it they resolve against ``base_dir``, with a warning).

    Unknown top-level keys are passed to ``inspect_ai.eval_set`` with a warning, for the CLI to confirm; ``strict``
    (a config nobody is there to ask about: the configs-folder sensor) makes each one the config does not confirm
    with a ``# hawk-pass-through:`` line an error.
    """
    name, parsed, data, resolved_base, text = _read_mapping(source, text, base_dir, kind="eval-set")
    issues: list[ConfigIssue] = []
    if detect_config_kind(data) == "scan":
        issues.append(_issue(name, parsed, ("scanners",), "a `scanners:` key",
                             "an eval-set config (this is a scan config: run it with `hawk local scan`)"))  # fmt: skip
        raise ConfigError(name, issues)
    if strict:
        issues.extend(_unconfirmed_key_issues(name, parsed, data, confirmed_pass_through(text)))
    try:
        config = EvalSetConfig.model_validate(data)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(exc, file=name, data=data, locate=parsed.locate))
        raise ConfigError(name, issues) from None

    warnings: list[str] = []
    resolved_base = _carried_base(config.carried_files, carried, resolved_base, name, parsed, warnings)
    config = _check_local_sources(config, name, parsed, resolved_base, issues, warnings)
    _check_approval(config, name, parsed, resolved_base, issues)
    if issues:
        raise ConfigError(name, issues)

    extra = config.extra_keys
    warnings.extend(_pass_through_warnings(extra))
    warnings.extend(_other_warnings(config))
    return LoadedEvalSet(
        config=config,
        source=name,
        base_dir=resolved_base,
        warnings=warnings,
        extra_eval_set_args=extra,
        data=data,
        text=text,
    )


ConfigKind = Literal["eval-set", "scan"]


def detect_config_kind(data: Any) -> ConfigKind:
    """A scan config is one with a ``scanners`` key; anything else is read as an eval set (by content, not name)."""
    return "scan" if isinstance(data, dict) and "scanners" in data else "eval-set"


def read_config_kind(source: str | Path, *, text: str | None = None) -> ConfigKind:
    """Which kind of config a file holds (an unparseable file counts as an eval set; loading it says why)."""
    try:
        parsed = parse_yaml(text if text is not None else read_config_text(source), file=str(source))
    except (YamlSyntaxError, ConfigError):
        return "eval-set"
    return detect_config_kind(parsed.data)


@dataclass(frozen=True)
class LoadedScan:
    """A validated scan config and where it came from."""

    config: ScanConfig
    source: str
    base_dir: Path | None
    """Absolute folder that relative scanner package paths resolve against; None for a remote config."""
    warnings: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    """The config as plain JSON, as validated (what the warehouse keeps as the scan's config)."""
    text: str = ""
    """The text that was validated (what to submit: the file may have changed since it was read)."""


def load_scan_config(
    source: str | Path,
    *,
    text: str | None = None,
    base_dir: Path | None = None,
    carried: CarriedResolver | None = None,
) -> LoadedScan:
    """Load and statically check a scan config; raise ``ConfigError`` listing every problem found (``carried`` as
    for :func:`load_eval_set_config`).

    Unknown top-level keys are always errors in a scan (nothing is passed through), so a scan needs no strict mode.
    """
    name, parsed, data, resolved_base, text = _read_mapping(source, text, base_dir, kind="scan")
    issues: list[ConfigIssue] = []
    if detect_config_kind(data) != "scan":
        hint = (
            "; this looks like an eval-set config (run it with `hawk local eval-set`)"
            if "tasks" in data
            else ""
        )
        issues.append(_issue(name, parsed, (), "no `scanners:` key",
                             f"a scan config: a mapping with `scanners:` and `transcripts:`{hint}"))  # fmt: skip
        raise ConfigError(name, issues)
    try:
        config = ScanConfig.model_validate(data)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(exc, file=name, data=data, locate=parsed.locate))
        raise ConfigError(name, issues) from None
    warnings = [
        f"runner.environment.{key} looks like a secret; declare it under runner.secrets instead"
        for key in config.runner.environment
        if _SECRET_LOOKING.search(key)
    ]
    resolved_base = _carried_base(config.carried_files, carried, resolved_base, name, parsed, warnings)
    return LoadedScan(
        config=config, source=name, base_dir=resolved_base, warnings=warnings, data=data, text=text
    )


def _read_mapping(
    source: str | Path, text: str | None, base_dir: Path | None, *, kind: ConfigKind
) -> tuple[str, ParsedYaml, dict[str, Any], Path | None, str]:
    """Read and parse a config into a plain JSON-like mapping; raise ``ConfigError`` for what is not one."""
    name = str(source)
    remote = _is_url(name)
    if text is None:
        text = read_config_text(name)
    if base_dir is not None:
        resolved_base: Path | None = Path(base_dir).expanduser().resolve()
    elif not remote:
        resolved_base = Path(name).expanduser().resolve().parent
    else:
        resolved_base = None
    try:
        parsed = parse_yaml(text, file=name)
    except YamlSyntaxError as exc:
        raise ConfigError(name, exc.issues) from None
    data = _top_level_mapping(parsed, name, kind)
    issues: list[ConfigIssue] = []
    data, conversion_problems = to_plain_json(data)
    for loc, message in conversion_problems:
        issues.append(_issue(name, parsed, loc, describe_value(_get(parsed.data, loc)), message))
    for key in list(data):
        if not isinstance(key, str):
            issues.append(
                _issue(name, parsed, (), repr(key), "top-level keys must be words such as tasks or models")
            )
            data.pop(key)
    if issues:
        raise ConfigError(name, issues)
    return name, parsed, data, resolved_base, text


def _is_url(name: str) -> bool:
    return re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", name) is not None


def read_config_text(source: str | Path) -> str:
    """A config named on the command line (a path or a URL), read once and within the YAML size limit; raise
    ``ConfigError`` when it cannot be read.

    Pipes are allowed here (``hawk validate <(...)``): the person waiting is the one who named it.
    """
    name = str(source)
    if _is_url(name):
        from upath import UPath

        path: Path | UPath = UPath(name)
    else:
        path = Path(name)
    try:
        return read_yaml_file(path, file=name, regular_only=False)
    except YamlSourceError as exc:
        raise ConfigError(name, exc.issues) from None


def _top_level_mapping(parsed: ParsedYaml, name: str, kind: ConfigKind) -> dict[Any, Any]:
    what = (
        "an eval-set config: a mapping with at least `tasks:` (see `hawk schema eval-set`)"
        if kind == "eval-set"
        else "a scan config: a mapping with `scanners:` and `transcripts:` (see `hawk schema scan`)"
    )
    if parsed.data is None:
        raise ConfigError(
            name,
            [
                ConfigIssue(
                    file=name,
                    path="",
                    found="an empty file",
                    allowed=what,
                )
            ],
        )
    if not isinstance(parsed.data, dict):
        position = parsed.locate(())
        raise ConfigError(
            name,
            [
                ConfigIssue(
                    file=name,
                    path="",
                    found=describe_value(parsed.data),
                    allowed="the top level must be a mapping of settings (tasks:, models:, ...), not a list or value",
                    line=position[0] if position else None,
                    column=position[1] if position else None,
                )
            ],
        )
    return parsed.data


def _issue(name: str, parsed: ParsedYaml, loc: Loc, found: str, allowed: str) -> ConfigIssue:
    position = parsed.locate(loc)
    return ConfigIssue(
        file=name,
        path=format_path(loc),
        found=found,
        allowed=allowed,
        line=position[0] if position else None,
        column=position[1] if position else None,
    )


def _get(data: Any, loc: Loc) -> Any:
    for part in loc:
        try:
            data = data[part]
        except (KeyError, IndexError, TypeError):
            return None
    return data


def _carried_base(
    carried_files: str | None,
    carried: CarriedResolver | None,
    base_dir: Path | None,
    name: str,
    parsed: ParsedYaml,
    warnings: list[str],
) -> Path | None:
    """Where the config's relative paths resolve: inside its carried files when it names some and the caller can
    find them; else ``base_dir``."""
    if carried_files is None:
        return base_dir
    if carried is None:
        warnings.append(
            f"carried_files: {carried_files} names files uploaded with this config to a deployment; here its relative "
            f"paths resolve against {base_dir or 'nothing (the config is not on this machine)'} instead"
        )
        return base_dir
    try:
        return carried(carried_files)
    except CarriedFilesError as exc:
        raise ConfigError(
            name, [_issue(name, parsed, ("carried_files",), repr(carried_files), str(exc))]
        ) from None


def _check_local_sources(
    config: EvalSetConfig,
    name: str,
    parsed: ParsedYaml,
    base_dir: Path | None,
    issues: list[ConfigIssue],
    warnings: list[str],
) -> EvalSetConfig:
    """Check ``path``/``cyber`` groups on disk; return the config with file groups' items filled in."""

    def issue(loc: Loc, found: str, allowed: str) -> ConfigIssue:
        return _issue(name, parsed, loc, found, allowed)

    groups = list(config.tasks)
    changed = False
    for index, group in enumerate(groups):
        if not isinstance(group, (FileTaskGroup, CyberTaskGroup)):
            continue
        key = "path" if isinstance(group, FileTaskGroup) else "cyber"
        if base_dir is None:
            issues.append(
                issue(
                    ("tasks", index, key),
                    repr(getattr(group, key)),
                    f"`{key}` task groups need a config on this machine (the path is relative to the config's "
                    f"folder), but {name} is not a local file; run it from a local copy",
                )
            )
            continue
        result: CheckResult
        if isinstance(group, FileTaskGroup):
            result = check_file_group(group, index, base_dir=base_dir, issue=issue)
        else:
            result = check_cyber_group(group, index, base_dir=base_dir, issue=issue)
        issues.extend(result.issues)
        warnings.extend(result.warnings)
        if result.items is not None:
            groups[index] = group.model_copy(update={"items": result.items})
            changed = True
    return config.model_copy(update={"tasks": groups}) if changed else config


def _check_approval(
    config: EvalSetConfig, name: str, parsed: ParsedYaml, base_dir: Path | None, issues: list[ConfigIssue]
) -> None:
    """An approval policy file must exist and hold a valid policy (Inspect would fail only at the first tool call)."""
    if not isinstance(config.approval, str):
        return
    if base_dir is None:
        issues.append(
            _issue(
                name,
                parsed,
                ("approval",),
                repr(config.approval),
                "an approval file needs a config on this machine; write the policy inline: approval: {approvers: [...]}",
            )
        )
        return
    path = resolve_local(base_dir, config.approval)
    display = display_path(path)
    try:
        policy = parse_yaml(read_yaml_file(path, file=display), file=display)
    except YamlReadError as exc:
        if not exc.missing:
            issues.extend(exc.issues)
            return
        issues.append(
            _issue(
                name,
                parsed,
                ("approval",),
                repr(config.approval),
                f"must name an approval policy file relative to the config's folder; {path} does not exist",
            )
        )
        return
    except YamlSourceError as exc:
        issues.extend(exc.issues)
        return
    try:
        ApprovalConfig.model_validate(policy.data)
    except ValidationError as exc:
        issues.extend(issues_from_validation_error(exc, file=display, data=policy.data, locate=policy.locate))


def _pass_through_warnings(extra: dict[str, Any]) -> list[str]:
    """Say what happens to each unknown top-level key, and flag the ones Inspect will not understand."""
    if not extra:
        return []
    eval_set_parameters = _eval_set_parameters()
    generate_settings = generation_settings()
    warnings = []
    for key in extra:
        if key in eval_set_parameters:
            warnings.append(
                f"top-level key {describe_value(key)} is not a hawk setting; it is passed to inspect_ai.eval_set({key}=...) as written"
            )
        elif key in generate_settings:
            warnings.append(
                f"top-level key {describe_value(key)} is an Inspect generation setting: it is passed to "
                f"inspect_ai.eval_set and applies to every model (set it per model under {SETTINGS_PLACE} to be explicit)"
            )
        else:
            hint = suggest(key, [*TOP_LEVEL_KEYS, *eval_set_parameters, *generate_settings])
            warnings.append(
                f"top-level key {describe_value(key)} is neither a hawk setting, an inspect_ai.eval_set parameter nor a "
                f"generation setting{hint}; it is passed through as written and inspect_ai.eval_set will probably reject it"
            )
    return warnings


def _unconfirmed_key_issues(
    name: str, parsed: ParsedYaml, data: dict[str, Any], confirmed: set[str]
) -> list[ConfigIssue]:
    """One issue per unknown top-level key the config does not confirm (reserved keys have their own errors)."""
    unknown = [
        key
        for key in data
        if key not in TOP_LEVEL_KEYS and key not in RESERVED_TOP_LEVEL_KEYS and key not in confirmed
    ]
    if not unknown:
        return []
    eval_set_parameters, generate_settings = _eval_set_parameters(), generation_settings()
    settings = ", ".join(sorted(TOP_LEVEL_KEYS - {"secrets"}))
    issues = []
    for key in unknown:
        if key in eval_set_parameters:
            what = f"inspect_ai.eval_set would take it as {key}=..."
        elif key in generate_settings:
            what = f"inspect_ai.eval_set would take it as the generation setting {key} for every model"
        else:
            what = "inspect_ai.eval_set has no such parameter" + suggest(
                key, [*TOP_LEVEL_KEYS, *eval_set_parameters, *generate_settings]
            )
        issues.append(
            _issue(
                name,
                parsed,
                (key,),
                "an unknown top-level key",
                f"a hawk setting ({settings}), or a key the file confirms for inspect_ai.eval_set with a line "
                f"`# {PASS_THROUGH_COMMENT}: {short_text(key)}` (nobody is here to confirm it; `hawk eval-set` "
                f"asks, then adds the line); {what}",
            )
        )
    return issues


def _eval_set_parameters() -> set[str]:
    import inspect

    import inspect_ai

    parameters = {
        p.name
        for p in inspect.signature(inspect_ai.eval_set).parameters.values()
        if p.kind not in (inspect.Parameter.VAR_KEYWORD, inspect.Parameter.VAR_POSITIONAL)
    }
    return parameters - {"tasks"}


def _other_warnings(config: EvalSetConfig) -> list[str]:
    warnings = []
    if config.secrets:
        names = ", ".join(s if isinstance(s, str) else s.name for s in config.secrets)
        warnings.append(
            f"top-level `secrets` is deprecated; move {names} under runner.secrets (they are still required)"
        )
    for key in config.runner.environment:
        if _SECRET_LOOKING.search(key):
            warnings.append(
                f"runner.environment.{key} looks like a secret, but environment values are stored with the config "
                f"and shown in logs; declare it under runner.secrets and pass the value with --secret {key}"
            )
    return warnings
