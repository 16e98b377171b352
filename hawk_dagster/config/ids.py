"""Eval set ids: the partition key, the log folder name and a Kubernetes label, so one strict format everywhere.

An id must match ``^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`` and be at most 43 characters long: that keeps it valid as a
Kubernetes label value and namespace suffix, and free of the ``|`` and ``,`` that vanish from Dagster's
multi-partition keys.
"""

from __future__ import annotations

import re
import secrets
import string

EVAL_SET_ID_PATTERN = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
EVAL_SET_ID_MAX_LENGTH = 43
DEFAULT_ID_PREFIX = "eval-set"

_ID_RE = re.compile(EVAL_SET_ID_PATTERN)
_PREFIX_MAX_LENGTH = 26
_SUFFIX_LENGTH = 16
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_RULE = "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 43 characters"


def validate_eval_set_id(value: str) -> str:
    """Return ``value`` unchanged if it is a valid eval set id; raise ``ValueError`` saying what to change."""
    return _validate_id(value, "eval set id")


def validate_scan_id(value: str) -> str:
    """The same rules for scan ids (a scan id is a partition key and a Kubernetes label too)."""
    return _validate_id(value, "scan id")


def _validate_id(value: str, what: str) -> str:
    article = "an" if what[0] in "aeiou" else "a"
    if not isinstance(value, str):
        raise ValueError(f"{article} {what} must be a string of {_RULE}; got {type(value).__name__}")
    if not value:
        raise ValueError(f"{article} {what} must not be empty; use {_RULE}")
    if len(value) > EVAL_SET_ID_MAX_LENGTH:
        raise ValueError(
            f"{what} {value!r} is {len(value)} characters long; at most {EVAL_SET_ID_MAX_LENGTH} are allowed "
            "(it becomes a Kubernetes label and namespace suffix)"
        )
    if _ID_RE.match(value):
        return value
    if any(c.isupper() for c in value) and _ID_RE.match(value.lower()):
        problem = f"it contains uppercase letters; use {value.lower()!r}"
    elif value.startswith("-") or value.endswith("-"):
        problem = "it must start and end with a letter or digit, not '-'"
    else:
        bad = sorted({c for c in value if not (c.islower() or c.isdigit() or c == "-") or not c.isascii()})
        problem = "it contains " + ", ".join(repr(c) for c in bad) if bad else "it has the wrong form"
    raise ValueError(f"invalid {what} {value!r}: {problem} ({_RULE})")


def sanitize_id_part(text: str) -> str:
    """Lowercase ``text`` and turn every run of characters outside ``[a-z0-9]`` into one '-', trimmed."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def generate_eval_set_id(name: str | None, default_prefix: str = DEFAULT_ID_PREFIX) -> str:
    """Make a fresh id ``<sanitized name[:26]>-<16 random [a-z0-9]>``; ``default_prefix`` when the name gives nothing.

    Scan ids follow the same rules (``default_prefix="scan"``).
    """
    prefix = sanitize_id_part(name or "")[:_PREFIX_MAX_LENGTH].strip("-") or default_prefix
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(_SUFFIX_LENGTH))
    return validate_eval_set_id(f"{prefix}-{suffix}")


def eval_set_id_from_filename(stem: str) -> str:
    """Turn a config file's stem into an id (``My Grid_v2`` -> ``my-grid-v2``), or raise ``ValueError``.

    Used where the file name is the id (configs dropped into the bucket), so it never truncates: two long names
    must not collapse onto one partition.
    """
    candidate = sanitize_id_part(stem)
    if not candidate:
        raise ValueError(
            f"cannot make an eval set id from the file name {stem!r}: it has no letters or digits"
        )
    if len(candidate) > EVAL_SET_ID_MAX_LENGTH:
        raise ValueError(
            f"cannot make an eval set id from the file name {stem!r}: {candidate!r} is {len(candidate)} characters "
            f"long, at most {EVAL_SET_ID_MAX_LENGTH} are allowed; rename the file or set eval_set_id in it"
        )
    return validate_eval_set_id(candidate)
