"""Errors of the collector's own rules; the API turns each into its HTTP status, the CLI into a message."""

from __future__ import annotations

import math


class CollectorError(Exception):
    http_status = 400
    headers: dict[str, str] | None = None  # sent with the HTTP answer


class Invalid(CollectorError):
    """Well-formed input that breaks a rule (an unknown bin, a hash that does not match)."""

    http_status = 422


class TooEarly(Invalid):
    """A time the collector's clock has not reached yet: ``Retry-After`` says when it will have."""

    def __init__(self, message: str, retry_after_s: float):
        super().__init__(message)
        self.headers = {"Retry-After": str(max(1, math.ceil(retry_after_s)))}


class Forbidden(CollectorError):
    http_status = 403


class NotFound(CollectorError):
    http_status = 404


class Conflict(CollectorError):
    """The request contradicts what is stored (a reused id, nothing left to undo)."""

    http_status = 409


class TooLarge(CollectorError):
    http_status = 413


class UnsupportedMedia(CollectorError):
    http_status = 415


class Gone(CollectorError):
    """The thing existed and was deleted on purpose (evidence past its retention period)."""

    http_status = 410


class Unavailable(CollectorError):
    """Something the collector relies on (its database, the object store) cannot be reached now;
    nothing was changed, try again later."""

    http_status = 503
