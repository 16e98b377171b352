"""Fixtures for tests of storage roots: a real S3 API (moto's server on loopback) and a storage root on either
backend."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import s3fs
from moto.server import ThreadedMotoServer

MOTO_BUCKET = "hawk-test"


@pytest.fixture(scope="session")
def moto_s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Start moto's S3 server once per session and point boto3, s3fs and UPath at it; yield ``s3://bucket/prefix``.

    ``AWS_ENDPOINT_URL_S3`` alone redirects all three, so the code under test needs no test hooks. Tests that want
    isolation append their own sub-prefix (see ``storage_root``).
    """
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto logs every request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    no_aws_files = str(tmp_path_factory.mktemp("aws") / "none")
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
            mp.delenv(var, raising=False)
        mp.setenv("AWS_ENDPOINT_URL", endpoint)
        mp.setenv("AWS_ENDPOINT_URL_S3", endpoint)
        mp.setenv("AWS_ACCESS_KEY_ID", "testing")
        mp.setenv("AWS_SECRET_ACCESS_KEY", "testing")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_CONFIG_FILE", no_aws_files)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", no_aws_files)
        s3fs.S3FileSystem.clear_instance_cache()
        boto3.client("s3").create_bucket(Bucket=MOTO_BUCKET)
        try:
            yield f"s3://{MOTO_BUCKET}/hawk"
        finally:
            s3fs.S3FileSystem.clear_instance_cache()
            server.stop()


@pytest.fixture(autouse=True)
def _fresh_s3fs() -> Iterator[None]:
    """s3fs caches filesystem instances (and their listings) across tests; start each test clean."""
    s3fs.S3FileSystem.clear_instance_cache()
    yield
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.fixture(params=["local", "s3"])
def storage_root(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty storage root: a temp folder, or a unique prefix in the moto bucket."""
    if request.param == "local":
        root = tmp_path / "root"
        root.mkdir()
        return str(root)
    base: str = request.getfixturevalue("moto_s3")
    assert os.environ["AWS_ENDPOINT_URL_S3"].startswith("http://127.0.0.1:")
    return f"{base}/{uuid.uuid4().hex[:12]}"


@pytest.fixture
def moto_completion_honours_if_match(moto_s3: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """moto's server with ``If-Match`` on CompleteMultipartUpload honoured as S3 documents it (412 when the object's
    ETag differs, 404 when there is no object; checked and completed under one lock, as S3 does atomically).

    moto 5.2.5 checks ``If-Match`` on PutObject but, on completion, only ``If-None-Match: *``
    (``moto/s3/responses.py``, ``_key_response_post``); ``test_moto_alone_ignores_if_match_on_completion`` fails
    once a moto release honours it, and this patch can go.
    """
    import threading

    from moto.s3 import responses
    from moto.s3.exceptions import MissingKey, PreconditionFailed

    original = responses.S3Response._key_response_post
    lock = threading.Lock()

    def completion_checked(
        self: responses.S3Response,
        request: Any,
        body: bytes,
        bucket_name: str,
        query: dict[str, Any],
        key_name: str,
    ) -> Any:
        if_match = request.headers.get("If-Match")
        if not (query.get("uploadId") and if_match):
            return original(self, request, body, bucket_name, query, key_name)
        with lock:
            existing = self.backend.get_object(bucket_name, key_name)
            if existing is None:
                raise MissingKey(key=key_name)
            done = existing.multipart is not None and existing.multipart.id == query["uploadId"][0]
            if not done and if_match.strip('"') != existing.etag.strip('"'):
                raise PreconditionFailed("If-Match")
            return original(self, request, body, bucket_name, query, key_name)

    monkeypatch.setattr(responses.S3Response, "_key_response_post", completion_checked)
    return moto_s3
