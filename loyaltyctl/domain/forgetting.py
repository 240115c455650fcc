"""The right to erasure (`member forget`): what is personal, and how an audit event that
recorded it is redacted without leaving the hash chain unverifiable.

A member's `member.add` and `member.update` events record the profile values they set.
`member forget` rewrites each such event's details, replacing every personal value with
`MARK`, and appends a `member.forget` event to the member's chain that records, for each
redacted event, its id, its ORIGINAL hash, the redacted details and `redaction_digest`
of the redacted event's whole content. The redacted event keeps its original hash, so
the next event's link and any checkpoint still name it; `audit verify` accepts its
content when it equals what a later, valid `member.forget` of its own chain recorded.
"""

from __future__ import annotations

import json

from loyaltyctl.domain.chain import record_hash

# the profile values `member forget` erases (and the member's tags: free text about them)
PERSONAL = ("name", "phone", "email", "birthday", "tags")
# the audit actions whose details record them (a member's chain)
REDACTABLE = ("member.add", "member.update")
FORGET_ACTION = "member.forget"
# a random value recorded beside personal values (`salted`), redacted with them: the
# original hash a redacted event keeps then reveals nothing by trying likely values (a
# birthday has ~36,500; events recorded before salting have none: README, "member forget")
SALT = "salt"
MARK = "[forgotten]"
# what a forgotten member's row holds instead (name is NOT NULL: empty)
ERASED_NAME = ""


def details_text(details: dict) -> str:
    """An audit event's details as `store.audit.append_events` writes them."""
    return json.dumps(details, sort_keys=True, separators=(",", ":"), default=str)


def salted(details: dict, salt: str) -> dict:
    """The details of a `REDACTABLE` event, with `salt` when they hold a personal value."""
    return {**details, SALT: salt} if any(key in PERSONAL for key in details) else details


def redact(details: dict) -> dict:
    """The details with every personal value (and the salt) replaced by `MARK`, others
    kept."""
    return {
        key: (MARK if key in PERSONAL or key == SALT else value) for key, value in details.items()
    }


def is_redacted(details: dict) -> bool:
    """Whether redacting the details again changes nothing."""
    return redact(details) == details


def redaction_digest(content: dict) -> str:
    """sha256 of a redacted event's whole content (subject, seq, at, operator, action,
    reason, details: `store.audit.event_content`'s values, as the chain hashes them), so
    no other field of a redacted event can change unseen."""
    return record_hash("", content)  # the chain's hash without a previous one
