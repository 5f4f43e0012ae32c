"""Client secrets: made from the OS's randomness, stored only as salted scrypt hashes.

The stored form `scrypt$<log2 n>$<r>$<p>$<salt>$<hash>` carries its own cost, so the cost
can be raised later without invalidating existing secrets. Secrets are 256 random bits,
so the slow hash is defence in depth for a leaked database, not what keeps them unguessable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

SECRET_BYTES = 32
SALT_BYTES = 16
BLOCK_SIZE = 8
PARALLELISM = 1
KEY_BYTES = 32


def new_secret() -> str:
    return secrets.token_urlsafe(SECRET_BYTES)


def hash_secret(secret: str, *, cost: int) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = _scrypt(secret, salt, cost, BLOCK_SIZE, PARALLELISM)
    return "$".join(("scrypt", str(cost), str(BLOCK_SIZE), str(PARALLELISM), _b64(salt), _b64(digest)))


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash verifies nothing."""
    try:
        scheme, cost, block_size, parallelism, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = _scrypt(secret, base64.urlsafe_b64decode(salt), int(cost), int(block_size), int(parallelism))
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


def _scrypt(secret: str, salt: bytes, cost: int, block_size: int, parallelism: int) -> bytes:
    n = 2**cost
    return hashlib.scrypt(
        secret.encode(), salt=salt, n=n, r=block_size, p=parallelism, dklen=KEY_BYTES, maxmem=256 * n * block_size
    )


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()
