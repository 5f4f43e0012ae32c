"""The one adapter registry that both the API and the workers read."""

from __future__ import annotations

from collections.abc import Iterator
from importlib import metadata

from adapters.base import Adapter

ENTRY_POINT_GROUP = "kb_ingest.adapters"


class UnknownAdapter(LookupError):
    """No adapter is registered under that name."""


class Registry:
    def __init__(self) -> None:
        self._adapters: dict[str, Adapter] = {}

    def register(self, adapter: Adapter) -> Adapter:
        if adapter.name in self._adapters:
            raise ValueError(f"An adapter named {adapter.name!r} is already registered.")
        self._adapters[adapter.name] = adapter
        return adapter

    def get(self, name: str) -> Adapter:
        try:
            return self._adapters[name]
        except KeyError:
            raise UnknownAdapter(name) from None

    def __iter__(self) -> Iterator[Adapter]:
        """In the order registered: the built-in adapters as the API document lists them
        (generic-json, then content-hub), then plug-ins by entry-point name."""
        return iter(self._adapters.values())

    def load_entry_points(self) -> None:
        """Register adapters that installed packages advertise, so a plug-in needs no edit here."""
        # Sorted: discovery order differs between installs, and /adapters lists them in this order.
        for entry_point in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            self.register(entry_point.load()())
