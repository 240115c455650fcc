"""The redaction rules of `member forget` (domain/forgetting.py)."""

from __future__ import annotations

from datetime import UTC, datetime

from loyaltyctl.domain.forgetting import MARK, SALT, is_redacted, redact, redaction_digest, salted


def test_personal_values_are_salted_and_redacted_with_their_salt():
    details = {"name": "Ada", "phone": "+44 1", "groups": ["chess"], "plan": "gold"}
    stored = salted(details, "ab" * 16)
    assert stored[SALT] == "ab" * 16
    assert salted({"tier": "gold"}, "cd" * 16) == {"tier": "gold"}  # nothing personal
    redacted = redact(stored)
    assert redacted == {
        "name": MARK, "phone": MARK, SALT: MARK, "groups": ["chess"], "plan": "gold",
    }  # fmt: skip
    assert is_redacted(redacted) and not is_redacted(stored)
    assert redact({"tags": ["x"], "birthday": "1990-01-01"}) == {"tags": MARK, "birthday": MARK}


def test_the_digest_covers_every_field_of_the_redacted_event():
    content = {
        "subject": "member:C-1",
        "seq": 1,
        "at": datetime(2026, 12, 5, tzinfo=UTC),
        "operator": "ada",
        "action": "member.add",
        "reason": None,
        "details": '{"name":"[forgotten]"}',
    }
    digest = redaction_digest(content)
    assert len(digest) == 64
    for field, other in (("seq", 2), ("operator", "eve"), ("reason", "x"), ("details", "{}")):
        assert redaction_digest({**content, field: other}) != digest, field
