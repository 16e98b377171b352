"""Config errors a researcher can act on: which file, which field, what was there, and what is allowed.

Every problem found while loading a config (YAML syntax, schema, missing task files) becomes one ``ConfigIssue``;
they are raised together as one ``ConfigError`` so a single ``hawk validate`` shows everything to fix. Pydantic's
errors are translated here so nobody has to read ``Input should be a valid dictionary or instance of ...``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

Loc = tuple[str | int, ...]
# Maps a field path to the 1-based (line, column) where it is written, when known.
Locator = Callable[[Loc], tuple[int, int] | None]

# Custom pydantic error types raised by our validators: the message is already a sentence for the researcher.
HAWK_ERROR_PREFIX = "hawk_"
# Context key of a custom error naming a sub-path below the validated field (e.g. a key inside ``config``).
SUBPATH_CONTEXT_KEY = "subpath"
# Context key asking for the found value to be hidden (secrets must not be echoed into logs).
HIDE_INPUT_CONTEXT_KEY = "hide_input"

_MAX_FOUND = 60
_MAX_PART = 2_000
MAX_SHOWN_ISSUES = 100
"""Issues a ``ConfigError`` message lists (a file can hold thousands of the same mistake; the rest are counted)."""
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_SENSITIVE_NAME = re.compile(r"(api_?key|token|secret|password)", re.IGNORECASE)

# What to say when a required field is missing, by field name (the same name means the same thing everywhere).
_MISSING_HINTS: dict[str, str] = {
    "tasks": (
        "`tasks` is required: a list of task groups, e.g. `- package: inspect-ai` with `items: [{name: ...}]`, "
        "`- path: tasks.py`, or `- cyber: challenges/`"
    ),
    "package": (
        "`package` is required here: the pip requirement or git URL that provides this group "
        "(write `package: inspect-ai` for Inspect's builtins)"
    ),
    "name": "`name` is required here",
    "items": "`items` is required: a list of at least one `- name: ...` entry",
    "epochs": "`epochs` is required: the number of times each sample runs (at least 1)",
    "approvers": "`approvers` is required: a list of `- name: <approver>` with `tools: [...]`",
    "tools": "`tools` is required: the tool names (or glob patterns such as '*') this approver handles",
}

# What to say when a list is empty but must not be, by field name.
_TOO_SHORT_HINTS: dict[str, str] = {
    "sample_ids": "must list at least one sample id (leave `sample_ids` out to run every sample)",
    "tasks": "must list at least one task group",
    "models": "must list at least one model group (leave `models` out to use each task's default model)",
    "items": "must list at least one item (`- name: ...`)",
    "approvers": "must list at least one approver",
    "eval_names": "must list at least one eval name (leave `eval_names` out to keep every eval)",
    "variant_names": "must list at least one variant name (leave `variant_names` out to keep every variant)",
    "reducer": "must list at least one reducer",
    "where": "must list at least one condition (leave `where` out to keep every transcript)",
    "scanners": "must list at least one scanner group",
    "sources": "must list at least one source (`- eval_set_id: ...`)",
}


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config file, located as precisely as we can."""

    file: str
    path: str
    found: str
    allowed: str
    line: int | None = None
    column: int | None = None

    @property
    def location(self) -> str:
        """``file:line:column`` (as much as is known), the form editors and terminals make clickable."""
        if self.line is None:
            return self.file
        if self.column is None:
            return f"{self.file}:{self.line}"
        return f"{self.file}:{self.line}:{self.column}"

    def format(self) -> str:
        """One line: where, which field, what is allowed, and what was found (each part cut at a length a person
        reads: a hostile file must not turn into a megabyte-long error file or log line)."""
        field = short_text(self.path or "(top level)", _MAX_PART)
        return f"{self.location}: {field}: {short_text(self.allowed, _MAX_PART)} (found: {short_text(self.found, _MAX_PART)})"


class ConfigError(ValueError):
    """A config that cannot run, with every issue found in it."""

    def __init__(self, source: str, issues: Sequence[ConfigIssue]) -> None:
        if not issues:
            raise ValueError("ConfigError needs at least one issue")
        self.source = source
        # The config's own issues first, in the order they appear in the file; then issues in other files.
        self.issues: list[ConfigIssue] = sorted(
            issues,
            key=lambda i: (
                i.file != source,
                i.file,
                i.line if i.line is not None else 1 << 30,
                i.column or 0,
            ),
        )
        super().__init__(str(self))

    def __str__(self) -> str:
        count = len(self.issues)
        header = f"{self.source}: invalid config ({count} problem{'s' if count != 1 else ''}):"
        shown = [f"  - {issue.format()}" for issue in self.issues[:MAX_SHOWN_ISSUES]]
        if count > MAX_SHOWN_ISSUES:
            shown.append(f"  ... and {count - MAX_SHOWN_ISSUES} more (fix these first)")
        return "\n".join([header, *shown])


def short_text(text: str, limit: int = _MAX_FOUND) -> str:
    """``text``, cut to ``limit`` characters with ``...`` (a key can be a megabyte long; a message should not be)."""
    return text if len(text) <= limit else text[: limit - 3] + "..."


def format_path(loc: Iterable[str | int]) -> str:
    """``("tasks", 0, "items", 1, "sample_ids")`` -> ``tasks[0].items[1].sample_ids`` (overlong keys cut short)."""
    out = ""
    for part in loc:
        if isinstance(part, str):
            part = short_text(part)
        if isinstance(part, int):
            out += f"[{part}]"
        elif _IDENTIFIER.match(part):
            out += f".{part}" if out else part
        else:
            out += f"[{part!r}]"
    return out


def describe_value(value: Any, limit: int = _MAX_FOUND) -> str:
    """A short, YAML-flavoured description of a value for messages (never the whole of a large structure)."""
    if value is None:
        text = "null"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, Mapping):
        keys = ", ".join(str(k) for k in value)
        text = f"a mapping with keys: {keys}" if value else "an empty mapping {}"
    elif isinstance(value, str):
        text = repr(value)
    elif isinstance(value, (list, tuple)):
        text = "[]" if not value else "[" + ", ".join(describe_value(v, limit) for v in value) + "]"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def suggest(word: str, options: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` when ``word`` is close to one of ``options``, else an empty string."""
    matches = difflib.get_close_matches(word, list(options), n=1, cutoff=0.6)
    return f" (did you mean {matches[0]!r}?)" if matches else ""


def normalize_loc(loc: Loc, data: Any) -> Loc:
    """Drop the parts of a pydantic location that are union tags or validator names rather than real keys.

    Pydantic puts the chosen union member (``'package group'``, ``'int'``, ``'function-after[...]'``) into the
    location; walking the input alongside keeps exactly the parts the researcher wrote.
    """
    out: list[str | int] = []
    current: Any = data
    known = True
    for part in loc:
        if known and isinstance(current, Mapping) and part in current:
            out.append(part)
            current = current[part]
            continue
        if (
            known
            and isinstance(current, (list, tuple))
            and isinstance(part, int)
            and 0 <= part < len(current)
        ):
            out.append(part)
            current = current[part]
            continue
        if isinstance(part, str) and _looks_like_tag(part):
            continue
        out.append(part)
        known = False
    return tuple(out)


def _looks_like_tag(part: str) -> bool:
    # Our union tags contain a space ("package group", "count form"); pydantic's generated member names contain
    # brackets or are the names of Python types.
    return (
        " " in part
        or "[" in part
        or part in {"int", "str", "bool", "float", "list", "dict", "tuple", "none", "function-after"}
    )


def issues_from_validation_error(
    error: ValidationError,
    *,
    file: str,
    data: Any,
    locate: Locator | None = None,
) -> list[ConfigIssue]:
    """Translate a pydantic ``ValidationError`` on ``data`` into ``ConfigIssue``s (one per distinct field)."""
    issues: list[ConfigIssue] = []
    seen: dict[str, int] = {}
    for err in error.errors(include_url=False):
        loc = normalize_loc(tuple(err["loc"]), data)
        ctx = err.get("ctx") or {}
        subpath = tuple(ctx.get(SUBPATH_CONTEXT_KEY) or ())
        full_loc = loc + subpath
        allowed = allowed_sentence(err, full_loc)
        found = _found_text(err, full_loc)
        path = format_path(full_loc)
        position = _locate(locate, full_loc if err["type"] != "missing" else loc)
        if path in seen:
            # Pydantic can report one field through several union members; merge them into one line.
            previous = issues[seen[path]]
            if allowed not in previous.allowed:
                issues[seen[path]] = ConfigIssue(
                    previous.file,
                    previous.path,
                    previous.found,
                    f"{previous.allowed}; or {allowed}",
                    previous.line,
                    previous.column,
                )
            continue
        seen[path] = len(issues)
        line, column = position if position else (None, None)
        issues.append(
            ConfigIssue(file=file, path=path, found=found, allowed=allowed, line=line, column=column)
        )
    return issues


def _locate(locate: Locator | None, loc: Loc) -> tuple[int, int] | None:
    if locate is None:
        return None
    return locate(loc)


def _found_text(err: Mapping[str, Any], loc: Loc) -> str:
    ctx = err.get("ctx") or {}
    if err["type"] == "missing":
        return "nothing"
    if ctx.get(HIDE_INPUT_CONTEXT_KEY):
        return "<hidden>"
    name = next((part for part in reversed(loc) if isinstance(part, str)), "")
    value = err.get("input")
    if _SENSITIVE_NAME.search(name) and isinstance(value, str):
        return "<hidden>"
    if "found" in ctx:
        return str(ctx["found"])
    return describe_value(value)


def allowed_sentence(err: Mapping[str, Any], loc: Loc) -> str:
    """What is allowed, as a sentence, for one pydantic error (``loc`` is the cleaned field path)."""
    kind: str = err["type"]
    ctx: Mapping[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    field = next((part for part in reversed(loc) if isinstance(part, str)), "")
    if kind.startswith(HAWK_ERROR_PREFIX):
        return str(err["msg"])
    if kind == "missing":
        return _MISSING_HINTS.get(
            field, f"`{field}` is required here" if field else "a value is required here"
        )
    if kind == "extra_forbidden":
        from hawk_dagster.config.generation import where_generation_setting_goes

        elsewhere = where_generation_setting_goes(field)
        return (
            f"unknown key {describe_value(field)} here; {elsewhere}"
            if elsewhere
            else f"unknown key {describe_value(field)}: it is not a setting here"
        )
    if kind in {"string_type", "string_sub_type"}:
        if isinstance(value, (bool, int, float)):
            return 'must be a string; YAML read this as a number or boolean, so put it in quotes (e.g. "1")'
        return "must be a string"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"must be at most {ctx.get('max_length')} characters long"
    if kind == "string_pattern_mismatch":
        return f"must match the pattern {ctx.get('pattern')}"
    if kind in {"int_type", "int_parsing", "int_from_float"}:
        return "must be a whole number"
    if kind in {"float_type", "float_parsing"}:
        return "must be a number"
    if kind in {"bool_type", "bool_parsing"}:
        return "must be true or false"
    if kind in {"list_type", "tuple_type", "set_type"}:
        return "must be a list (YAML `- item` lines or `[a, b]`)"
    if kind in {"dict_type", "model_type", "model_attributes_type", "mapping_type"}:
        return "must be a mapping (`key: value` lines)"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "too_short":
        if field in _TOO_SHORT_HINTS:
            return _TOO_SHORT_HINTS[field]
        minimum = ctx.get("min_length")
        return f"must have at least {minimum} item{'s' if minimum != 1 else ''}"
    if kind == "too_long":
        maximum = ctx.get("max_length")
        return f"must have at most {maximum} item{'s' if maximum != 1 else ''}"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}"
    if kind == "none_required":
        return "must be empty (null)"
    if kind in {"value_error", "assertion_error"}:
        message = str(err["msg"])
        for prefix in ("Value error, ", "Assertion failed, "):
            message = message.removeprefix(prefix)
        return message
    return str(err["msg"])
