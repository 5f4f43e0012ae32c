"""The key that signs access tokens: from SECRET_KEY, or kept in the data folder when embedded."""

from __future__ import annotations

import secrets

from app.auth.private_files import write_private
from app.settings import ConfigurationError, Settings

MIN_KEY_LENGTH = 32
KEY_FILE = "secret-key"
HOW_TO_MAKE_ONE = "python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def signing_key(settings: Settings) -> str:
    """Every API process of a deployment must share the key, so only the embedded mode may invent one."""
    if settings.secret_key:
        if len(settings.secret_key) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"SECRET_KEY is {len(settings.secret_key)} characters long; it must have at least "
                f"{MIN_KEY_LENGTH}. Make one with: {HOW_TO_MAKE_ONE}"
            )
        return settings.secret_key
    if settings.database_url is not None:
        raise ConfigurationError(
            "SECRET_KEY is not set. With DATABASE_URL set, every API process must sign access tokens "
            f"with the same key: set SECRET_KEY to a random string of at least {MIN_KEY_LENGTH} characters, "
            f"e.g. from: {HOW_TO_MAKE_ONE}"
        )
    return _kept_key(settings)


def _kept_key(settings: Settings) -> str:
    path = settings.data_dir / KEY_FILE
    if not path.exists():
        write_private(path, secrets.token_urlsafe(48), replace=False)
    key = path.read_text(encoding="utf-8").strip()
    if len(key) < MIN_KEY_LENGTH:
        raise ConfigurationError(f"{path} holds a key shorter than {MIN_KEY_LENGTH} characters; delete it to make a new one")
    return key
