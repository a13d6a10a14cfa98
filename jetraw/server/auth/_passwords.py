"""Password hashing: scrypt (memory-hard), random salt, a self-describing encoding."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["dummy_verify", "hash_password", "verify_password"]

_SCHEME = "scrypt"
_R = 8
_P = 1
_DKLEN = 32
# A hash of a password nobody has: verifying against it when the user is unknown costs the same
# time as a real check, so response times do not tell which emails exist.
_DUMMY_SALT = b"jetraw-no-such-user"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _scrypt(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    # maxmem must cover 128 * n * r * (p + 1) bytes or OpenSSL refuses large n.
    maxmem = 128 * n * r * (p + 2) + 1024 * 1024
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=_DKLEN, maxmem=maxmem
    )


def hash_password(password: str, *, n: int) -> str:
    """Hash ``password`` with scrypt.

    Args:
        password: The clear-text password.
        n: The scrypt CPU/memory cost (a power of two ≥ 2).

    Returns:
        ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (salt and hash unpadded base64url).

    Raises:
        ValueError: ``n`` is not a power of two ≥ 2.
    """
    if n < 2 or n & (n - 1):
        raise ValueError("scrypt n must be a power of two >= 2")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password, salt, n, _R, _P)
    return f"{_SCHEME}${n}${_R}${_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, encoded: str | None) -> bool:
    """Check ``password`` against an encoding made by :func:`hash_password`, in constant time.

    A missing or malformed ``encoded`` value is never a match, but still costs one scrypt
    evaluation so that timing does not reveal it.
    """
    try:
        scheme, n_text, r_text, p_text, salt_text, digest_text = (encoded or "").split("$")
        if scheme != _SCHEME:
            raise ValueError(scheme)
        n, r, p = int(n_text), int(r_text), int(p_text)
        if n < 2 or n & (n - 1) or n > 2**20 or not 1 <= r <= 32 or not 1 <= p <= 16:
            raise ValueError("cost out of range")
        salt, expected = _unb64(salt_text), _unb64(digest_text)
    except (ValueError, TypeError):
        _scrypt(password, _DUMMY_SALT, 2**4, _R, _P)
        return False
    actual = _scrypt(password, salt, n, r, p)
    return hmac.compare_digest(actual, expected)


def dummy_verify(password: str, *, n: int) -> None:
    """Spend the time of one real verification (for unknown users)."""
    _scrypt(password, _DUMMY_SALT, n, _R, _P)
