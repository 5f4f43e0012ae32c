"""Idempotency-Key on POST /data-ingestion/jobs: a retried submission creates its job once."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from uuid import uuid4

import orjson
import pytest
from sqlalchemy import func, select, text, update

from app.api.job_creation import create_job
from app.db import transaction
from app.models import IdempotencyKey, Job, Workspace
from app.services import knowledge_bases
from app.services.jobs import Submission
from app.settings import Settings
from app.timestamps import utcnow
from workers.middleware import Sweeping

JOBS = "/api/v2/data-ingestion/jobs"
RECORDS = {"records": [{"id": "doc-1", "content": "# Title\nBody"}]}


def submit(service, kb, key, data=RECORDS, **extra):
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": data, **extra}
    return service.client.post(JOBS, json=body, headers={"Idempotency-Key": key} if key is not None else {})


def job_count(service) -> int:
    with transaction(service.runtime.sessions) as session:
        return session.scalar(select(func.count()).select_from(Job))


def age_keys(service, hours: float) -> None:
    with transaction(service.runtime.sessions) as session:
        session.execute(update(IdempotencyKey).values(created_at=utcnow() - timedelta(hours=hours)))


def test_same_key_and_request_returns_the_original_job_and_creates_nothing(service):
    kb = service.create_kb()
    first = submit(service, kb, "order-42")
    again = submit(service, kb, "order-42")
    assert first.status_code == again.status_code == 202
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert job_count(service) == 1
    assert service.wait(first.json()["jobId"])["result"]["entriesCreated"] == 1


def test_replay_after_the_job_completed_still_creates_nothing(service):
    kb = service.create_kb()
    job_id = submit(service, kb, "k").json()["jobId"]
    service.wait(job_id)
    replay = submit(service, kb, "k")
    assert replay.json()["jobId"] == job_id
    assert job_count(service) == 1
    assert service.client.get(f"{JOBS}/{job_id}").json()["data"]["progress"]["processed"] == 1


def test_json_and_multipart_forms_of_one_request_are_the_same_request(service):
    kb = service.create_kb()
    first = submit(service, kb, "k")
    files = {"data": ("data.json", orjson.dumps(RECORDS), "application/json")}
    again = service.client.post(
        JOBS, data={"adapterType": "generic-json", "knowledgeBaseId": kb}, files=files, headers={"Idempotency-Key": "k"}
    )
    assert again.status_code == 202, again.text
    assert again.json()["jobId"] == first.json()["jobId"]


@pytest.mark.parametrize(
    "change",
    [
        {"data": {"records": [{"id": "doc-1", "content": "other"}]}},
        {"adapterType": "content-hub"},
        {"options": {"tagAttributes": ["x"]}},
    ],
)
def test_same_key_with_a_different_request_is_a_409_saying_so(service, change):
    kb = service.create_kb()
    assert submit(service, kb, "k").status_code == 202
    body = {"adapterType": "generic-json", "knowledgeBaseId": kb, "data": RECORDS, **change}
    response = service.client.post(JOBS, json=body, headers={"Idempotency-Key": "k"})
    assert response.status_code == 409, response.text
    error = response.json()
    assert error["statusCode"] == 409
    assert error["message"].startswith("Idempotency-Key 'k' was already used for a different request")
    assert job_count(service) == 1


def test_same_key_for_another_knowledge_base_is_a_409(service):
    kb, other = service.create_kb("a"), service.create_kb("b")
    assert submit(service, kb, "k").status_code == 202
    assert submit(service, other, "k").status_code == 409


def test_same_request_with_another_key_or_none_creates_another_job(service):
    kb = service.create_kb()
    ids = {submit(service, kb, key).json()["jobId"] for key in ("k1", "k2", None, None)}
    assert len(ids) == 4


def test_refused_request_does_not_use_up_its_key(service):
    kb = service.create_kb()
    refused = submit(service, kb, "k", data={"records": []})
    assert refused.status_code == 400
    accepted = submit(service, kb, "k")
    assert accepted.status_code == 202
    assert "idempotent-replayed" not in accepted.headers


def test_expired_key_is_ignored_and_the_request_creates_a_new_job(service):
    kb = service.create_kb()
    first = submit(service, kb, "k").json()["jobId"]
    age_keys(service, hours=24.01)
    again = submit(service, kb, "k")
    assert again.status_code == 202
    assert "idempotent-replayed" not in again.headers
    assert again.json()["jobId"] != first
    assert submit(service, kb, "k").json()["jobId"] == again.json()["jobId"]


def test_expired_key_may_be_reused_for_a_different_request(service):
    kb = service.create_kb()
    submit(service, kb, "k")
    age_keys(service, hours=25)
    assert submit(service, kb, "k", data={"records": [{"id": "x", "content": "new"}]}).status_code == 202


@pytest.mark.parametrize("settings_overrides", [{"idempotency_key_ttl": 3600}])
def test_key_lifetime_is_configurable(service):
    kb = service.create_kb()
    first = submit(service, kb, "k").json()["jobId"]
    age_keys(service, hours=0.9)
    assert submit(service, kb, "k").json()["jobId"] == first
    age_keys(service, hours=1.1)
    assert submit(service, kb, "k").json()["jobId"] != first


def test_expired_keys_are_purged_by_the_sweeper_not_by_submissions(service):
    runner = next(m for m in service.runtime.broker.middleware if isinstance(m, Sweeping)).sweeper
    runner.stop()  # no pass of its own while the test looks
    kb = service.create_kb()
    submit(service, kb, "old-1")
    submit(service, kb, "old-2")
    age_keys(service, hours=48)
    submit(service, kb, "new")
    assert stored_keys(service) == {"old-1", "old-2", "new"}, "a submission does no housekeeping"
    runner.sweep_once()
    assert stored_keys(service) == {"new"}


def stored_keys(service) -> set[str]:
    with transaction(service.runtime.sessions) as session:
        return set(session.scalars(select(IdempotencyKey.key)))


def test_keys_are_per_workspace(service):
    kb = service.create_kb()
    other_workspace = uuid4()
    with transaction(service.runtime.sessions) as session:
        session.add(Workspace(id=other_workspace, name="other"))
        session.flush()
        other_kb = knowledge_bases.create(session, workspace_id=other_workspace, name="docs", description=None).id
    ours = submit(service, kb, "shared-key").json()["jobId"]
    submission = Submission(adapter_type="generic-json", knowledge_base_id=other_kb, data=RECORDS)
    theirs = create_job(service.runtime, workspace_id=other_workspace, submission=submission, key="shared-key")
    assert not theirs.replayed
    assert str(theirs.job_id) != ours
    assert job_count(service) == 2


def test_a_failure_storing_the_key_rolls_back_its_job(service):
    kb = service.create_kb()
    with service.runtime.engine.begin() as connection:
        if service.kind == "postgres":
            connection.execute(text("CREATE FUNCTION refuse() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'disk full'; END $$ LANGUAGE plpgsql"))
            connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON idempotency_keys FOR EACH ROW EXECUTE FUNCTION refuse()"))
        else:
            connection.execute(text("CREATE TRIGGER refuse BEFORE INSERT ON idempotency_keys BEGIN SELECT RAISE(ABORT, 'disk full'); END"))
    response = submit(service, kb, "k")
    assert response.status_code == 500
    assert response.json()["message"] == "An unexpected error occurred"
    assert job_count(service) == 0


@pytest.mark.parametrize(
    "key",
    ["x" * 256, " leading-space", "trailing-space ", "tab\tinside", "del\x7f", b"caf\xc3\xa9", ""],
    ids=["too-long", "leading-space", "trailing-space", "tab", "del", "non-ascii", "empty"],
)
def test_malformed_key_is_a_400_naming_the_header(service, key):
    kb = service.create_kb()
    response = submit(service, kb, key)
    assert response.status_code == 400, response.text
    error = response.json()
    assert error["message"].startswith("Idempotency-Key must be one value of 1-255 printable ASCII characters")
    assert error["errors"][0]["path"] == "Idempotency-Key"
    assert job_count(service) == 0


def test_longest_key_is_accepted(service):
    kb = service.create_kb()
    key = "k" * 254 + "!"
    assert submit(service, kb, key).status_code == 202
    assert submit(service, kb, key).headers["idempotent-replayed"] == "true"


def test_two_identical_requests_racing_with_one_key_create_one_job(service, caplog):
    """Both requests are held at the key's table until both have built their job; then one wins."""
    kb = service.create_kb()
    records = {"records": [{"id": f"doc-{i}", "content": f"body {i}"} for i in range(2000)]}
    responses: list = []
    with _held_key_table(service) as wait_for_blocked:
        threads = [threading.Thread(target=lambda: responses.append(submit(service, kb, "race", data=records))) for _ in range(2)]
        for thread in threads:
            thread.start()
        wait_for_blocked(2)
    for thread in threads:
        thread.join(timeout=60)
    assert [r.status_code for r in responses] == [202, 202]
    assert responses[0].json()["jobId"] == responses[1].json()["jobId"]
    assert sorted(r.headers.get("idempotent-replayed", "-") for r in responses) == ["-", "true"]
    assert job_count(service) == 1
    if service.kind == "postgres":  # the loser's insert of the key failed, and it rolled back its own job
        assert any(r.getMessage().startswith("lost the race for Idempotency-Key 'race'") for r in caplog.records)
    job = service.wait(responses[0].json()["jobId"])
    assert job["result"]["entriesCreated"] == 2000


class _held_key_table:
    """Blocks writes to idempotency_keys (PostgreSQL) or all writes (SQLite) until the block ends."""

    def __init__(self, service) -> None:
        self.service = service
        self.connection = service.runtime.engine.connect()

    def __enter__(self):
        if self.service.kind == "postgres":
            self.connection.execute(text("LOCK TABLE idempotency_keys IN SHARE ROW EXCLUSIVE MODE"))
        else:
            self.connection.execute(text("SELECT 1"))  # the engine's begin hook took the write lock
        return self.wait_for_blocked

    def wait_for_blocked(self, count: int) -> None:
        if self.service.kind != "postgres":
            time.sleep(1.0)  # SQLite cannot tell who waits; the outcome must hold either way
            return
        deadline = time.monotonic() + 60
        with self.service.runtime.engine.connect() as probe:
            while time.monotonic() < deadline:
                waiting = probe.execute(
                    text("SELECT count(*) FROM pg_locks WHERE relation = 'idempotency_keys'::regclass AND NOT granted")
                ).scalar()
                if waiting >= count:
                    return
                time.sleep(0.05)
        raise AssertionError(f"{count} requests never waited on the key table")

    def __exit__(self, *exc) -> None:
        self.connection.commit()
        self.connection.close()


def test_key_lifetime_defaults_to_24_hours_and_is_read_from_the_environment():
    assert Settings().idempotency_key_ttl == 24 * 3600
    assert Settings.from_env({"IDEMPOTENCY_KEY_TTL": "60"}).idempotency_key_ttl == 60
