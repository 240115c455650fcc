"""member.birthday_changed: the member's birthday, saved with the chunk (no points)."""

from __future__ import annotations

from loyaltyctl.domain import events
from loyaltyctl.services.earning.handlers.base import Chunk, Handler, Outcome
from loyaltyctl.services.members import MemberChange, MemberFields


class BirthdayChangedHandler(Handler):
    event_type = events.BIRTHDAY_CHANGED

    def apply(self, chunk: Chunk, event: events.BirthdayChanged) -> Outcome:
        m = chunk.member(event)
        chunk.birthdays.append(
            MemberChange(m.state.external_id, MemberFields(birthday=event.birthday))
        )
        return 0, {"birthday": event.birthday}, m.state.id
