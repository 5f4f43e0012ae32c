"""BROKER_URL=amqp://...: the same service on Dramatiq's RabbitMQ broker instead of Redis."""

from collections.abc import Iterator

import pytest
from litestar.testing import TestClient

from app.main import create_app
from tests import rabbitmq, services


@pytest.fixture
def backend() -> str:
    return "postgres"


@pytest.fixture
def rabbitmq_url() -> Iterator[str]:
    try:
        with rabbitmq.vhost() as url:
            yield url
    except Exception as error:  # noqa: BLE001
        services.unavailable("RabbitMQ (with rabbitmqctl)", error)


@pytest.fixture
def settings_overrides(rabbitmq_url):
    return {"redis_url": None, "broker_url": rabbitmq_url, "batch_size": 10}


def test_job_runs_end_to_end_over_rabbitmq(service):
    kb = service.create_kb()
    records = [{"id": f"r{i}", "content": f"record {i}"} for i in range(45)]
    job = service.run(kb, records)
    assert job["status"] == "completed"
    assert job["data"]["progress"] == {"processed": 45, "total": 45, "successful": 45, "failed": 0, "skipped": 0}
    again = service.run(kb, records)
    assert again["data"]["progress"]["skipped"] == 45
    assert len(service.entries(kb)) == 45


def test_ready_checks_the_rabbitmq_broker(service):
    response = service.client.get("/ready")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_ready_is_503_when_rabbitmq_is_unreachable(postgres):
    url = postgres.create()
    try:
        settings = services.postgres_settings(url, redis_url=None, broker_url="amqp://guest:guest@127.0.0.1:1/")
        with TestClient(create_app(settings)) as client:
            response = client.get("/ready")
        assert response.status_code == 503
        assert response.json()["checks"]["database"] == "ok"
        assert response.json()["checks"]["broker"].startswith("unavailable")
    finally:
        postgres.drop(url)
