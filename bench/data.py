"""Deterministic benchmark data: generic-json records and the job bodies that carry them.

Text is drawn from a fixed pseudo-vocabulary so it compresses like prose (TOAST, lz4 and
zstd see realistic input), and every record is a pure function of (seed, index): two
runs, or two machines, benchmark exactly the same bytes.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

SEED = 20261123
SYLLABLES = ("ka", "lo", "mi", "ne", "su", "ta", "ri", "vo", "pe", "da", "xu", "ben", "cor", "fal", "gin", "hop", "tes")
METADATA_KEYS = ("author", "team", "product", "locale", "reviewed", "priority", "views", "category", "region")
TAGS = tuple(f"tag-{n}" for n in range(40))


def _vocabulary(rng: random.Random, size: int = 4096) -> list[str]:
    """Pseudo-words with the punctuation and paragraph breaks of prose mixed in."""
    words = ["".join(rng.choices(SYLLABLES, k=rng.randint(1, 4))) for _ in range(size)]
    for n in range(0, size, 11):
        words[n] += "."
    for n in range(5, size, 97):
        words[n] += "\n\n"
    return words


class RecordFactory:
    """Builds record `i` of the data set: 1-8 KB of text, 3-6 metadata keys, 0-5 tags.

    Each record's text is drawn afresh (no shared corpus), so a batch compresses like
    distinct articles do (about 3x with zstd, 2x with lz4), not like copies of one text.
    """

    def __init__(self, seed: int = SEED) -> None:
        self.seed = seed
        self.words = _vocabulary(random.Random(seed))

    def text(self, rng: random.Random, size: int) -> str:
        indexes = memoryview(rng.randbytes(size // 6 * 2)).cast("H")
        text = " ".join(map(self.words.__getitem__, (i % len(self.words) for i in indexes)))
        return text[:size]

    def record(self, index: int, revision: int = 1) -> dict[str, Any]:
        rng = random.Random(self.seed * 1_000_003 + index)
        title = " ".join(rng.choices(self.words, k=rng.randint(3, 8))).replace(".", "").replace("\n", "").capitalize()
        content = f"# {title}\n\nArticle {index}, revision {revision}.\n\n{self.text(rng, rng.randint(1024, 8192))}"
        keys = rng.sample(METADATA_KEYS, rng.randint(3, 6))
        metadata = {key: self._value(rng, key) for key in keys}
        record: dict[str, Any] = {
            "id": f"article-{index:07d}",
            "title": title,
            "content": content,
            "metadata": metadata,
            "tags": rng.sample(TAGS, rng.randint(0, 5)),
        }
        if rng.random() < 0.7:
            record["url"] = f"https://kb.example.com/articles/{index}"
        return record

    def _value(self, rng: random.Random, key: str) -> Any:
        if key in ("views", "priority"):
            return rng.randint(0, 100_000)
        if key == "reviewed":
            return rng.random() < 0.5
        return rng.choice(self.words).strip(".\n")

    def records(self, count: int) -> Iterator[dict[str, Any]]:
        return (self.record(index) for index in range(count))


def payloads(records: Iterable[dict[str, Any]], *, max_bytes: int) -> list[bytes]:
    """Pack records, in order, into as few generic-json `data` documents as fit under `max_bytes` each."""
    head, tail = b'{"records":[', b"]}"
    packed: list[bytes] = []
    chunk: list[bytes] = []
    size = len(head) + len(tail)
    for record in records:
        encoded = orjson.dumps(record)
        if chunk and size + len(encoded) + 1 > max_bytes:
            packed.append(head + b",".join(chunk) + tail)
            chunk, size = [], len(head) + len(tail)
        chunk.append(encoded)
        size += len(encoded) + 1
    if chunk:
        packed.append(head + b",".join(chunk) + tail)
    return packed


def job_body(knowledge_base_id: str, data: bytes) -> bytes:
    """The JSON body of a generic-json job submission carrying `data` as it is."""
    return b'{"adapterType":"generic-json","knowledgeBaseId":"%s","data":%s}' % (knowledge_base_id.encode(), data)
