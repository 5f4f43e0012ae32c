"""A request of the very same bytes is recognized before parsing, and its whole job copied.

The copy is proven by what is stored: the earlier job's payload envelope is rewritten with
another, equally valid compression of the same JSON (zstd level 19, where the API writes
level 1), so a later job holding those exact bytes took them from there rather than parsing
the request. Both backends.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import replace
from uuid import UUID

import orjson
import pytest
import zstandard
from python_multipart.multipart import File
from sqlalchemy import delete, select, update

from adapters.generic_json import GenericJsonAdapter
from adapters.registry import Registry
from app.api.body import Form
from app.api.submission import Received
from app.db import transaction
from app.models import Job, JobPayload
from app.services import blobs, resubmissions
from tests.test_resubmissions import RECORDS, items_of, mark

JOBS = "/api/v2/data-ingestion/jobs"
# Beside the records, so that the stored envelope is large enough for zstd's levels to differ.
EXPORT = {"system": "old-cms", "sections": [f"Section {i}: {'guides ' * (i % 7)}" for i in range(300)]}


@pytest.fixture
def settings_overrides():
    return {"batch_size": 3}


def body(kb: str) -> bytes:
    return orjson.dumps({"adapterType": "generic-json", "knowledgeBaseId": kb, "data": {"records": RECORDS, "export": EXPORT}})


def post(service, content: bytes, **headers: str) -> str:  # type: ignore[no-untyped-def]
    response = service.client.post(JOBS, content=content, headers={"content-type": "application/json", **headers})
    assert response.status_code == 202, response.text
    return response.json()["jobId"]


def mark_envelope(service, job_id: str) -> bytes:  # type: ignore[no-untyped-def]
    with transaction(service.runtime.sessions) as session:
        stored = session.scalars(select(JobPayload.body).where(JobPayload.job_id == UUID(job_id))).one()
        again = zstandard.compress(blobs.unpack(stored), 19)
        assert again != stored
        session.execute(update(JobPayload).where(JobPayload.job_id == UUID(job_id)).values(body=again))
    return again


def envelope_of(service, job_id: str) -> bytes:  # type: ignore[no-untyped-def]
    with transaction(service.runtime.sessions) as session:
        return session.scalars(select(JobPayload.body).where(JobPayload.job_id == UUID(job_id))).one()


def job_row(service, job_id: str) -> Job:  # type: ignore[no-untyped-def]
    with transaction(service.runtime.sessions) as session:
        job = session.get(Job, UUID(job_id))
        session.expunge(job)
        return job


def test_the_same_bytes_sent_again_copy_the_whole_job_unparsed(service, caplog):
    kb = service.create_kb()
    first = post(service, body(kb))
    assert service.wait(first)["status"] == "completed"
    envelope, batches = mark_envelope(service, first), mark(service, first)
    caplog.set_level(logging.INFO)
    second = post(service, body(kb))
    assert f"accepted a job of 3 batches, a copy of job {first} (the same request)" in caplog.text
    assert envelope_of(service, second) == envelope and items_of(service, second) == batches
    earlier, copy = job_row(service, first), job_row(service, second)
    assert copy.request_digest == earlier.request_digest is not None
    copied = ("knowledge_base_id", "adapter_type", "adapter_version", "options", "record_count", "batch_count", "payload_digest")
    assert [getattr(copy, name) for name in copied] == [getattr(earlier, name) for name in copied]
    job = service.wait(second)
    progress = job["data"]["progress"]
    assert (job["status"], progress["skipped"], job["result"]["entriesCreated"], job["data"]["recordCount"]) == ("completed", 7, 0, 7)
    assert copy.created_at > earlier.created_at
    payload = service.client.get(f"{JOBS}/{second}", params={"includePayload": "true"}).json()["payload"]
    assert payload == {"records": RECORDS, "export": EXPORT}
    third = post(service, body(kb))  # a copy of a copy: the newest job with those bytes
    assert f"a copy of job {second} (the same request)" in caplog.text
    assert envelope_of(service, third) == envelope and service.wait(third)["status"] == "completed"


def test_a_json_body_hashed_as_it_arrives_gives_the_digest_of_its_frames(service):
    """The API hashes a JSON body chunk by chunk while it arrives; forms, and these tests,
    hash Received.frames(): both must agree, however the bytes were chunked."""
    kb = service.create_kb()
    sent = body(kb)
    job_id = post(service, sent)
    settings = service.runtime.settings
    expected = _digest(Received([sent[:1000], sent[1000:]]).frames(), batch_size=settings.batch_size, max_records=settings.max_records_per_job)
    assert job_row(service, job_id).request_digest == expected


def test_the_same_payload_in_other_bytes_is_parsed_and_copies_only_the_batches(service):
    kb = service.create_kb()
    first = post(service, body(kb))
    service.wait(first)
    envelope, batches = mark_envelope(service, first), mark(service, first)
    spaced = orjson.dumps(orjson.loads(body(kb)), option=orjson.OPT_INDENT_2)
    second = post(service, spaced)
    assert envelope_of(service, second) != envelope  # made anew from the parsed request
    assert items_of(service, second) == batches  # copied by the payload digest
    assert job_row(service, second).request_digest not in (None, job_row(service, first).request_digest)
    assert service.wait(second)["data"]["progress"]["skipped"] == 7


def test_a_multipart_upload_sent_again_is_copied_whatever_its_boundary(service):
    kb = service.create_kb()
    export = orjson.dumps({"records": RECORDS, "export": EXPORT})

    def upload(boundary: str) -> str:
        response = service.client.post(
            JOBS,
            data={"knowledgeBaseId": kb, "adapterType": "generic-json", "comment": boundary},
            files={"data": ("export.json", export, "application/json")},
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert response.status_code == 202, response.text
        return response.json()["jobId"]

    first = upload("first-boundary")
    service.wait(first)
    envelope = mark_envelope(service, first)
    second = upload("another-boundary")
    assert envelope_of(service, second) == envelope
    assert job_row(service, second).request_digest == job_row(service, first).request_digest
    assert service.wait(second)["data"]["progress"]["skipped"] == 7
    as_json = post(service, body(kb))  # the same fields as a JSON body: other bytes, parsed
    assert envelope_of(service, as_json) != envelope


def test_requests_with_an_idempotency_key_are_always_parsed(service):
    """The key's check compares the parsed request, so such a request stores no request digest."""
    kb = service.create_kb()
    first = post(service, body(kb))
    service.wait(first)
    envelope, batches = mark_envelope(service, first), mark(service, first)
    keyed = post(service, body(kb), **{"Idempotency-Key": "nightly-2026-12-06"})
    assert envelope_of(service, keyed) != envelope and items_of(service, keyed) == batches
    assert job_row(service, keyed).request_digest is None
    assert post(service, body(kb), **{"Idempotency-Key": "nightly-2026-12-06"}) == keyed
    unkeyed = post(service, body(kb))
    assert envelope_of(service, unkeyed) == envelope  # the newest job with that digest is still the first
    assert service.client.get(JOBS).json()["total"] == 3


def test_an_earlier_job_without_its_payload_is_parsed_instead(service, caplog):
    kb = service.create_kb()
    first = post(service, body(kb))
    service.wait(first)
    batches = mark(service, first)
    with transaction(service.runtime.sessions) as session:
        session.execute(delete(JobPayload).where(JobPayload.job_id == UUID(first)))
    caplog.set_level(logging.INFO)
    second = post(service, body(kb))
    assert f"parsing the request: job {first} has no stored payload" in caplog.text
    assert service.client.get(JOBS).json()["total"] == 2  # the copy's job was rolled back with it
    assert items_of(service, second) == batches  # the payload digest still found the batches
    assert job_row(service, second).request_digest == job_row(service, first).request_digest
    payload = service.client.get(f"{JOBS}/{second}", params={"includePayload": "true"}).json()["payload"]
    assert payload == {"records": RECORDS, "export": EXPORT}


def test_bytes_accepted_before_are_refused_once_the_limits_refuse_them(service):
    """The limits a request is checked against are part of its digest: lowered, the same
    bytes are parsed again and refused, not copied."""
    kb = service.create_kb()
    first = post(service, body(kb))
    service.wait(first)
    service.runtime.settings = replace(service.runtime.settings, max_records_per_job=6)
    response = service.client.post(JOBS, content=body(kb), headers={"content-type": "application/json"})
    assert response.status_code == 400, response.text
    assert response.json()["errors"] == [{"path": "data", "message": "has 7 records, more than the maximum of 6"}]
    assert service.client.get(JOBS).json()["total"] == 1


class _Plugin(GenericJsonAdapter):
    name = "plugin"


def _digest(frames: Iterable[bytes], *, batch_size: int = 500, max_records: int = 100_000) -> bytes:
    hasher = resubmissions.request_hasher(batch_size=batch_size, max_records=max_records)
    for frame in frames:
        hasher.update(frame)
    return hasher.digest()


def test_the_request_digest_covers_the_bytes_the_limits_and_the_adapters(monkeypatch):
    frames = list(Received([b'{"a": 1}']).frames())
    base = _digest(frames)
    assert _digest(list(Received([b'{"a": 1}']).frames())) == base
    assert _digest(list(Received([b'{"a":1}']).frames())) != base
    assert _digest(frames, batch_size=499) != base
    assert _digest(frames, max_records=99_999) != base
    monkeypatch.setattr(resubmissions, "REQUEST_FORMAT", resubmissions.REQUEST_FORMAT + 1)
    assert _digest(frames) != base
    monkeypatch.undo()
    monkeypatch.setattr(resubmissions, "_release", lambda: "99.0.0")
    assert _digest(frames) != base
    monkeypatch.undo()
    plugged = Registry()
    for adapter in resubmissions.registry:
        plugged.register(adapter)
    plugged.register(_Plugin())
    monkeypatch.setattr(resubmissions, "registry", plugged)
    assert _digest(frames) != base


def _file(content: bytes) -> File:
    upload = File(b"export.json", b"data")
    upload.write(content)
    upload.finalize()
    return upload


def test_a_form_is_framed_by_the_fields_it_is_read_for():
    fields = {"adapterType": b"generic-json", "knowledgeBaseId": b"kb"}
    base = b"".join(Received(form=Form(fields=dict(fields), files={"data": _file(b"[1]")})).frames())
    reordered = Form(fields={"comment": b"ignored", "knowledgeBaseId": b"kb", "adapterType": b"generic-json"}, files={"data": _file(b"[1]")})
    assert b"".join(Received(form=reordered).frames()) == base
    assert b"".join(Received(form=Form(fields=dict(fields), files={"data": _file(b"[2]")})).frames()) != base
    with_options = Form(fields={**fields, "options": b"{}"}, files={"data": _file(b"[1]")})
    assert b"".join(Received(form=with_options).frames()) != base
    # Parts cannot run into each other: the same bytes split differently between two fields differ.
    shifted = Form(fields={"adapterType": b"generic-jsonk", "knowledgeBaseId": b"b"}, files={"data": _file(b"[1]")})
    assert b"".join(Received(form=shifted).frames()) != base
    assert b"".join(Received([b"[1]"]).frames()) != base
