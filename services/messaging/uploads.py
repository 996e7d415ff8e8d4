"""Reading a new message from the request: JSON without photos, or multipart with ``body`` and ``photos``.

Everything is checked before anything is stored: text length, photo count,
each photo's size (read at most one byte past the limit) and its real type
from its first bytes. A refused request leaves no row and no file.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import Request

from daiko.canonical import TEXT_CONTROL
from daiko.problems import Problem, field_errors, invalid_request
from services.messaging.domain import BodyProblem, check_body, safe_filename, sniff_image, without_nul
from services.messaging.repository import NewPhoto
from services.messaging.schemas import NewMessage
from services.messaging.settings import MessagingSettings

FORM_OVERHEAD = 1024 * 1024  # multipart boundaries and the text field, on top of the photos themselves


@dataclass(frozen=True)
class NewMessageInput:
    body: str
    photos: list[NewPhoto]

    def identity(self) -> dict[str, Any]:
        """What tells a retry of this message from another one under the same Idempotency-Key."""
        return {
            "body": self.body,
            "photos": [[p.filename, hashlib.sha256(p.content).hexdigest()] for p in self.photos],
        }


def _invalid(detail: str, code: str, field: str) -> Problem:
    return invalid_request(detail, code=code, errors=[{"field": field, "message": detail}])


def check_text(body: str, settings: MessagingSettings) -> str:
    if TEXT_CONTROL.search(body):  # a multipart field: the JSON bodies were already checked at the door
        raise _invalid("control characters (such as NUL) are not allowed", "control-characters", "body")
    problem = check_body(body, settings.message_max_chars)
    if problem is BodyProblem.EMPTY:
        raise _invalid("the message must not be empty", "message-empty", "body")
    if problem is BodyProblem.TOO_LONG:
        raise _invalid(
            f"the message is {len(body)} characters long; at most {settings.message_max_chars} are allowed",
            "message-too-long",
            "body",
        )
    return without_nul(body).strip()


async def check_photos(files: list[UploadFile], settings: MessagingSettings) -> list[NewPhoto]:
    if len(files) > settings.attachment_max_count:
        raise _invalid(
            f"{len(files)} photos attached; at most {settings.attachment_max_count} per message",
            "too-many-photos",
            "photos",
        )
    photos = []
    for index, upload in enumerate(files):
        name = upload.filename or f"photo {index + 1}"
        content = await upload.read(settings.attachment_max_bytes + 1)
        if len(content) > settings.attachment_max_bytes:
            raise Problem(
                413,
                "Photo too large",
                f"{name!r} is larger than {settings.attachment_max_bytes:,} bytes",
                code="photo-too-large",
                max_bytes=settings.attachment_max_bytes,
            )
        kind = sniff_image(content)
        if kind is None:
            raise Problem(
                415,
                "Unsupported photo",
                f"{name!r} is not a JPEG, PNG or WebP image (checked from its content, not its name)",
                code="unsupported-photo",
            )
        photos.append(NewPhoto(filename=safe_filename(upload.filename, kind, index), content=content, kind=kind))
    return photos


async def read_new_message(request: Request, settings: MessagingSettings) -> NewMessageInput:
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = settings.attachment_max_count * settings.attachment_max_bytes + FORM_OVERHEAD
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise Problem(413, "Request too large", f"the request is larger than {limit:,} bytes", code="request-too-large")
    if content_type == "application/json":
        try:
            parsed = NewMessage.model_validate_json(await request.body())
        except ValidationError as exc:
            errors = field_errors(exc.errors())
            fields = ", ".join(e["field"] for e in errors if e["field"]) or "body"
            raise invalid_request(f"invalid fields: {fields}", errors=errors) from exc
        return NewMessageInput(body=check_text(parsed.body, settings), photos=[])
    if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
        async with request.form(max_files=settings.attachment_max_count * 4 + 4, max_fields=20) as form:
            body = form.get("body")
            if not isinstance(body, str):
                raise _invalid("a text field 'body' is required", "message-empty", "body")
            files = []
            for item in form.getlist("photos"):
                if item == "":
                    continue  # an empty file input sent without a file name
                if not isinstance(item, UploadFile):
                    raise _invalid("'photos' must be files", "validation-error", "photos")
                if not item.filename and not item.size:
                    continue  # a browser's empty file input
                files.append(item)
            text = check_text(body, settings)
            return NewMessageInput(body=text, photos=await check_photos(files, settings))
    raise Problem(
        415,
        "Unsupported media type",
        "send application/json ({'body': ...}) or multipart/form-data (body + photos)",
        code="unsupported-media-type",
    )
