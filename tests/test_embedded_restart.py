"""The embedded mode keeps messages in memory: a restart must find unfinished work in the database."""

from litestar.testing import TestClient

from app.main import create_app
from app.settings import Settings
from tests.conftest import Service


def test_job_accepted_before_a_restart_completes_after_it(tmp_path):
    settings = Settings(data_dir=tmp_path / "data", log_json=False, batch_size=5)
    first = create_app(settings)
    with TestClient(first) as client:
        service = Service("embedded", client, first.state["runtime"], first.state["worker"])
        kb = service.create_kb()
        service.pause_worker()
        job_id = service.submit(kb, [{"id": f"r{i}", "content": f"text {i}"} for i in range(23)])
    second = create_app(settings)
    with TestClient(second) as client:
        service = Service("embedded", client, second.state["runtime"], second.state["worker"])
        job = service.wait(job_id)
        assert job["status"] == "completed"
        assert job["data"]["progress"] == {"processed": 23, "total": 23, "successful": 23, "failed": 0, "skipped": 0}
        assert client.get(f"/api/v2/knowledge-bases/{kb}/entries", params={"limit": 1}).json()["total"] == 23
