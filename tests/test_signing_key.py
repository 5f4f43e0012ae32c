"""Where the key that signs tokens comes from, and the starts that must refuse to run without a good one."""

from __future__ import annotations

import stat

import pytest

from app.auth.keys import KEY_FILE, signing_key
from app.main import create_app
from app.settings import ConfigurationError, Settings

POSTGRES = {"database_url": "postgresql://kb@127.0.0.1:5432/kb", "redis_url": "redis://127.0.0.1:6379/15"}


def test_a_postgres_start_without_secret_key_refuses_to_run_and_says_why():
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set") as refused:
        create_app(Settings(**POSTGRES))
    assert "secrets.token_urlsafe" in str(refused.value), "the message says how to make one"


def test_a_short_secret_key_is_refused():
    with pytest.raises(ConfigurationError, match="SECRET_KEY is 6 characters long; it must have at least 32"):
        create_app(Settings(**POSTGRES, secret_key="hunter"))


def test_a_zero_token_lifetime_is_refused(tmp_path):
    with pytest.raises(ConfigurationError, match="ACCESS_TOKEN_LIFETIME=0 is out of range: it must be from 1 to"):
        create_app(Settings(data_dir=tmp_path, access_token_lifetime=0))


def test_the_embedded_mode_makes_a_private_key_once_and_keeps_it(tmp_path):
    settings = Settings(data_dir=tmp_path)
    first = signing_key(settings)
    assert len(first) >= 32 and signing_key(settings) == first
    assert stat.S_IMODE((tmp_path / KEY_FILE).stat().st_mode) == 0o600


def test_a_configured_key_wins_over_the_kept_one(tmp_path):
    key = "k" * 40
    assert signing_key(Settings(data_dir=tmp_path, secret_key=key)) == key
    assert not (tmp_path / KEY_FILE).exists()


def test_auth_settings_are_read_from_the_environment():
    settings = Settings.from_env({"SECRET_KEY": "s" * 32, "ACCESS_TOKEN_LIFETIME": "600"})
    assert settings.secret_key == "s" * 32 and settings.access_token_lifetime == 600
