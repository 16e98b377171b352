"""Which eval sets a scan reads: its sources resolved against the eval sets the storage root holds.

``eval_set_id`` sources must name an eval set that was submitted to this root (a typo must fail at submission and
launch nothing, not produce an empty scan); ``eval_set_tag`` and ``eval_set_id_pattern`` sources match every eval set
submitted so far, and, for standing scans, every one submitted later (:func:`matches_selectors`).
"""

from __future__ import annotations

import fnmatch
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence

from hawk_dagster.config.scan import ScanConfig, TranscriptSource
from hawk_dagster.config.yaml_source import YamlReadError, YamlSyntaxError, parse_yaml, read_yaml_file
from hawk_dagster.storage.root import EVALS, StorageRoot
from hawk_dagster.storage.submissions import CONFIG_SNAPSHOT

logger = logging.getLogger(__name__)


class UnknownEvalSetError(LookupError):
    """A scan names eval sets this storage root has never seen."""


def eval_set_tags(storage: StorageRoot) -> dict[str, list[str]]:
    """Every submitted eval set of the root, with the tags of its config (read from the stored snapshot).

    A snapshot that cannot be read (too big, not UTF-8, not a file) leaves its eval set known but without tags:
    loading that submission says why, and one bad folder must not stop the scan sensors.
    """
    root = storage.path(EVALS)
    if not root.exists():
        return {}
    found: dict[str, list[str]] = {}
    for folder in sorted(root.iterdir(), key=lambda p: p.name):
        tags = eval_set_tags_of(storage, folder.name)
        if tags is not None:
            found[folder.name] = tags
    return found


def eval_set_tags_of(storage: StorageRoot, eval_set_id: str) -> list[str] | None:
    """The tags of one submitted eval set's config, or None when the root holds no such submission (an unreadable
    snapshot gives no tags)."""
    snapshot = storage.path(EVALS, eval_set_id, CONFIG_SNAPSHOT)
    try:
        text = read_yaml_file(snapshot, file=str(snapshot))
    except YamlReadError as exc:
        if exc.missing:
            return None
        logger.warning("eval set %s has no readable config, so no tags: %s", eval_set_id, exc)
        return []
    return list(_tags(text))


_tags_by_text: dict[str, tuple[str, ...]] = {}
"""Tags by the sha256 of a config's text, so the memo holds hashes, not up to a megabyte of text per entry."""
_TAGS_MEMO_SIZE = 4096


def _tags(config_text: str) -> tuple[str, ...]:
    """The tags of a config's text (parsed once per text: the standing-scan condition asks every tick)."""
    key = hashlib.sha256(config_text.encode()).hexdigest()
    tags = _tags_by_text.get(key)
    if tags is None:
        tags = _parse_tags(config_text)
        if len(_tags_by_text) >= _TAGS_MEMO_SIZE:
            _tags_by_text.clear()
        _tags_by_text[key] = tags
    return tags


def _parse_tags(config_text: str) -> tuple[str, ...]:
    try:
        data = parse_yaml(config_text, file=CONFIG_SNAPSHOT).data  # bounded like every YAML we read
    except YamlSyntaxError:
        return ()
    tags = data.get("tags") if isinstance(data, dict) else None
    return tuple(str(t) for t in tags) if isinstance(tags, list) else ()


def source_matches(source: TranscriptSource, eval_set_id: str, tags: Iterable[str]) -> bool:
    if source.eval_set_id is not None:
        return source.eval_set_id == eval_set_id
    if source.eval_set_tag is not None:
        return source.eval_set_tag in tags
    return source.eval_set_id_pattern is not None and fnmatch.fnmatchcase(
        eval_set_id, source.eval_set_id_pattern
    )


def matches_selectors(config: ScanConfig, eval_set_id: str, tags: Iterable[str]) -> bool:
    """True when a tag or pattern source of the scan matches this eval set (what a standing scan picks up)."""
    tags = list(tags)
    return any(s.is_selector and source_matches(s, eval_set_id, tags) for s in config.transcripts.sources)


def is_source(config: ScanConfig, resolved: Sequence[str], eval_set_id: str, tags: Iterable[str]) -> bool:
    """The one rule for the eval sets a scan reads now: those resolved at submission and, for a standing scan, every
    eval set its selectors match. ``scan_cells`` holds every scan x every eval set; only these cells are the scan's."""
    return eval_set_id in resolved or (config.standing and matches_selectors(config, eval_set_id, tags))


def eval_sets_to_scan(
    config: ScanConfig, resolved: Sequence[str], known: Mapping[str, Sequence[str]]
) -> list[str]:
    """The eval sets a scan reads now (:func:`is_source`): those resolved at submission, then the standing ones of
    ``known`` (id -> tags), in id order."""
    chosen = list(resolved)
    chosen += [e for e in sorted(known) if e not in chosen and is_source(config, resolved, e, known[e])]
    return chosen


def resolve_eval_sets(storage: StorageRoot, config: ScanConfig) -> list[str]:
    """The eval sets the scan reads now, in id order; raises :class:`UnknownEvalSetError` for unknown ids."""
    known = eval_set_tags(storage)
    missing = [
        s.eval_set_id for s in config.transcripts.sources if s.eval_set_id and s.eval_set_id not in known
    ]
    if missing:
        listing = ", ".join(sorted(known)[:10]) or "none yet"
        raise UnknownEvalSetError(
            f"unknown eval set{'s' if len(missing) > 1 else ''} {', '.join(repr(m) for m in missing)} in "
            f"{storage.uri}: no such eval set was submitted here (known: {listing})"
        )
    chosen = [
        eval_set_id
        for eval_set_id, tags in known.items()
        if any(source_matches(s, eval_set_id, tags) for s in config.transcripts.sources)
    ]
    if not chosen and not config.standing:
        raise UnknownEvalSetError(
            f"no eval set in {storage.uri} matches the scan's sources (a standing scan would wait for one; this one "
            "would scan nothing)"
        )
    return chosen
