"""Submitting a large iterable of records as as many jobs as the server's limits require."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from kb_client import batching, errors
from kb_client.endpoints import Endpoints
from kb_client.models import Accepted
from kb_client.protocol import Operation

OnSubmitted = Callable[[Accepted, batching.Batch], None]


def submit_records(endpoints: Endpoints, knowledge_base_id: str, records: Iterable[Any], *, adapter: str,
                   batch_size: int | None, options: dict[str, Any] | None, envelope: batching.Envelope | None,
                   idempotency_prefix: str | None, on_submitted: OnSubmitted | None) -> Operation[list[str]]:
    """One job per batch, submitted as soon as the batch is full, so memory holds one batch at a time.

    With `idempotency_prefix`, batch n is sent with the key `{prefix}-{n}`: running the same
    migration again after a crash replays the batches that were accepted instead of
    creating their jobs twice (for as long as the server keeps its idempotency keys).
    """
    config = endpoints.config
    template = batching.BodyTemplate.for_job(adapter=adapter, knowledge_base_id=str(knowledge_base_id),
                                             envelope=envelope or _envelope_of(adapter), options=options)
    limit = min(batch_size or config.batch_size, config.max_records_per_job)
    submitted: list[str] = []
    sent_records = 0
    planned = batching.batches(records, template=template, max_records=limit, max_bytes=config.max_body_bytes)
    try:
        for number, batch in enumerate(planned):
            key = f"{idempotency_prefix}-{number}" if idempotency_prefix else None
            accepted = yield from endpoints.submit(body=batch.body, idempotency_key=key)
            submitted.append(accepted.job_id)
            sent_records += batch.count
            if on_submitted is not None:
                on_submitted(accepted, batch)
    except Exception as error:  # also the iterable's own: the caller still learns which jobs were sent
        raise errors.BatchSubmissionFailed(error, submitted=submitted, first_record=sent_records) from error
    return submitted


def _envelope_of(adapter: str) -> batching.Envelope:
    try:
        return batching.ENVELOPES[adapter]
    except KeyError:
        raise ValueError(f"No known records envelope for adapter {adapter!r} (known: {', '.join(batching.ENVELOPES)}); "
                         f"pass envelope=, a function from a list of records to the job's data") from None
