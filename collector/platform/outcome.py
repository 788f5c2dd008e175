"""What one attempt to hand a message to a target came to, as the dispatcher acts on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    delivered: bool
    final: bool = False  # refused for good: retrying the same message cannot help
    status: int | None = None  # the HTTP status of a webhook's answer
    error: str = ""
    retry_after_s: float | None = None  # the target asked for this pause (HTTP Retry-After)

    @classmethod
    def ok(cls, status: int | None = None) -> Outcome:
        return cls(True, status=status)

    @classmethod
    def retry(cls, error: str, status: int | None = None, retry_after_s: float | None = None) -> Outcome:
        return cls(False, status=status, error=error, retry_after_s=retry_after_s)

    @classmethod
    def refused(cls, error: str, status: int | None = None) -> Outcome:
        return cls(False, final=True, status=status, error=error)
