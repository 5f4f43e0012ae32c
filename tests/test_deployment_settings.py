"""Settings that cannot make a working deployment are refused when a process starts."""

from __future__ import annotations

import pytest

from app.main import create_app
from app.settings import ConfigurationError, Settings


@pytest.mark.parametrize("broker", [{"redis_url": "redis://127.0.0.1:6379/15"}, {"broker_url": "amqp://guest:guest@127.0.0.1:5672/"}])
def test_an_api_with_a_broker_but_no_database_url_refuses_to_start(tmp_path, broker):
    """Its jobs would go to a SQLite file that no separate worker process shares."""
    with pytest.raises(ConfigurationError, match="DATABASE_URL is not"):
        create_app(Settings(data_dir=tmp_path, secret_key="k" * 40, **broker))
    assert list(tmp_path.iterdir()) == []
