"""Attachment storage: the local folder, and the S3-compatible store with its SigV4 signer.

No S3 server can run here, so the signer is checked against the worked example
in AWS's S3 documentation, and the S3 store talks over real HTTP requests
(httpx) to a small in-process S3 stand-in that re-verifies every signature.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from services.messaging.settings import MessagingSettings
from services.messaging.sigv4 import sign
from services.messaging.storage import (
    AttachmentMissing,
    LocalAttachmentStore,
    S3AttachmentStore,
    attachment_key,
    make_store,
)
from tests.services.messaging import images

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_sigv4_matches_the_aws_s3_documentation_example() -> None:
    headers = sign(
        method="GET",
        host="examplebucket.s3.amazonaws.com",
        path="/test.txt",
        headers={"Range": "bytes=0-9"},
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET,
        region="us-east-1",
        now=datetime(2013, 5, 24, tzinfo=UTC),
    )
    assert headers["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,"
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,"
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
    )


async def test_local_store_round_trip_and_idempotent_delete(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path)
    key = attachment_key("0f8e7d6c-aaaa-bbbb-cccc-000000000001")
    await store.put(key, images.png(), "image/png")
    assert await store.get(key) == images.png()
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [key.split("/")[1]]  # no temporary file left
    await store.delete(key)
    await store.delete(key)
    with pytest.raises(AttachmentMissing):
        await store.get(key)


async def test_local_store_refuses_keys_outside_its_folder(tmp_path: Path) -> None:
    store = LocalAttachmentStore(tmp_path / "store")
    with pytest.raises(ValueError, match="outside"):
        await store.put("../escape", b"x", "image/png")


class FakeS3:
    """Enough of S3's REST API for one bucket: PUT, GET, DELETE of objects, SigV4 checked on every request."""

    def __init__(self) -> None:
        self.objects: dict[str, tuple[bytes, str]] = {}
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        body = request.content
        if request.headers["x-amz-content-sha256"] != hashlib.sha256(body).hexdigest():
            return httpx.Response(400, text="XAmzContentSHA256Mismatch")
        signed_names = request.headers["authorization"].split("SignedHeaders=")[1].split(",")[0].split(";")
        extra = {n: request.headers[n] for n in signed_names if n not in ("host", "x-amz-date", "x-amz-content-sha256")}
        expected = sign(
            method=request.method,
            host=request.headers["host"],
            path=request.url.path,
            headers=extra,
            payload_sha256=request.headers["x-amz-content-sha256"],
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET,
            region="ap-northeast-1",
            now=datetime.strptime(request.headers["x-amz-date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC),
        )
        if expected["Authorization"] != request.headers["authorization"]:
            return httpx.Response(403, text="SignatureDoesNotMatch")
        path = request.url.path
        if request.method == "PUT":
            self.objects[path] = (body, request.headers["content-type"])
            return httpx.Response(200)
        if request.method == "GET":
            if path not in self.objects:
                return httpx.Response(404, text="NoSuchKey")
            return httpx.Response(200, content=self.objects[path][0])
        self.objects.pop(path, None)
        return httpx.Response(204)


async def test_s3_store_puts_gets_and_deletes_signed_objects() -> None:
    fake = FakeS3()
    store = S3AttachmentStore(
        endpoint="https://objects.example.test",
        region="ap-northeast-1",
        bucket="daiko-photos",
        prefix="attachments/",
        access_key_id=ACCESS_KEY,
        secret_access_key=SECRET,
        client=httpx.AsyncClient(transport=httpx.MockTransport(fake)),
    )
    key = attachment_key("ab12cd34-0000-0000-0000-000000000000")
    await store.put(key, images.jpeg(), "image/jpeg")
    assert fake.objects == {f"/daiko-photos/attachments/{key}": (images.jpeg(), "image/jpeg")}
    assert await store.get(key) == images.jpeg()
    await store.delete(key)
    await store.delete(key)
    with pytest.raises(AttachmentMissing):
        await store.get(key)
    assert all(r.headers["authorization"].startswith("AWS4-HMAC-SHA256 ") for r in fake.requests)
    await store.close()


async def test_s3_store_with_wrong_secret_is_refused_not_ignored() -> None:
    fake = FakeS3()
    store = S3AttachmentStore(
        endpoint="https://objects.example.test",
        region="ap-northeast-1",
        bucket="b",
        prefix="",
        access_key_id=ACCESS_KEY,
        secret_access_key="wrong",
        client=httpx.AsyncClient(transport=httpx.MockTransport(fake)),
    )
    with pytest.raises(httpx.HTTPStatusError):
        await store.put("k", b"x", "image/png")
    assert fake.objects == {}


def test_storage_is_chosen_by_settings(tmp_path: Path) -> None:
    assert isinstance(make_store(MessagingSettings(attachment_dir=tmp_path)), LocalAttachmentStore)
    s3 = make_store(
        MessagingSettings(attachment_storage="s3", s3_bucket="b", s3_access_key_id="k", s3_secret_access_key="s")
    )
    assert isinstance(s3, S3AttachmentStore)
    with pytest.raises(ValueError, match="S3_BUCKET"):
        MessagingSettings(attachment_storage="s3")
