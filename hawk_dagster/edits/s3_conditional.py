"""Replace an S3 object only if it is still the version read (``If-Match``), whatever its size.

Inspect's own conditional write (``write_eval_log(..., if_match_etag=...)``) sends the whole log in one PutObject,
which S3 refuses above 5 GiB, and holds it in memory. Here the rewritten log is a local file: below
:data:`MULTIPART_THRESHOLD` it goes up in one conditional PutObject; above, as a multipart upload whose
CompleteMultipartUpload carries the ``If-Match`` (S3 applies the condition when the object is created, i.e. at
completion, so parts uploaded by a writer that lost are never visible). Either way a writer that got in between makes
S3 answer 412 (or 409 ``ConditionalRequestConflict`` when two completions race), which is :class:`ObjectChangedError`
here, and the caller reads the new version and tries again.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

MULTIPART_THRESHOLD = 64 * 1024 * 1024
"""Objects at least this large go up as a multipart upload (a single PutObject stops at 5 GiB)."""
PART_SIZE = 64 * 1024 * 1024
"""Each part but the last (S3: 5 MiB to 5 GiB, at most 10,000 parts: 640 GiB at this size)."""
UPLOAD_THREADS = 4
CONFLICT_CODES = frozenset({"PreconditionFailed", "412", "ConditionalRequestConflict", "409"})


class ObjectChangedError(RuntimeError):
    """The object is no longer the version whose ETag was given: nothing was written."""


class ObjectGoneError(RuntimeError):
    """The object was deleted since it was read: nothing was written."""


def bucket_and_key(location: str) -> tuple[str, str]:
    parsed = urlparse(location)
    return parsed.netloc, parsed.path.lstrip("/")


def replace_if_match(source: Path, location: str, etag: str) -> str:
    """Upload ``source`` over the object at ``location`` (``s3://bucket/key``) if its ETag is still ``etag``;
    return the new ETag. Raises :class:`ObjectChangedError` or :class:`ObjectGoneError` otherwise."""
    import boto3
    from botocore.exceptions import ClientError

    bucket, key = bucket_and_key(location)
    client = boto3.client("s3")
    condition = f'"{etag.strip(chr(34))}"'
    try:
        if source.stat().st_size < MULTIPART_THRESHOLD:
            with source.open("rb") as body:
                response = client.put_object(Bucket=bucket, Key=key, Body=body, IfMatch=condition)
        else:
            response = _multipart(client, source, bucket, key, condition)
    except ClientError as ex:
        code = str(ex.response.get("Error", {}).get("Code", ""))
        if code in CONFLICT_CODES:
            raise ObjectChangedError(f"{location} changed since it was read (ETag {etag})") from None
        if code in ("NoSuchKey", "404"):
            raise ObjectGoneError(f"{location} was deleted since it was read") from None
        raise
    return str(response["ETag"]).strip('"')


def _multipart(client: Any, source: Path, bucket: str, key: str, condition: str) -> dict[str, Any]:
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    size = source.stat().st_size
    offsets = range(0, size, PART_SIZE)

    def upload(number: int, offset: int) -> dict[str, Any]:
        with source.open("rb") as file:
            file.seek(offset)
            body = file.read(PART_SIZE)
        part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=body)
        return {"PartNumber": number, "ETag": part["ETag"]}

    try:
        with ThreadPoolExecutor(UPLOAD_THREADS) as pool:
            parts = list(pool.map(upload, range(1, len(offsets) + 1), offsets))
        return dict(
            client.complete_multipart_upload(
                Bucket=bucket,
                Key=key,
                UploadId=upload_id,
                MultipartUpload={"Parts": parts},
                IfMatch=condition,
            )
        )
    except BaseException:
        from botocore.exceptions import ClientError

        try:  # the parts of an upload that will never complete cost storage
            client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
        except ClientError:
            pass  # a bucket lifecycle rule for incomplete uploads is the backstop
        raise
