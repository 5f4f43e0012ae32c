"""The checks every written record passes, at their boundaries, whatever its adapter."""

from __future__ import annotations

import pytest

from adapters.base import Record, RecordError
from app.services.record_checks import RecordLimits, check_record

LIMITS = RecordLimits(max_fields=2, max_field_bytes=16, max_record_bytes=60)


def record(**fields: object) -> Record:
    return Record(**{"source_id": "a", "title": "t", "content": "c", **fields})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"content": "é" * 8}, None),  # 16 bytes in UTF-8: at the limit
        ({"content": "é" * 8 + "x"}, "content is 17 bytes, larger than the maximum of 16"),
        ({"title": "\ud800"}, "title contains invalid Unicode (lone surrogates)"),
        ({"title": "\ud800" + "x" * 14}, "title is 17 bytes, larger than the maximum of 16"),  # size is told first
        ({"url": "x\x00\ud800"}, "url must not contain NUL characters"),  # NUL is told first
        ({"title": "a\x00", "content": "a\x00b"}, "content must not contain NUL characters"),  # content is told first
        ({"metadata": {"a": 1, "b": 2, "c": 3}}, "metadata has 3 fields, more than the maximum of 2"),
        ({"metadata": {"k": "\x00"}}, "metadata and tags must not contain NUL characters"),
        ({"tags": ["\x00"]}, "metadata and tags must not contain NUL characters"),
        ({"metadata": {"k": "\\u0000"}}, None),  # an escaped backslash, not a NUL
        ({"metadata": {"k": "1234567890123"}}, "metadata is 21 bytes, larger than the maximum of 16"),
        # 16 + 16 + 16 + `{}` + `[]` = 52 bytes; `["abcdefg"]` for `[]` makes 61.
        ({"title": "t" * 16, "content": "c" * 16, "url": "u" * 16}, None),
        ({"title": "t" * 16, "content": "c" * 16, "url": "u" * 16, "tags": ["abcdefg"]}, "record is 61 bytes, larger than the maximum of 60"),
    ],
)
def test_check_record(fields: dict[str, object], message: str | None) -> None:
    if message is None:
        check_record(record(**fields), LIMITS)
        return
    with pytest.raises(RecordError) as raised:
        check_record(record(**fields), LIMITS)
    assert str(raised.value) == message
