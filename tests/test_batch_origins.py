"""A resubmission's batches share the stored records of the job they repeat: what keeps
them there, and the migration that introduced the sharing, both ways. Both backends."""

from __future__ import annotations

from uuid import UUID

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.db import transaction
from app.models import Job, JobBatch
from tests import services
from tests.test_resubmissions import RECORDS, origins, stored

JOBS = "/api/v2/data-ingestion/jobs"


@pytest.fixture
def settings_overrides():
    return {"batch_size": 3}


def origin_and_copy(service) -> tuple[str, str]:  # type: ignore[no-untyped-def]
    kb = service.create_kb()
    first = service.run(kb, RECORDS)["id"]
    second = service.run(kb, RECORDS)["id"]
    assert origins(service, second) == [(UUID(first), False)] * 3
    return first, second


def test_a_job_whose_records_a_copy_shares_cannot_be_deleted(service):
    first, second = origin_and_copy(service)
    with pytest.raises(IntegrityError):
        with transaction(service.runtime.sessions) as session:
            session.execute(delete(Job).where(Job.id == UUID(first)))
    assert stored(service, second) == stored(service, first)
    payload = service.client.get(f"{JOBS}/{second}", params={"includePayload": "true"}).json()["payload"]
    assert payload == {"records": RECORDS}


def test_a_batch_stores_its_records_or_names_its_origin_never_both(service):
    first, second = origin_and_copy(service)
    for values in ({"items": b"records of its own"}, {"origin_job_id": None}):
        with pytest.raises(IntegrityError):
            with transaction(service.runtime.sessions) as session:
                session.execute(update(JobBatch).where(JobBatch.job_id == UUID(second)).values(**values))
    assert origins(service, second) == [(UUID(first), False)] * 3


def _alembic(service, action: str, revision: str) -> None:  # type: ignore[no-untyped-def]
    services.alembic(service.runtime.engine, action, revision)


def test_downgrading_gives_every_copy_its_records_back(service):
    first, second = origin_and_copy(service)
    shared = stored(service, first)
    service.pause_worker()
    _alembic(service, "downgrade", "0009_request_digest")
    with service.runtime.engine.connect() as connection:
        rows = connection.execute(select(JobBatch.__table__.c["items"], JobBatch.__table__.c.manifest).where(JobBatch.__table__.c.job_id == UUID(second)).order_by(JobBatch.__table__.c.seq))
        assert [(items, manifest) for items, manifest in rows] == shared
    _alembic(service, "upgrade", "head")
    assert stored(service, second) == shared and origins(service, second) == [(None, True)] * 3
    service.resume_worker()
    third = service.run(service.create_kb("after the round trip"), RECORDS)
    assert third["status"] == "completed" and third["result"]["entriesCreated"] == 7
