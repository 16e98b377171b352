"""The local files a config names, received with it over HTTP and checked exactly as ``hawk eval-set`` checks them.

``hawk eval-set`` / ``hawk scan run`` with ``HAWK_API_URL`` set gather and stage the files as they would for a
storage root (``intake.carry``) and send one ``multipart/form-data`` body:

- ``config``: the config's text;
- ``manifest``: the staged bundle's manifest (``storage.carried.Manifest``: the config's folder inside the bundle,
  and every file's path, size and sha256);
- ``files``: one part per manifest entry, in the manifest's order.

The server trusts none of it. The manifest's paths must be safe relative paths, within the server's carry limits
(``HAWK_CARRY_MAX_FILES``, ``HAWK_CARRY_MAX_MB``); every part must be the file the manifest lists (size and
sha256). The files are laid out in a private temporary folder, and the config's local references are gathered from
that folder with the same code a local submission uses: what the manifest holds must be exactly what the config
names (a stray file is refused). The submission then goes through ``intake.submit`` from that folder, so the bundle
is checked, stored and named as a local submission's is. Every refusal is a 4xx naming the field, before anything is
written to the storage root.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Final

from hawk_dagster.api.errors import ApiError
from hawk_dagster.config.carried import CarriedFilesError
from hawk_dagster.config.local_files import LocalReference
from hawk_dagster.intake.carry import CarryError, CarryLimits, gather
from hawk_dagster.storage.carried import FILES, Manifest

CONFIG_FIELD: Final = "config"
MANIFEST_FIELD: Final = "manifest"
FILES_FIELD: Final = "files"
_CHUNK: Final = 1 << 20


@dataclass(frozen=True)
class ReceivedBundle:
    """What a multipart submission carried: the client's manifest and one readable part per entry, in order."""

    manifest: Manifest
    parts: Sequence[IO[bytes]]


def checked_manifest(text: str, parts: int, limits: CarryLimits) -> Manifest:
    """The manifest, if it is well formed, within ``limits``, and has one file part per entry (else 413/422)."""
    try:
        manifest = Manifest.parse(text, "the manifest")
    except CarriedFilesError as ex:
        raise ApiError(422, str(ex), field=MANIFEST_FIELD) from None
    if len(manifest.files) > limits.max_files or manifest.total_bytes > limits.max_bytes:
        raise ApiError(
            413,
            f"the files sent with this config ({len(manifest.files)} files, {manifest.total_bytes} bytes) exceed the "
            f"server's limit of {limits.max_files} files and {limits.max_bytes} bytes",
            field=FILES_FIELD,
        )
    if parts != len(manifest.files):
        raise ApiError(
            422,
            f"the manifest lists {len(manifest.files)} files but {parts} file parts were sent; send one `files` part "
            "per manifest entry, in its order",
            field=FILES_FIELD,
        )
    return manifest


def unpack(bundle: ReceivedBundle, into: Path) -> Path:
    """Write the parts under ``into/files/`` as the manifest lays them out, each checked against its entry; returns
    the config's folder there (where its relative paths resolve)."""
    files = into / FILES
    files.mkdir(parents=True)
    for index, (entry, part) in enumerate(zip(bundle.manifest.files, bundle.parts, strict=True)):
        target = files.joinpath(*entry.path.split("/"))
        digest, size = hashlib.sha256(), 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with target.open("xb") as out:
                while chunk := part.read(_CHUNK):
                    size += len(chunk)
                    if size > entry.size:
                        break
                    digest.update(chunk)
                    out.write(chunk)
        except OSError as ex:
            raise ApiError(
                422,
                f"manifest: {entry.path!r} cannot be laid out ({ex.strerror or ex})",
                field=MANIFEST_FIELD,
            ) from None
        if size != entry.size or digest.hexdigest() != entry.sha256:
            raise ApiError(
                422,
                f"files[{index}] is not the file the manifest lists as {entry.path!r} (its size or sha256 differ)",
                field=FILES_FIELD,
            )
    config_dir = files.joinpath(*bundle.manifest.base.split("/")) if bundle.manifest.base else files
    config_dir.mkdir(parents=True, exist_ok=True)
    return config_dir


def require_named(
    config_dir: Path,
    refs: Sequence[LocalReference],
    bundle: ReceivedBundle | None,
    limits: CarryLimits,
    hide: Callable[[str], str],
) -> None:
    """The files received are exactly what the config's local references carry, gathered from the received folder
    as a local submission gathers them (422 naming the field otherwise; ``hide`` takes the server's private folders
    out of a message)."""
    if bundle is None:
        if refs:
            ref = refs[0]
            raise ApiError(
                422,
                f"{ref.field}: {ref.written!r} names a file on the submitter's machine, and none were sent with the "
                "config; `hawk eval-set` / `hawk scan run` send them (as multipart/form-data: `config`, `manifest` "
                "and one `files` part per file)",
                code="invalid_config",
                field=ref.field,
            )
        return
    if not refs:
        raise ApiError(
            422,
            "files were sent, but the config names no local file to carry; send the config alone",
            field=FILES_FIELD,
        )
    try:
        base, gathered, _ = gather(config_dir, refs, limits)
    except CarryError as ex:
        raise ApiError(422, hide(str(ex)), code="invalid_config", field=ex.field or None) from None
    received = {f.path for f in bundle.manifest.files}
    stray = sorted(received - set(gathered))
    if stray or base != bundle.manifest.base:
        what = f"{stray[0]!r} is" if stray else f"the config's folder {bundle.manifest.base!r} is"
        raise ApiError(
            422,
            f"{what} not among the files the config names (a task file carries its folder; packages, cyber "
            "folders and an approval policy carry themselves)",
            field=FILES_FIELD,
        )
