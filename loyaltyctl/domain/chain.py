"""The audit hash chain: each record's hash covers its content and the previous hash.

Chains are per member (ledger entries) and per subject (other changes), so
unrelated writers never wait on one global head.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from functools import lru_cache
from operator import itemgetter

from loyaltyctl.domain.canonical import array_bytes

GENESIS = "0" * 64


def _plain(value: object) -> object:
    if type(value) is datetime and value.tzinfo is UTC:  # most: the text without the offset
        return value.isoformat(timespec="microseconds")[:-6]
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds")
    return value


def record_hash(prev_hash: str, content: dict) -> str:
    """sha256 over the previous hash and the content's values as a JSON array.

    The order of the dict's keys is fixed by its builder (``ledger_content`` or the
    audit event fields), so the array is canonical and cheap to build.
    """
    canonical = array_bytes([_plain(v) for v in content.values()])
    return hashlib.sha256(prev_hash.encode() + canonical).hexdigest()


LEDGER_FIELDS = (
    "member_id",
    "seq",
    "at",
    "kind",
    "amount",
    "pending_amount",
    "balance_after",
    "reason",
    "operator",
    "idem_key",
    "expires_at",
    "pending_until",
    "rule",
    "event_id",
    "order_id",
    "claim_id",
)


def ledger_content(row: dict) -> dict:
    """The fields of a ledger entry that its hash covers."""
    return {name: row.get(name) for name in LEDGER_FIELDS}


@lru_cache(maxsize=8192)
def _stamp(value: datetime) -> str:
    return _plain(value)


def ledger_hash(prev_hash: str, row: dict) -> str:
    """``record_hash(prev_hash, ledger_content(row))``, built faster: imports hash every
    row, and most timestamps in one import repeat (a test keeps the two equal)."""
    try:  # `build_entry`'s rows hold every field: one C call
        values = list(_FIELDS_OF(row))
    except KeyError:
        values = [row.get(name) for name in LEDGER_FIELDS]
    for i in _TIMESTAMP_POSITIONS:
        if values[i] is not None:
            values[i] = _stamp(values[i])
    return hashlib.sha256(prev_hash.encode() + array_bytes(values)).hexdigest()


_FIELDS_OF = itemgetter(*LEDGER_FIELDS)
_TIMESTAMP_POSITIONS = tuple(
    i for i, name in enumerate(LEDGER_FIELDS) if name in ("at", "expires_at", "pending_until")
)
