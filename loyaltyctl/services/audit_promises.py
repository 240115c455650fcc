"""`audit verify`'s checks of the columns that change money or promises.

Each such column is vouched for by a chained record or by a recount:

- a perk's price, supply and limits, a campaign's points and limits: the values the
  last `apply` recorded in the subject's audit event (`Kind.promised`);
- a member's name, tier and the rest of its profile: the last values the member's
  audit events recorded (added, updated, tier moved, forgotten);
- a batch's size and uses per code: its `campaign.generate` event; each generated
  code's uses: its batch's;
- a point lot's expiry and amount, an ingested event's points: the hashed ledger
  entries they came from; a claim's certificate id: its signed certificate;
- idempotency keys: the changes holding them;
- every member, perk, campaign, rule and tier has its audit chain (a chain deleted with
  its head row would otherwise leave nothing to compare).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from loyaltyctl.domain.forgetting import ERASED_NAME, FORGET_ACTION
from loyaltyctl.store import idempotency as idempotency_store
from loyaltyctl.store import promises as store
from loyaltyctl.store.db import Session

# subject prefix -> (table, key column, the columns recorded as "values" by `apply`)
APPLIED = {
    "perk:": ("perk", "slug", ("price", "max_supply", "max_per_member", "tier_prices")),
    "campaign:": ("campaign", "slug", ("points", "per_member", "per_member_daily", "perks")),
}
# a member's profile and what its audit events record of it: action -> {column: detail}
PROFILE = ("name", "phone", "email", "birthday", "plan", "tier")
MEMBER_RECORDS = {
    "member.add": {column: column for column in PROFILE},
    "member.update": {column: column for column in PROFILE},
    "member.tier": {"tier": "to"},
    "member.forget": {},  # erases the personal values (domain.forgetting)
}


def cross_records(session: Session) -> Iterator[str]:
    """Lots, events' points, certificates, codes' uses, claims and keys against the rows
    and records that vouch for them; rows that lost their audit chain."""
    yield from store.cross_mismatches(session)
    yield from store.idempotency_mismatches(session, idempotency_store.HOLDERS)
    for kind, name in store.unchained(session):
        yield f"{kind} {name}: it has no audit events (its audit chain was removed)"


def recorded_values(session: Session) -> Iterator[str]:
    """Rows whose promised columns differ from the last values their audit events
    recorded."""
    for prefix, (table, key, columns) in APPLIED.items():
        rows = store.rows_by(session, table, key, columns)
        last: dict[str, dict] = {}
        actions = (f"{table}.create", f"{table}.update")
        for subject, _action, details in store.recorded_events(session, prefix, actions):
            values = json.loads(details).get("values")
            if values is not None:
                last[subject[len(prefix) :]] = values
        for name, values in sorted(last.items()):
            row = rows.get(name)
            if row is None:
                continue
            for column, found in zip(columns, row, strict=True):
                if column in values and values[column] != found:
                    yield (
                        f"{table} {name}: {column} is {found!r}, its audit trail last recorded "
                        f"{values[column]!r}"
                    )
    yield from _member_records(session)
    yield from _batches(session)


def _member_records(session: Session) -> Iterator[str]:
    rows = store.rows_by(session, "member", "external_id", PROFILE)
    last: dict[str, dict] = {}
    for subject, action, details in store.recorded_events(
        session, "member:", tuple(MEMBER_RECORDS)
    ):
        recorded = json.loads(details)
        state = last.setdefault(subject[len("member:") :], {})
        if action == "member.add":
            state.clear()
            state.update(dict.fromkeys(PROFILE))
        if action == FORGET_ACTION:
            state.update({"name": ERASED_NAME, "phone": None, "email": None, "birthday": None})
        for column, detail in MEMBER_RECORDS[action].items():
            if detail in recorded:
                state[column] = recorded[detail]
    for external_id, state in sorted(last.items()):
        row = rows.get(external_id)
        if row is None:
            continue
        for column, found in zip(PROFILE, row, strict=True):
            if column in state and state[column] != found:
                yield (
                    f"member {external_id}: {column} is {found!r}, its audit trail last "
                    f"recorded {state[column]!r}"
                )


def _batches(session: Session) -> Iterator[str]:
    rows = store.rows_by(session, "promo_batch", "id", ("requested", "uses_per_code"))
    recorded = {}
    for _subject, _action, details in store.recorded_events(
        session, "campaign:", ("campaign.generate",)
    ):
        made = json.loads(details)
        recorded[made["batch"]] = (made["requested"], made["uses_per_code"])
    for batch_id, values in sorted(rows.items()):
        if batch_id not in recorded:
            yield f"batch {batch_id}: no campaign.generate event records it"
        elif recorded[batch_id] != values:
            yield (
                f"batch {batch_id}: (requested, uses per code) is {values}, its "
                f"campaign.generate event recorded {recorded[batch_id]}"
            )
