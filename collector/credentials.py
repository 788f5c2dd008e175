"""Passwords and tokens: how they are made, stored and checked.

Passwords are chosen by people, so they are hashed with Argon2id (slow on purpose). Device
and login tokens are 256 random bits made here; a slow hash adds nothing to a secret that
cannot be guessed, so they are stored as SHA-256 and looked up by that digest in one query.
The prefix tells a device token (``bwd_``) from a login token (``bwu_``).
"""

from __future__ import annotations

import hashlib
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

DEVICE_PREFIX = "bwd_"
LOGIN_PREFIX = "bwu_"
MIN_PASSWORD_LENGTH = 8

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("not a password of anyone")


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; with no hash (unknown user) still spend the same time."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_token(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
