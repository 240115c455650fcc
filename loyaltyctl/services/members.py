"""Members: add, update, find, show and list."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from secrets import token_hex

from loyaltyctl.domain import models
from loyaltyctl.domain.errors import MemberExists, MemberForgotten, UsageProblem
from loyaltyctl.domain.forgetting import salted
from loyaltyctl.domain.values import phone_digits, utcnow
from loyaltyctl.services import lookups
from loyaltyctl.services.claim_records import member_claims
from loyaltyctl.services.coupons.listing import member_coupons
from loyaltyctl.services.discounts.grants import member_discounts
from loyaltyctl.services.earning.status import tier_status
from loyaltyctl.services.ledger import balance_of, recent_entries
from loyaltyctl.services.promo import member_redemptions
from loyaltyctl.store import audit
from loyaltyctl.store import members as store
from loyaltyctl.store.db import Session

PROFILE_FIELDS = ("name", "phone", "email", "birthday", "plan", "tier")


@dataclass(frozen=True)
class MemberFields:
    """Validated profile values; None means "not given" (unchanged on update)."""

    name: str | None = None
    phone: str | None = None
    email: str | None = None
    birthday: str | None = None
    plan: str | None = None
    tier: str | None = None


@dataclass(frozen=True)
class MemberChange:
    """What to do to one member: profile values, and labels replaced or edited."""

    external_id: str
    fields: MemberFields
    groups: list[str] | None = None  # replaces the member's groups when given
    tags: list[str] | None = None
    add_groups: tuple[str, ...] = ()
    remove_groups: tuple[str, ...] = ()
    add_tags: tuple[str, ...] = ()
    remove_tags: tuple[str, ...] = ()
    # a tier given pins it by hand; an import's tier equal to the stored one does not
    # (so `member list --csv` imports back unchanged, computed tiers included)
    tier_pins: bool = True

    def labels(self, current_groups: list[str], current_tags: list[str]):
        groups = current_groups if self.groups is None else self.groups
        tags = current_tags if self.tags is None else self.tags
        return (
            sorted((set(groups) | set(self.add_groups)) - set(self.remove_groups)),
            sorted((set(tags) | set(self.add_tags)) - set(self.remove_tags)),
        )


@dataclass(frozen=True)
class Saved:
    external_id: str
    action: str  # created | updated | unchanged | forgotten (left erased: skip_forgotten)
    changed: tuple[str, ...]


def _phone_rev(phone: str | None) -> str | None:
    digits = phone_digits(phone)
    return digits[::-1] if digits else None


def _profile(row: dict) -> dict:
    """The stored columns that follow from the profile values."""
    return {
        **{name: row[name] for name in PROFILE_FIELDS},
        "phone_rev": _phone_rev(row["phone"]),
        # indexed: `maintain run` finds the day's birthdays by it
        "birthday_md": row["birthday"][-5:] if row["birthday"] else None,
        "tier_manual": row["tier_manual"],
    }


def save_members(
    *,
    session: Session,
    changes: list[MemberChange],
    operator: str,
    create: bool | None,
    now: datetime | None = None,
    skip_forgotten: bool = False,
) -> list[Saved]:
    """Add and/or update members in bulk, each change audited on the member's chain.

    ``create=True`` only adds (an existing id is refused), ``False`` only updates (an
    unknown id is refused), ``None`` does either (imports). A value of None in the
    fields leaves the stored one; a tier given by hand marks the tier as manual. A change
    to a forgotten member (`member forget`) is refused (MemberForgotten), or with
    ``skip_forgotten`` left out (an ingest's birthday changes).
    """
    now = now or utcnow()
    existing = store.rows_by_external(session, [c.external_id for c in changes])
    current_labels = store.labels(session, [r["id"] for r in existing.values()])
    new_rows, updated_rows, label_sets, events, saved = [], [], {}, [], []
    for change in changes:
        row = existing.get(change.external_id)
        if row is None and create is False:
            store.require_row(session, change.external_id)  # raises with suggestions
        if row is not None and create is True:
            raise MemberExists(
                f"A member with the id {change.external_id!r} already exists.",
                member=change.external_id,
            )
        given = {k: v for k in PROFILE_FIELDS if (v := getattr(change.fields, k)) is not None}
        if row is None:
            if not change.fields.name:
                raise UsageProblem(
                    f"Member {change.external_id} needs a name.", member=change.external_id
                )
            groups, tags = change.labels([], [])
            record = {name: given.get(name) for name in PROFILE_FIELDS}
            record["tier_manual"] = "tier" in given
            new_rows.append(
                {
                    "external_id": change.external_id,
                    **_profile(record),
                    "created_at": now,
                    "updated_at": now,
                    # the next `maintain run` gives a computed tier (a threshold of 0 is
                    # every member's), if the program defines tiers
                    "tier_review_at": now,
                }
            )
            label_sets[change.external_id] = (groups, tags)
            events.append(
                ("member.add", change.external_id, {**given, "groups": groups, "tags": tags})
            )
            saved.append(Saved(change.external_id, "created", ()))
            continue
        old_groups, old_tags = current_labels[row["id"]]
        groups, tags = change.labels(old_groups, old_tags)
        diff = {k: v for k, v in given.items() if v != row[k]}
        record = {**row, **diff}
        if "tier" in given and (change.tier_pins or "tier" in diff):
            record["tier_manual"] = True  # a tier set by hand stays until changed by hand
        if groups != old_groups:
            diff["groups"] = groups
        if tags != old_tags:
            diff["tags"] = tags
        if not diff and record["tier_manual"] == row["tier_manual"]:
            saved.append(Saved(change.external_id, "unchanged", ()))
            continue
        if row.get("forgotten_at") is not None:
            if skip_forgotten:
                saved.append(Saved(change.external_id, "forgotten", ()))
                continue
            _refuse_forgotten(change.external_id, row["forgotten_at"])
        updated_rows.append({"id": row["id"], **_profile(record), "updated_at": now})
        if "groups" in diff or "tags" in diff:
            label_sets[change.external_id] = (groups, tags)
        events.append(("member.update", change.external_id, diff))
        saved.append(Saved(change.external_id, "updated", tuple(sorted(diff))))
    store.insert_rows(session, new_rows)
    store.update_rows(session, updated_rows)
    ids = store.ids_by_external(session, label_sets)
    store.replace_labels(session, {ids[ext]: labels for ext, labels in label_sets.items()})
    audit.append_events(
        session,
        [
            audit.NewEvent(
                subject=f"member:{ext}",
                action=action,
                operator=operator,
                at=now,
                details=salted(details, token_hex(16)),
            )
            for action, ext, details in events
        ],
    )
    return saved


def _refuse_forgotten(external_id: str, forgotten_at) -> None:
    if isinstance(forgotten_at, str):
        forgotten_at = datetime.fromisoformat(forgotten_at)
    raise MemberForgotten(
        f"Member {external_id} was forgotten on {forgotten_at:%Y-%m-%d}: their profile "
        "cannot be given back.",
        member=external_id,
        forgotten_at=forgotten_at.isoformat(),
    )


def add_member(
    *,
    session: Session,
    external_id: str,
    fields: MemberFields,
    groups: list[str],
    tags: list[str],
    operator: str,
    now: datetime | None = None,
) -> models.Member:
    change = MemberChange(external_id, fields, groups=groups, tags=tags)
    save_members(session=session, changes=[change], operator=operator, create=True, now=now)
    return store.with_labels(session, [store.require_row(session, external_id)])[0]


def update_member(
    *,
    session: Session,
    external_id: str,
    fields: MemberFields,
    operator: str,
    add_groups: list[str] = (),
    remove_groups: list[str] = (),
    add_tags: list[str] = (),
    remove_tags: list[str] = (),
    now: datetime | None = None,
) -> tuple[models.Member, list[str]]:
    """Edit one member; returns the member and the names of the changed fields."""
    change = MemberChange(
        external_id,
        fields,
        add_groups=tuple(add_groups),
        remove_groups=tuple(remove_groups),
        add_tags=tuple(add_tags),
        remove_tags=tuple(remove_tags),
    )
    (saved,) = save_members(
        session=session, changes=[change], operator=operator, create=False, now=now
    )
    member = store.with_labels(session, [store.require_row(session, external_id)])[0]
    return member, list(saved.changed)


find_members = lookups.find_members  # through the driver alone: starts fast


def list_members(
    *,
    session: Session,
    tier: str | None = None,
    tag: str | None = None,
    group: str | None = None,
    limit: int | None = None,
) -> list[models.Member]:
    rows = store.listing(session, tier=tier, tag=tag, group=group, limit=limit)
    return store.with_labels(session, rows)


def show_member(
    *,
    session: Session,
    external_id: str,
    soon_days: int = 30,
    recent: int = 10,
    now: datetime | None = None,
) -> models.MemberProfile:
    now = now or utcnow()
    row = store.require_row(session, external_id)
    member = store.with_labels(session, [row])[0]
    return models.MemberProfile(
        member=member,
        balance=balance_of(session, row, soon_days=soon_days, now=now),
        recent=tuple(recent_entries(session, row, limit=recent)),
        claims=tuple(member_claims(session=session, member_id=row.id, limit=recent)),
        redemptions=tuple(member_redemptions(session=session, member_id=row.id, limit=recent)),
        tier_status=tier_status(session, row, now=now),
        coupons=tuple(member_coupons(session, row.id, now=now)),
        discounts=tuple(member_discounts(session, row.id, now=now)),
    )
