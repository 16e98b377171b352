"""Read an Inspect log's samples as plain JSON, straight from the file: the importer's fast path.

Inspect's API parses every sample into pydantic models (events included) and, for ``read_eval_log_sample``, re-reads
the zip's central directory per sample. The warehouse needs a few fields of each sample, so it opens the ``.eval`` zip
once and decodes each ``samples/<id>_epoch_<n>.json`` member with :func:`json.loads` (members are zstd-compressed:
``zipfile_zstd`` registers the codec with :mod:`zipfile`). What Inspect 0.3.285 writes, and what this module relies on:

- The list of samples is the summaries: ``summaries.json`` once the eval finished, else the journal
  (``_journal/summaries/<n>.json``, read in index order). A sample re-run after an error is journalled again, so the
  last entry per (id, epoch) wins, as in Inspect's own readers.
- A member may appear more than once in the zip (appended re-writes); the last entry wins (``ZipFile.getinfo``).
- ``sample.messages`` holds the conversation inline: condensation only moves media (data URIs) to ``attachments``
  (``attachment://<hash>``); events are the part pooled into ``events_data``. References are resolved by the row
  builder from the sample's own ``attachments`` dict.

Legacy ``.json`` logs have no per-sample members: they are read once with Inspect and dumped to the same JSON shape.
Object-store logs are downloaded to a temporary file first (one sequential read, then local random access).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import fsspec
import zipfile_zstd  # noqa: F401  (registers zstd decompression with zipfile)

if TYPE_CHECKING:
    from inspect_ai.log import EvalLog

SUMMARIES_JSON = "summaries.json"
JOURNAL_SUMMARIES_DIR = "_journal/summaries/"


class SampleReadError(RuntimeError):
    """Full samples listed in a log's summaries could not be read (corrupt member, missing sample, ...)."""


@dataclass(frozen=True)
class SampleKey:
    """One sample of a log, as its summary names it."""

    id: int | str
    epoch: int
    uuid: str | None

    def label(self) -> str:
        """``<id>/epoch <n>``, for messages."""
        return f"{self.id}/epoch {self.epoch}"


class SampleSource:
    """A log's sample list and full samples as JSON dicts. Not thread-safe: use from one thread at a time."""

    def keys(self) -> list[SampleKey]:
        raise NotImplementedError

    def read(self, key: SampleKey) -> tuple[dict[str, Any], bytes | None]:
        """The sample as a JSON dict, and the raw member bytes when there are some (for cheap sanity scans)."""
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""


class EvalZipSource(SampleSource):
    """Samples of a local ``.eval`` file, read member by member from one open zip."""

    def __init__(self, path: str | Path) -> None:
        self._zip = zipfile.ZipFile(path)

    def keys(self) -> list[SampleKey]:
        return _dedupe([_key(entry) for entry in self._summary_entries()])

    def _summary_entries(self) -> list[dict[str, Any]]:
        names = self._zip.NameToInfo
        if SUMMARIES_JSON in names:
            return _summary_list(self._zip.read(SUMMARIES_JSON), SUMMARIES_JSON)
        journal = sorted(
            (n for n in names if n.startswith(JOURNAL_SUMMARIES_DIR) and n.endswith(".json")),
            key=lambda n: int(n[len(JOURNAL_SUMMARIES_DIR) : -len(".json")]),
        )
        entries: list[dict[str, Any]] = []
        for name in journal:
            entries.extend(_summary_list(self._zip.read(name), name))
        return entries

    def read(self, key: SampleKey) -> tuple[dict[str, Any], bytes]:
        name = f"samples/{key.id}_epoch_{key.epoch}.json"
        try:
            data = self._zip.read(name)
        except KeyError:
            raise SampleReadError(
                f"sample {key.label()} is listed in the summaries but {name} is missing"
            ) from None
        value = json.loads(data)
        if not isinstance(value, dict):
            raise SampleReadError(f"{name} is not a JSON object")
        return value, data

    def close(self) -> None:
        self._zip.close()


class JsonLogSource(SampleSource):
    """Samples of a legacy ``.json`` log (one document): read once with Inspect, dumped to plain JSON per sample."""

    def __init__(self, location: str) -> None:
        from inspect_ai.log import read_eval_log

        log = read_eval_log(location)
        self._samples = {(str(s.id), s.epoch): s for s in log.samples or []}
        self._keys = [SampleKey(s.id, s.epoch, s.uuid) for s in log.samples or []]

    def keys(self) -> list[SampleKey]:
        return _dedupe(self._keys)

    def read(self, key: SampleKey) -> tuple[dict[str, Any], None]:
        sample = self._samples.get((str(key.id), key.epoch))
        if sample is None:
            raise SampleReadError(f"sample {key.label()} is missing from the log")
        return sample.model_dump(mode="json", exclude_none=True), None


def read_log_header(location: str) -> EvalLog:
    """A log's header (``header_only``), as Inspect reads it but without the per-sample reductions.

    ``read_eval_log(header_only=True)`` also parses ``reductions.json``, one entry per sample (0.25 s for a
    10,000-sample log), which the importer never uses. Local ``.eval`` files are read with Inspect's own zip header
    reader (``header.json``, or the journal's start record and config updates for a log still running); any other log
    goes through ``read_eval_log``.
    """
    from inspect_ai.log import read_eval_log

    if location.endswith(".eval"):
        fs, path = fsspec.core.url_to_fs(location)
        if _is_local(fs):
            # Inspect's private reader, pinned with Inspect's version; the importer tests cover finished and
            # running logs, so an upgrade that changes it fails there.
            from inspect_ai.log._recorders.eval import _read_header

            with zipfile.ZipFile(path) as zf:
                return _read_header(zf, location)
    return read_eval_log(location, header_only=True)


def _is_local(fs: fsspec.AbstractFileSystem) -> bool:
    protocols = (fs.protocol,) if isinstance(fs.protocol, str) else tuple(fs.protocol)
    return "file" in protocols or "local" in protocols


@contextmanager
def open_samples(location: str) -> Iterator[SampleSource]:
    """Open a log (local path, ``file://`` URI or any fsspec URL) for reading its samples."""
    if location.endswith(".json"):
        source: SampleSource = JsonLogSource(location)
        try:
            yield source
        finally:
            source.close()
        return
    fs, path = fsspec.core.url_to_fs(location)
    if _is_local(fs):
        source = EvalZipSource(path)
        try:
            yield source
        finally:
            source.close()
        return
    with tempfile.TemporaryDirectory(prefix="hawk-import-") as tmp:
        local = Path(tmp) / "log.eval"
        with fs.open(path, "rb") as remote, local.open("wb") as out:
            shutil.copyfileobj(remote, out, length=8 << 20)
        source = EvalZipSource(local)
        try:
            yield source
        finally:
            source.close()


def _summary_list(data: bytes, name: str) -> list[dict[str, Any]]:
    value = json.loads(data)
    if not isinstance(value, list):
        raise SampleReadError(f"{name}: expected a list of sample summaries")
    return value


def _key(entry: dict[str, Any]) -> SampleKey:
    return SampleKey(entry["id"], int(entry["epoch"]), entry.get("uuid"))


def _dedupe(keys: list[SampleKey]) -> list[SampleKey]:
    """Last entry per (str(id), epoch) wins, in first-seen order."""
    by_key: dict[tuple[str, int], SampleKey] = {}
    for key in keys:
        by_key[(str(key.id), key.epoch)] = key
    return list(by_key.values())
