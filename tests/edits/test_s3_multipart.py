"""Edits of a log large enough to go up as a multipart upload (thresholds lowered to S3's 5 MiB minimum part size),
against moto's server: the completion carries ``If-Match``, so a writer that got in between is never overwritten and
two concurrent edits both apply.

moto does not honour ``If-Match`` on CompleteMultipartUpload (the first test shows it); the others run on moto with
that one check added as S3 documents it (``moto_completion_honours_if_match`` in tests/s3_fixtures.py).
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import s3fs
from inspect_ai.log import EvalLog, read_eval_log, write_eval_log

from hawk_dagster.edits import s3_conditional
from hawk_dagster.edits.log_edits import apply_to_log
from hawk_dagster.edits.log_file import rewrite_log
from hawk_dagster.edits.request import Edit, parse_request
from hawk_dagster.edits.s3_conditional import ObjectChangedError, bucket_and_key, replace_if_match

MIB = 1024 * 1024
WHEN = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.fixture
def small_parts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(s3_conditional, "MULTIPART_THRESHOLD", 5 * MIB)
    monkeypatch.setattr(s3_conditional, "PART_SIZE", 5 * MIB)


@pytest.fixture(scope="module")
def large_log(template_log: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The template log with incompressible sample metadata: about 8 MiB, two parts of 5 MiB."""
    log = read_eval_log(str(template_log))
    for sample in log.samples or []:
        sample.metadata["padding"] = base64.b64encode(os.urandom(int(1.5 * MIB))).decode()
    path = tmp_path_factory.mktemp("large") / template_log.name
    write_eval_log(log, str(path))
    assert 5 * MIB < path.stat().st_size < 10 * MIB
    return path


def _upload(base: str, large_log: Path, name: str) -> str:
    location = f"{base}/multipart-{name}-{time.time_ns()}/{large_log.name}"
    s3fs.S3FileSystem().pipe_file(location, large_log.read_bytes())
    return location


def _edits(uuid: str, reason: str) -> list[Edit]:
    return list(
        parse_request(
            json.dumps([{"sample_uuid": uuid, "type": "invalidate_sample", "reason": reason}])
        ).edits
    )


def _uuids(location: str) -> list[str]:
    return sorted(str(s.uuid) for s in read_eval_log(location, header_only=False).samples or [])


def _etag(location: str) -> str:
    bucket, key = bucket_and_key(location)
    return str(boto3.client("s3").head_object(Bucket=bucket, Key=key)["ETag"]).strip('"')


def test_moto_alone_ignores_if_match_on_completion(moto_s3: str, tmp_path: Path) -> None:
    """Why the fixture: moto 5.2.5 completes a multipart upload whose If-Match names no version of the object."""
    client = boto3.client("s3")
    bucket, key = bucket_and_key(f"{moto_s3}/moto-check-{time.time_ns()}/object")
    client.put_object(Bucket=bucket, Key=key, Body=b"first")
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    part = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=1, Body=b"second")
    client.complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=upload, IfMatch='"not-its-etag"',
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )  # fmt: skip
    assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == b"second"


def test_a_stale_multipart_replacement_is_refused_and_leaves_no_upload(
    moto_completion_honours_if_match: str, large_log: Path, small_parts: None
) -> None:
    location = _upload(moto_completion_honours_if_match, large_log, "stale")
    read_etag = _etag(location)
    s3fs.S3FileSystem().pipe_file(location, b"someone else's log")
    with pytest.raises(ObjectChangedError, match="changed since it was read"):
        replace_if_match(large_log, location, read_etag)
    assert s3fs.S3FileSystem().cat_file(location) == b"someone else's log"
    bucket, key = bucket_and_key(location)
    assert "Uploads" not in boto3.client("s3").list_multipart_uploads(Bucket=bucket, Prefix=key)  # aborted
    new_etag = replace_if_match(large_log, location, _etag(location))
    assert "-" in new_etag  # a multipart ETag: <md5 of the parts' md5s>-<parts>
    assert new_etag.endswith("-2") and new_etag == _etag(location)
    assert s3fs.S3FileSystem().cat_file(location) == large_log.read_bytes()


def test_a_write_in_between_is_not_lost_on_a_multipart_sized_log(
    moto_completion_honours_if_match: str, large_log: Path, small_parts: None
) -> None:
    location = _upload(moto_completion_honours_if_match, large_log, "between")
    first, second = _uuids(location)[:2]
    rounds: list[str] = []

    def intruder(log: EvalLog) -> tuple[EvalLog | None, None]:
        return apply_to_log(log, _edits(second, "intruder"), author="bob", request_id="r2", now=WHEN)[0], None

    def ours(log: EvalLog) -> tuple[EvalLog | None, int]:
        rounds.append(str(log.etag))
        if len(rounds) == 1:  # another writer rewrites the log after we read it, before our upload completes
            rewrite_log(location, intruder)
        return apply_to_log(log, _edits(first, "ours"), author="ann", request_id="r1", now=WHEN)[0], len(
            rounds
        )

    assert rewrite_log(location, ours) == 2  # the first completion got 412; the second round read bob's log
    assert rounds[0] != rounds[1]
    assert _etag(location).endswith("-2")  # written in parts both times
    samples = {str(s.uuid): s for s in read_eval_log(location).samples or []}
    assert samples[first].invalidation is not None and samples[first].invalidation.reason == "ours"
    assert samples[second].invalidation is not None and samples[second].invalidation.reason == "intruder"
    assert len(samples[first].metadata["padding"]) > MIB  # the rest of the log survived both rewrites


def test_two_concurrent_edits_of_a_multipart_sized_log_both_apply(
    moto_completion_honours_if_match: str, large_log: Path, small_parts: None
) -> None:
    location = _upload(moto_completion_honours_if_match, large_log, "concurrent")
    uuids = _uuids(location)[:2]
    both_read = threading.Barrier(2, timeout=60)
    rounds: dict[str, int] = {}
    errors: list[BaseException] = []

    def request(uuid: str, reason: str) -> None:
        def edit(log: EvalLog) -> tuple[EvalLog | None, None]:
            rounds[reason] = rounds.get(reason, 0) + 1
            if rounds[reason] == 1:
                both_read.wait()  # both have read the same version before either uploads
            return apply_to_log(log, _edits(uuid, reason), author=reason, request_id=reason, now=WHEN)[
                0
            ], None

        try:
            rewrite_log(location, edit)
        except BaseException as ex:
            errors.append(ex)

    threads = [threading.Thread(target=request, args=(uuid, f"request-{i}")) for i, uuid in enumerate(uuids)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors
    assert sorted(rounds.values()) == [
        1,
        2,
    ]  # one completed first; the other's completion got 412 and retried
    samples = {str(s.uuid): s for s in read_eval_log(location).samples or []}
    assert [samples[u].invalidation.reason if samples[u].invalidation else None for u in uuids] == [
        "request-0",
        "request-1",
    ]
    assert _etag(location).endswith("-2")


def test_a_small_log_is_one_conditional_put(moto_s3: str, template_log: Path) -> None:
    location = f"{moto_s3}/small-{time.time_ns()}/{template_log.name}"
    s3fs.S3FileSystem().pipe_file(location, template_log.read_bytes())
    stale = _etag(location)
    s3fs.S3FileSystem().pipe_file(location, b"changed")
    with pytest.raises(ObjectChangedError):
        replace_if_match(template_log, location, stale)  # moto honours If-Match on PutObject itself
    assert "-" not in replace_if_match(template_log, location, _etag(location))  # one PutObject: a plain MD5
    assert s3fs.S3FileSystem().cat_file(location) == template_log.read_bytes()
