"""Partner API keys: generated once, shown once, stored only as a hash."""

from __future__ import annotations

import hashlib
import secrets

KEY_PREFIX = "psk_"


def new_key() -> str:
    # 256 bits of randomness: a plain SHA-256 of such a key cannot be brute-forced,
    # so no per-key salt is needed and the hash can be the lookup key.
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def key_id(key: str) -> str:
    """Short public handle of a key, safe to log and to name in a revocation."""
    return key_hash(key)[:12]


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
