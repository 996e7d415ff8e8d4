"""Where photo attachments live: a local folder by default, S3-compatible object storage in production.

Keys are made by the service from attachment ids (never from file names or
order ids), so a key can never escape its folder or bucket prefix. ``delete``
is idempotent: clean-up after a failed post may run twice.

A store that cannot be written or read (a folder the process may not write,
a full or read-only disk, an unreachable S3 endpoint) raises
:class:`AttachmentStoreUnavailable`: a 503 ``attachment-store-unavailable``,
never mistaken for the database being down.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

import httpx

from daiko.errors import Unavailable
from services.messaging.settings import MessagingSettings
from services.messaging.sigv4 import sign

log = logging.getLogger(__name__)


class AttachmentMissing(Exception):
    """The row exists but the stored object does not (deleted by hand, or storage lost it)."""


class AttachmentStoreUnavailable(Unavailable):
    """The photo store refused or could not be reached; nothing about the request or the database."""

    code = "attachment-store-unavailable"

    def __init__(self, action: str) -> None:
        # The folder or endpoint that failed is logged where it failed, never shown to clients.
        super().__init__(
            f"the attachment store cannot {action} photos now; retry shortly", title="Attachment store unavailable"
        )


class AttachmentStore(Protocol):
    async def put(self, key: str, content: bytes, content_type: str) -> None: ...

    async def get(self, key: str) -> bytes: ...

    async def delete(self, key: str) -> None: ...

    async def close(self) -> None: ...


def attachment_key(attachment_id: str) -> str:
    return f"{attachment_id[:2]}/{attachment_id}"


class LocalAttachmentStore:
    """Files under one folder; writes go through a temporary name so a reader never sees half a photo."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"attachment key outside the store: {key!r}")
        return path

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            partial = path.with_name(f".{path.name}.{uuid.uuid4().hex}.part")
            partial.write_bytes(content)
            os.replace(partial, path)

        try:
            await asyncio.to_thread(write)
        except OSError as exc:  # PermissionError (a folder owned by another user), a full or read-only disk
            log.error("cannot write attachment %s under %s: %r", key, self.root, exc)
            raise AttachmentStoreUnavailable("store") from exc

    async def get(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise AttachmentMissing(key) from exc
        except OSError as exc:
            log.error("cannot read attachment %s under %s: %r", key, self.root, exc)
            raise AttachmentStoreUnavailable("read") from exc

    async def delete(self, key: str) -> None:
        try:
            await asyncio.to_thread(self._path(key).unlink, missing_ok=True)
        except OSError as exc:
            log.error("cannot delete attachment %s under %s: %r", key, self.root, exc)
            raise AttachmentStoreUnavailable("delete") from exc

    async def close(self) -> None:
        return None


_ACTIONS = {"PUT": "store", "GET": "read", "DELETE": "delete"}


class S3AttachmentStore:
    """Objects in one bucket of any S3-compatible store, path-style URLs, SigV4-signed with httpx."""

    def __init__(
        self,
        *,
        endpoint: str,
        region: str,
        bucket: str,
        prefix: str,
        access_key_id: str,
        secret_access_key: str,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self.endpoint = endpoint.rstrip("/")
        self.host = urlsplit(self.endpoint).netloc
        self.region = region
        self.bucket = bucket
        self.prefix = prefix
        self._access_key_id = access_key_id
        self._secret = secret_access_key
        self._client = client or httpx.AsyncClient(timeout=30)

    def _path(self, key: str) -> str:
        return f"/{self.bucket}/{self.prefix}{key}"

    async def _request(
        self, method: str, key: str, content: bytes = b"", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        path = self._path(key)
        extra = headers or {}
        signed = sign(
            method=method,
            host=self.host,
            path=path,
            headers=extra,
            payload_sha256=hashlib.sha256(content).hexdigest(),
            access_key_id=self._access_key_id,
            secret_access_key=self._secret,
            region=self.region,
            now=datetime.now(UTC),
        )
        try:
            return await self._client.request(
                method, self.endpoint + path, content=content or None, headers={**extra, **signed}
            )
        except httpx.TransportError as exc:  # endpoint unreachable, timed out: an outage of the store
            log.error("attachment store %s unreachable for %s %s: %r", self.endpoint, method, key, exc)
            raise AttachmentStoreUnavailable(_ACTIONS.get(method, "reach")) from exc

    async def put(self, key: str, content: bytes, content_type: str) -> None:
        response = await self._request("PUT", key, content, {"content-type": content_type})
        response.raise_for_status()

    async def get(self, key: str) -> bytes:
        response = await self._request("GET", key)
        if response.status_code == 404:
            raise AttachmentMissing(key)
        response.raise_for_status()
        return response.content

    async def delete(self, key: str) -> None:
        response = await self._request("DELETE", key)
        if response.status_code != 404:  # S3 answers 204 either way; some compatibles answer 404
            response.raise_for_status()

    async def close(self) -> None:
        await self._client.aclose()


def make_store(settings: MessagingSettings) -> AttachmentStore:
    if settings.attachment_storage == "s3":
        return S3AttachmentStore(
            endpoint=settings.s3_endpoint,
            region=settings.s3_region,
            bucket=settings.s3_bucket,
            prefix=settings.s3_prefix,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value(),
        )
    return LocalAttachmentStore(settings.attachment_path)
