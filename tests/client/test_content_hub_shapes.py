"""kbi reads a content-hub export's shape as the service does, so splitting one loses nothing.

Checked against the service's own adapter on generated exports of every shape, and of
shapes the service refuses: the documents kbi finds are the ones the service would have
read in the whole export, and each job kbi makes of them holds exactly its documents.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from adapters.base import PayloadError
from adapters.content_hub import ContentHubAdapter
from kb_client.batching import content_hub_envelope
from kb_client.cli.content_hub import ShapeError, documents_in

ADAPTER = ContentHubAdapter()
META = {"timeTaken": "1ms"}

documents = st.integers(0, 99).map(lambda n: {"content": {"documentIdentifier": f"ch-{n}"}})
metadata = st.sampled_from([META, {}])
odd = st.one_of(st.integers(), st.text(max_size=2), st.none(), st.just([]))
document_lists = st.lists(documents | st.just(META) | odd, max_size=3)
pages = st.tuples(document_lists, metadata).map(list) | document_lists.map(lambda docs: [docs]) | st.lists(
    document_lists | metadata | odd, min_size=1, max_size=4)
exports = st.one_of(
    st.lists(documents, max_size=4),  # a bare list
    st.lists(st.one_of(document_lists, metadata, pages, odd, documents), max_size=6),
    metadata, odd,
)


def read_by_service(export: Any) -> list[Any] | None:
    try:
        return ADAPTER.items(export)
    except PayloadError:
        return None


def read_by_kbi(export: Any) -> list[Any] | None:
    try:
        return documents_in(export)
    except ShapeError:
        return None


@settings(max_examples=500, deadline=None)
@given(export=exports, cut=st.integers(0, 20))
@example(export=[[{"content": {"documentIdentifier": "a"}}], META, [{"content": {"documentIdentifier": "b"}}], META], cut=1)
@example(export=[[[{"content": {"documentIdentifier": "a"}}], META], [[{"content": {"documentIdentifier": "b"}}]]], cut=1)
def test_kbi_finds_the_documents_the_service_reads_and_its_jobs_hold_them(export: Any, cut: int) -> None:
    theirs, mine = read_by_service(export), read_by_kbi(export)
    if theirs is not None:
        assert mine == theirs  # an export the service takes is split with every document, in order
    if mine is None:
        return
    if theirs is None:  # refused by the service for its documents, never for a shape kbi passed
        assert not mine or any(not isinstance(d.get("content"), dict) for d in mine)
        return
    first, rest = mine[:cut], mine[cut:]
    jobs = [content_hub_envelope(part) for part in (first, rest) if part]
    assert [d for job in jobs for d in ADAPTER.items(job)] == mine


@pytest.mark.parametrize("export", [[], [[], META], [[[], META]]])
def test_an_export_without_documents_is_read_as_empty(export: Any) -> None:
    assert documents_in(export) == []
