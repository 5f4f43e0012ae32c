"""Payload-to-record transforms, and the registry the API and workers share.

Adding an adapter means writing an `Adapter` subclass and registering it here (or
advertising it under the `kb_ingest.adapters` entry-point group from another package).
"""

from adapters.base import Adapter, Identity, Issue, PayloadError, Record, RecordError
from adapters.content_hub import ContentHubAdapter
from adapters.generic_json import GenericJsonAdapter
from adapters.html_markdown import html_to_markdown
from adapters.registry import Registry, UnknownAdapter

registry = Registry()
registry.register(GenericJsonAdapter())
registry.register(ContentHubAdapter())
registry.load_entry_points()

__all__ = [
    "Adapter",
    "Identity",
    "Issue",
    "PayloadError",
    "Record",
    "RecordError",
    "Registry",
    "UnknownAdapter",
    "html_to_markdown",
    "registry",
]
