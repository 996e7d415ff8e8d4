"""A photo folder the service may not write answers its own 503, not "database-unavailable".

The container runs as the unprivileged user ``daiko``; a folder owned by root
(the image's ``/app/.daiko`` before the photo volume) made every photo upload
a ``PermissionError``, which the plumbing's ``OSError`` handler took for
PostgreSQL being down. Stack-free: the store alone, and the messaging
service's problem table on a small app.
"""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from daiko.problems import PROBLEM_BASE, install_problem_handlers
from services.messaging.app import PROBLEMS
from services.messaging.storage import AttachmentStoreUnavailable, LocalAttachmentStore, attachment_key
from tests.services.messaging import images

KEY = attachment_key("0f8e7d6c-aaaa-bbbb-cccc-000000000002")
NOBODY = 65534


async def test_a_store_that_cannot_write_raises_its_own_unavailable(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the photo folder should be")
    store = LocalAttachmentStore(blocker / "attachments")  # NotADirectoryError even for root
    with pytest.raises(AttachmentStoreUnavailable) as raised:
        await store.put(KEY, images.png(), "image/png")
    assert raised.value.code == "attachment-store-unavailable"
    assert isinstance(raised.value.__cause__, OSError)
    with pytest.raises(AttachmentStoreUnavailable):
        await store.get(KEY)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become another user over a root-owned folder")
def test_a_root_owned_folder_refuses_the_unprivileged_service_with_attachment_store_unavailable(tmp_path: Path) -> None:
    """The container's defect as it was: root owns the folder, the service runs as someone else.

    A forked child drops to ``nobody`` (the interpreter and the modules are already loaded, so it needs
    no access to the virtualenv) and tries to store a photo; it reports what the store raised.
    """
    root = tmp_path / "attachments"
    root.mkdir(mode=0o755)  # owned by root, like a folder the image made before ``USER daiko``
    tmp_path.chmod(0o755)
    store = LocalAttachmentStore(root)
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        outcome = "the write succeeded"
        try:
            signal.alarm(30)  # a child stuck on a lock inherited from another thread dies; the parent then reads ""
            os.close(read_end)
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            asyncio.run(store.put(KEY, b"x", "image/png"))
        except AttachmentStoreUnavailable as exc:
            outcome = f"{exc.code} {type(exc.__cause__).__name__}"
        except BaseException as exc:
            outcome = repr(exc)
        finally:
            os.write(write_end, outcome.encode())
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        outcome = answer.read()
    os.waitpid(child, 0)
    assert outcome == "attachment-store-unavailable PermissionError"
    assert not any(root.iterdir())


async def test_over_http_it_is_a_503_attachment_store_unavailable_with_retry_after(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    store = LocalAttachmentStore(blocker / "attachments")
    app = FastAPI()
    install_problem_handlers(app, PROBLEMS)

    @app.post("/photo")
    async def photo() -> dict[str, str]:
        await store.put(KEY, images.png(), "image/png")
        return {"stored": KEY}

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://messaging") as client:
        response = await client.post("/photo")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["retry-after"]
    body = response.json()
    assert body["type"] == PROBLEM_BASE + "attachment-store-unavailable"
    assert body["title"] == "Attachment store unavailable"
    assert str(tmp_path) not in response.text  # the folder is for the logs, not for clients
