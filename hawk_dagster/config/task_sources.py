"""Static checks of local task sources: ``path`` task files and ``cyber`` directories.

A grid can run for hours; finding out at the first sample that ``tasks/arith.py`` has no ``addition`` task, or that a
CTF directory has no ``eval.yaml``, wastes the whole submission. These checks read files only: task files are parsed
with ``ast`` (never imported) and eval.yaml files with YAML and Inspect Cyber's own schema.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from hawk_dagster.config.errors import (
    ConfigIssue,
    Loc,
    describe_value,
    format_path,
    issues_from_validation_error,
)
from hawk_dagster.config.eval_set import CyberTaskGroup, FileTaskGroup, TaskItem
from hawk_dagster.config.yaml_source import (
    UnreadableFileError,
    YamlSourceError,
    parse_yaml,
    read_bounded,
    read_yaml_file,
)

EVAL_FILE_NAMES = ("eval.yaml", "eval.yml")

MAX_TASK_FILE_BYTES = 4 << 20
"""Largest task file we parse (4 MiB). ``ast.parse`` holds the whole tree, about 70 times the text (300 MB and
2 s for 4 MiB of code on our 2-core machines); task files are a few KB, and data belongs in a dataset file."""

# Builds an issue located in the config file: (field path, found, allowed) -> issue.
IssueFactory = Callable[[Loc, str, str], ConfigIssue]


@dataclass
class CheckResult:
    """Problems and warnings from one task group; ``items`` are the file's tasks when the group listed none."""

    issues: list[ConfigIssue] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    items: list[TaskItem] | None = None


def resolve_local(base_dir: Path, relative: str) -> Path:
    """Absolute path of a path written in the config, relative to the config's folder."""
    path = Path(relative).expanduser()
    return (path if path.is_absolute() else base_dir / path).resolve()


def display_path(path: Path) -> str:
    """A path as short as it can be while still findable from the current directory."""
    try:
        relative = os.path.relpath(path)
    except ValueError:
        return str(path)
    return str(path) if relative.startswith(f"..{os.sep}..") else relative


# ---------------------------------------------------------------------------------------------------------------------
# Python task files


@dataclass(frozen=True)
class PythonTaskFile:
    """What a task file defines at module level, read with ``ast``."""

    tasks: list[str]
    """Registered task names (``@task`` functions; ``@task(name=...)`` counts under that name), in file order."""
    plain_functions: list[str]
    """Module-level functions without ``@task``."""
    other_names: set[str]
    """Names bound by imports or assignments (possibly tasks; not provable statically)."""


def scan_task_file(source: str, filename: str) -> PythonTaskFile:
    """Find the tasks a Python file defines; raises ``SyntaxError`` for invalid Python."""
    tree = ast.parse(source, filename=filename)
    tasks: list[str] = []
    plain: list[str] = []
    others: set[str] = set()
    for node in _module_level(tree.body):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            registered = _task_decorator_name(node)
            if registered is None:
                plain.append(node.name)
            else:
                tasks.append(registered)
        elif isinstance(node, ast.ClassDef):
            others.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            others.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
        elif isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                others.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return PythonTaskFile(tasks=tasks, plain_functions=plain, other_names=others)


def _module_level(body: list[ast.stmt]) -> list[ast.stmt]:
    """Statements that run at import, including those inside module-level ``if``/``try``/``with`` blocks."""
    out: list[ast.stmt] = []
    for node in body:
        out.append(node)
        if isinstance(node, ast.If):
            out.extend(_module_level(node.body) + _module_level(node.orelse))
        elif isinstance(node, ast.Try):
            blocks = [node.body, node.orelse, node.finalbody, *(h.body for h in node.handlers)]
            for block in blocks:
                out.extend(_module_level(block))
        elif isinstance(node, ast.With):
            out.extend(_module_level(node.body))
    return out


def _task_decorator_name(node: ast.FunctionDef | ast.AsyncFunctionDef) -> str | None:
    """The name a ``@task`` decorator registers the function under, or None if it has no ``@task``."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        is_task = (isinstance(target, ast.Name) and target.id == "task") or (
            isinstance(target, ast.Attribute) and target.attr == "task"
        )
        if not is_task:
            continue
        if isinstance(decorator, ast.Call):
            for keyword in decorator.keywords:
                if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                    return str(keyword.value.value)
        return node.name
    return None


def check_file_group(group: FileTaskGroup, index: int, *, base_dir: Path, issue: IssueFactory) -> CheckResult:
    """Check that the file exists and defines every listed task; fill in the items when none are listed."""
    result = CheckResult()
    here: Loc = ("tasks", index)
    path = resolve_local(base_dir, group.path)
    if not path.is_file():
        what = "a directory, not a file" if path.is_dir() else "no such file"
        result.issues.append(
            issue((*here, "path"), repr(group.path), f"must name an existing Python file; {path} is {what}")
        )
        return result
    try:
        source = read_bounded(path, limit=MAX_TASK_FILE_BYTES).decode("utf-8")
        scanned = scan_task_file(source, str(path))
    except UnreadableFileError as exc:
        result.issues.append(
            issue((*here, "path"), repr(group.path), f"must be {exc.allowed}; {path} is {exc.found}")
        )
        return result
    except (MemoryError, RecursionError):  # Python's parser gives up on very deep nesting this way
        result.issues.append(
            ConfigIssue(
                file=display_path(path),
                path="",
                found="code nested too deeply for Python's parser",
                allowed=f"a Python task file Python can parse (task file of {_fmt(here, 'path')})",
            )
        )
        return result
    except SyntaxError as exc:
        result.issues.append(
            ConfigIssue(
                file=display_path(path),
                path="",
                found=describe_value((exc.text or "").strip()) if exc.text else "invalid Python",
                allowed=f"valid Python (task file of {_fmt(here, 'path')}): {exc.msg}",
                line=exc.lineno,
                column=exc.offset,
            )
        )
        return result
    except (OSError, UnicodeDecodeError) as exc:
        result.issues.append(
            issue((*here, "path"), repr(group.path), f"must be a readable UTF-8 file ({exc})")
        )
        return result

    available = _listing(scanned)
    if group.items is None:
        if not scanned.tasks:
            result.issues.append(
                issue(
                    (*here, "path"),
                    repr(group.path),
                    f"the file has no @task functions to run ({available}); decorate them with @task or list items",
                )
            )
        else:
            result.items = [TaskItem(name=name) for name in scanned.tasks]
        return result

    for item_index, item in enumerate(group.items):
        loc: Loc = (*here, "items", item_index, "name")
        if item.name in scanned.tasks:
            continue
        if item.name in scanned.plain_functions:
            result.issues.append(
                issue(
                    loc,
                    repr(item.name),
                    f"function {item.name!r} in {group.path} is not decorated with @task, so Inspect cannot run it; "
                    f"add @task (from inspect_ai import task) ({available})",
                )
            )
        elif item.name in scanned.other_names:
            result.warnings.append(
                f"{_fmt(loc)}: {item.name!r} is imported or assigned in {group.path}, not defined there with @task; "
                "it can only be checked when the run starts"
            )
        else:
            result.issues.append(
                issue(loc, repr(item.name), f"{group.path} defines no task named {item.name!r} ({available})")
            )
    return result


def _listing(scanned: PythonTaskFile) -> str:
    if scanned.tasks:
        return "its @task functions: " + ", ".join(scanned.tasks)
    if scanned.plain_functions:
        return "it has no @task functions; its functions: " + ", ".join(scanned.plain_functions)
    return "it defines no functions"


def _fmt(loc: Loc, *more: str | int) -> str:
    return format_path((*loc, *more))


# ---------------------------------------------------------------------------------------------------------------------
# Inspect Cyber directories


@dataclass(frozen=True)
class CyberEval:
    """One eval.yaml: its eval name and variant names."""

    file: Path
    name: str
    variants: list[str]


def find_eval_files(root: Path) -> list[Path]:
    """eval.yaml/eval.yml files under ``root``, skipping hidden folders, as Inspect Cyber does."""
    found = [path for name in EVAL_FILE_NAMES for path in root.rglob(name)]
    visible = [p for p in found if not any(part.startswith(".") for part in p.relative_to(root).parts)]
    return sorted(visible)


def check_cyber_group(
    group: CyberTaskGroup, index: int, *, base_dir: Path, issue: IssueFactory
) -> CheckResult:
    """Check the directory, every eval.yaml in it, and that each item's selection matches something."""
    result = CheckResult()
    here: Loc = ("tasks", index)
    root = resolve_local(base_dir, group.cyber)
    if not root.is_dir():
        what = "a file, not a directory" if root.exists() else "does not exist"
        result.issues.append(
            issue(
                (*here, "cyber"),
                repr(group.cyber),
                f"must name a directory of Inspect Cyber evals; {root} {what}",
            )
        )
        return result
    eval_files = find_eval_files(root)
    if not eval_files:
        result.issues.append(
            issue(
                (*here, "cyber"),
                repr(group.cyber),
                f"the directory {root} contains no eval.yaml or eval.yml file (hidden folders are skipped); "
                "each Inspect Cyber eval needs one",
            )
        )
        return result

    evals: list[CyberEval] = []
    by_dir: dict[Path, Path] = {}
    for eval_file in eval_files:
        if eval_file.parent in by_dir:
            result.issues.append(
                ConfigIssue(
                    file=display_path(eval_file),
                    path="",
                    found=f"both {by_dir[eval_file.parent].name} and {eval_file.name}",
                    allowed=f"one eval file per directory (Inspect Cyber refuses two; used by {_fmt(here, 'cyber')})",
                )
            )
            continue
        by_dir[eval_file.parent] = eval_file
        parsed_eval = _check_eval_file(eval_file, here, result)
        if parsed_eval is not None:
            evals.append(parsed_eval)

    names: dict[str, CyberEval] = {}
    for cyber_eval in evals:
        if cyber_eval.name in names:
            result.issues.append(
                ConfigIssue(
                    file=display_path(cyber_eval.file),
                    path="name",
                    found=repr(cyber_eval.name),
                    allowed=(
                        f"eval names must be unique in a directory; {display_path(names[cyber_eval.name].file)} "
                        "uses the same name, so their sample ids would collide"
                    ),
                )
            )
        names.setdefault(cyber_eval.name, cyber_eval)

    if result.issues:
        return result
    for item_index, item in enumerate(group.items or []):
        _check_cyber_selection(item, (*here, "items", item_index), names, issue, result)
    return result


def _check_eval_file(eval_file: Path, here: Loc, result: CheckResult) -> CyberEval | None:
    display = display_path(eval_file)
    try:
        parsed = parse_yaml(read_yaml_file(eval_file, file=display), file=display)
    except YamlSourceError as exc:
        result.issues.extend(exc.issues)
        return None
    if not isinstance(parsed.data, dict):
        result.issues.append(
            ConfigIssue(
                file=display,
                path="",
                found=describe_value(parsed.data),
                allowed=f"an Inspect Cyber eval: a mapping with name and variants (used by {_fmt(here, 'cyber')})",
            )
        )
        return None

    from inspect_cyber.model import Eval

    try:
        model = Eval.model_validate(parsed.data)
    except ValidationError as exc:
        result.issues.extend(
            issues_from_validation_error(exc, file=display, data=parsed.data, locate=parsed.locate)
        )
        return None

    folder = eval_file.parent
    for loc, relative in _referenced_files(model):
        if not (folder / relative).exists():
            position = parsed.locate(loc)
            result.issues.append(
                ConfigIssue(
                    file=display,
                    path=_fmt(loc),
                    found=repr(relative),
                    allowed=f"must name a file that exists next to the eval file ({folder / relative} does not)",
                    line=position[0] if position else None,
                    column=position[1] if position else None,
                )
            )
    return CyberEval(file=eval_file, name=model.name, variants=list(model.variants))


def _referenced_files(model: Any) -> list[tuple[Loc, str]]:
    """Every local file an eval points at: sandbox configs, files to copy, setup scripts."""
    refs: list[tuple[Loc, str]] = []

    def collect(prefix: Loc, part: Any) -> None:
        if part.sandbox is not None:
            refs.append(((*prefix, "sandbox", "config"), part.sandbox.config))
        for destination, source in part.files.items():
            refs.append(((*prefix, "files", destination), source))
        if part.setup:
            refs.append(((*prefix, "setup"), part.setup))

    collect((), model)
    for variant_name, variant in model.variants.items():
        collect(("variants", variant_name), variant)
    return refs


def _check_cyber_selection(
    item: Any, loc: Loc, names: dict[str, CyberEval], issue: IssueFactory, result: CheckResult
) -> None:
    selected = list(names.values())
    if item.eval_names is not None:
        for position, eval_name in enumerate(item.eval_names):
            if eval_name not in names:
                result.issues.append(
                    issue(
                        (*loc, "eval_names", position),
                        repr(eval_name),
                        f"no eval is named {eval_name!r}; the evals are: {', '.join(sorted(names))}",
                    )
                )
        selected = [names[n] for n in item.eval_names if n in names]
    variants = sorted({v for cyber_eval in selected for v in cyber_eval.variants})
    if item.variant_names is not None:
        for position, variant in enumerate(item.variant_names):
            if variant not in variants:
                result.issues.append(
                    issue(
                        (*loc, "variant_names", position),
                        repr(variant),
                        f"none of the selected evals has a variant {variant!r}; their variants are: "
                        + ", ".join(variants),
                    )
                )
    keep = set(item.variant_names) if item.variant_names is not None else None
    sample_ids = sorted(
        f"{cyber_eval.name} ({variant})"
        for cyber_eval in selected
        for variant in cyber_eval.variants
        if keep is None or variant in keep
    )
    if item.sample_ids is not None:
        for position, sample_id in enumerate(item.sample_ids):
            if sample_id not in sample_ids:
                shown = ", ".join(repr(s) for s in sample_ids[:8]) + (", ..." if len(sample_ids) > 8 else "")
                result.issues.append(
                    issue(
                        (*loc, "sample_ids", position),
                        repr(sample_id),
                        f"no selected sample has this id; Inspect Cyber ids are '<eval name> (<variant>)': {shown}",
                    )
                )
