"""Domain exceptions: how a use case says no, in the agency's words and without HTTP.

Use cases and rules raise these; they never build HTTP answers. Each service
keeps one table (in its ``app.py``) from exception class to HTTP status and
title, and :mod:`daiko.problems` turns a raised exception into an RFC 9457
problem through that table, so the status of a refusal is decided in one place.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """A refusal of the business. ``code`` names it (the problem's type); ``facts`` are what a client may act on.

    ``title`` overrides the table's title where one exception class covers
    several refusals (e.g. the order workflow's refusal types).
    """

    code: ClassVar[str] = "operation-refused"

    def __init__(self, detail: str, *, code: str | None = None, title: str | None = None, **facts: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.title = title
        self.facts: dict[str, Any] = facts
        if code is not None:
            self.code = code  # type: ignore[misc]  # an instance may name itself more precisely than its class


class NotFound(DomainError):
    """The thing does not exist, or is not the caller's (which must read the same, never as a 403)."""

    code = "not-found"

    def __init__(self, what: str) -> None:
        super().__init__(f"{what} does not exist")


class InvalidInput(DomainError):
    """Input that passed the schema but that a rule refuses (a cursor not ours, a malformed webhook)."""

    code = "validation-error"


class Unavailable(DomainError):
    """A part the use case needs cannot answer now; the client should retry later."""

    code = "unavailable"
