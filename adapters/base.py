"""The contract every adapter fulfils: a submitted payload in, normalized records out.

Adapters are pure transforms: no database, no settings, no I/O. The API calls
`parse_options` and `items` once at submission (so a payload that does not fit is a
400 before anything is stored); workers call `identify`, `fingerprint` and `normalize`
per record, in that order, and stop after `fingerprint` when the stored content hash
matches (so an unchanged record never pays for `normalize`).
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple

CONTENT_TYPES = ("text", "markdown", "code", "qa_pair")


class Issue(NamedTuple):
    """One thing wrong with a payload, located by a dotted/indexed path such as `data.records[3].id`."""

    path: str
    message: str


class PayloadError(Exception):
    """The payload as a whole does not fit the adapter: the job is refused with a 400."""

    def __init__(self, issues: list[Issue]) -> None:
        super().__init__("; ".join(f"{i.path}: {i.message}" for i in issues))
        self.issues = issues


class RecordError(Exception):
    """One record is unusable; its message is shown to the user in the job's results.

    `source_id`: the record's id when it was read before the record failed, so that its
    result names the record although no identity could be made of it."""

    def __init__(self, message: str, *, source_id: str | None = None) -> None:
        super().__init__(message)
        self.source_id = source_id


@dataclass(frozen=True, slots=True, kw_only=True)
class Record:
    source_id: str
    title: str
    content: str
    content_type: str = "markdown"
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    url: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """A shallow dict, equal to `dataclasses.asdict` but without its deep copies, which
        measured a sixth of a worker's time on a re-run (every record is hashed)."""
        return {name: getattr(self, name) for name in _RECORD_FIELDS}


_RECORD_FIELDS = tuple(f.name for f in fields(Record))


@dataclass(frozen=True, slots=True)
class Identity:
    """What a worker must know about a record before deciding whether to look further."""

    source_id: str
    deleted: bool = False


class Adapter(abc.ABC):
    name: ClassVar[str]
    format: ClassVar[str]
    # Part of every record's fingerprint: a re-run skips, unread, records whose raw JSON,
    # options and adapter version are those their entry was written from. Bump it whenever
    # `normalize` (or `fingerprint`) would turn the same input into something else.
    version: ClassVar[str]

    def parse_options(self, options: Mapping[str, Any] | None) -> dict[str, Any]:
        """Validate the job's `options` (submitted beside `data`) and return them normalized.

        The result is stored with the job and handed back to the per-record methods, so it
        must be JSON-serializable. Adapters without options refuse any.
        """
        if options:
            raise PayloadError([Issue("options", f"adapter {self.name} takes no options")])
        return {}

    @abc.abstractmethod
    def items(self, payload: Any) -> list[Any]:
        """Check the payload's overall shape and return its raw records in submission order.

        Raises PayloadError (paths relative to `data`) when the shape does not fit at all;
        a record that is merely wrong is left for `identify`/`normalize` to fail on its own.
        """

    @abc.abstractmethod
    def identify(self, item: Any) -> Identity:
        """Return the record's source id and whether it asks for deletion; RecordError if none."""

    def fingerprint(self, item: Any, options: Mapping[str, Any]) -> Any:
        """Return the JSON value whose canonical SHA-256 is the record's content hash.

        The default hashes the normalized record. An adapter whose `normalize` is expensive
        overrides this to hash the raw item instead (plus its own version and options, so a
        converter change still re-converts unchanged input).
        """
        return self.normalize(item, options).as_dict()

    @abc.abstractmethod
    def normalize(self, item: Any, options: Mapping[str, Any]) -> Record:
        """Turn one raw item into a Record, or raise RecordError with a user-facing message."""

    def describe(self) -> dict[str, str]:
        return {"name": self.name, "format": self.format, "version": self.version}
