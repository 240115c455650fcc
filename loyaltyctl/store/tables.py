"""SQLModel tables. Every invariant that matters is also a constraint here.

Room is left for what comes next (perks and claims, campaigns and codes,
earning rules and tiers, discount grants): ledger entries already carry
`rule`, `event_id`, `order_id` and `claim_id`, and kinds are open strings.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    DateTime,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SQLModel.metadata = MetaData(naming_convention=NAMING_CONVENTION)
metadata = SQLModel.metadata


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in, aware UTC datetimes out, on SQLite and PostgreSQL.

    SQLite keeps them as text without an offset (always UTC); PostgreSQL as timestamptz.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.utcoffset() is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.utcoffset() is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator):
    """An amount of money, exact: ``NUMERIC(14, 2)`` on PostgreSQL (an analyst can sum
    it), text on SQLite (whose NUMERIC affinity would store a float). `Decimal` in and
    out, in whole cents."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(20))
        return dialect.type_descriptor(Numeric(14, 2, asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = Decimal(value).quantize(CENT)
        return f"{value:f}" if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        return None if value is None else Decimal(value).quantize(CENT)


CENT = Decimal("0.01")


class JsonDocument(TypeDecorator):
    """A JSON document: ``jsonb`` on PostgreSQL (an analyst queries into it), text on
    SQLite (its JSON functions read text). Text in and out on both: the driver reads
    jsonb back as its text (`driver.configure_postgres`), so the code reads it with
    ``json.loads`` whatever the backend."""

    impl = String
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import JSONB

            return dialect.type_descriptor(JSONB())
        return dialect.type_descriptor(String())

    def process_result_value(self, value, dialect):
        if value is not None and not isinstance(value, str):  # read without the driver's loader
            import json

            return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        return value


def _money(nullable: bool = True) -> Field:
    return Field(default=None, sa_type=Money, nullable=nullable)


def _ts(nullable: bool = True) -> Field:
    return Field(default=None, sa_type=UtcDateTime, nullable=nullable)


# 64-bit ids on PostgreSQL; on SQLite an INTEGER primary key is the rowid.
BIG_ID = BigInteger().with_variant(Integer(), "sqlite")


class Member(SQLModel, table=True):
    __tablename__ = "member"
    __table_args__ = (
        CheckConstraint("balance >= 0", name="balance_not_negative"),
        CheckConstraint("pending >= 0", name="pending_not_negative"),
        Index(None, "phone_rev"),
        Index(None, "email"),
        Index(None, "balance"),
        Index(None, "birthday_md"),
        Index(None, "tier_review_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    external_id: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    # the phone's digits reversed, so "last 4-6 digits" is an indexed prefix range
    phone_rev: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    birthday: str | None = Field(default=None, max_length=10)
    plan: str | None = Field(default=None, max_length=64)
    tier: str | None = Field(default=None, max_length=64)
    tier_manual: bool = Field(default=False)
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)
    # cached sums of the ledger, kept in the same transaction as every entry
    balance: int = Field(default=0, sa_type=BigInteger)
    pending: int = Field(default=0, sa_type=BigInteger)
    # head of this member's ledger hash chain
    ledger_seq: int = Field(default=0)
    ledger_head: str = Field(default="0" * 64, max_length=64)
    # the birthday's "MM-DD", so `maintain run` finds the day's birthdays by an index
    birthday_md: str | None = Field(default=None, max_length=5)
    # the date (YYYY-MM-DD) the last birthday award counts as: the next one comes 12
    # months later at the earliest, however the birthday is moved
    birthday_anchor: str | None = Field(default=None, max_length=10)
    # when `maintain run` should look at the computed tier again (points leave a
    # qualifying period, a refund, a new member, tiers changed); None: no need
    tier_review_at: datetime | None = _ts()
    # points earned by earning rules, net of their reversals, ever (the `earn` and
    # `reverse` entries): what a lifetime tier counts, and a bound of any period's
    earned: int = Field(default=0, sa_type=BigInteger)
    # when `member forget` erased the member's personal data (None: never)
    forgotten_at: datetime | None = _ts()


class MemberLabel(SQLModel, table=True):
    """A member's groups and tags (kind = 'group' | 'tag')."""

    __tablename__ = "member_label"
    __table_args__ = (Index(None, "kind", "value"),)

    member_id: int = Field(foreign_key="member.id", primary_key=True)
    kind: str = Field(max_length=8, primary_key=True)
    value: str = Field(max_length=64, primary_key=True)


class LedgerEntry(SQLModel, table=True):
    """Append-only: never updated or deleted. A correction is a new entry."""

    __tablename__ = "ledger_entry"
    __table_args__ = (
        UniqueConstraint("member_id", "seq"),
        CheckConstraint("balance_after >= 0", name="balance_after_not_negative"),
        Index(None, "at"),
    )

    id: int | None = Field(
        default=None,
        sa_type=BIG_ID,
        primary_key=True,
    )
    member_id: int = Field(foreign_key="member.id")
    seq: int
    at: datetime = _ts(False)
    kind: str = Field(max_length=24)
    amount: int = Field(sa_type=BigInteger)  # signed effect on the balance
    pending_amount: int = Field(default=0, sa_type=BigInteger)  # signed effect on pending
    balance_after: int = Field(sa_type=BigInteger)
    reason: str | None = Field(default=None, max_length=500)
    operator: str = Field(max_length=100)
    idem_key: str | None = Field(default=None, max_length=200, unique=True)
    request_hash: str | None = Field(default=None, max_length=64)
    expires_at: datetime | None = _ts()
    pending_until: datetime | None = _ts()
    rule: str | None = Field(default=None, max_length=64)
    event_id: str | None = Field(default=None, max_length=200)
    order_id: str | None = Field(default=None, max_length=200)
    claim_id: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class PointLot(SQLModel, table=True):
    """A credit that expires or matures later. Credits that do neither need no lot:
    they are the part of the balance spent last."""

    __tablename__ = "point_lot"
    __table_args__ = (
        CheckConstraint("remaining >= 0 AND remaining <= amount", name="remaining_in_range"),
        Index(None, "member_id", "expires_at"),
        Index(None, "expires_at"),
        Index(None, "matures_at"),
    )

    id: int | None = Field(
        default=None,
        sa_type=BIG_ID,
        primary_key=True,
    )
    member_id: int = Field(foreign_key="member.id")
    entry_id: int = Field(sa_type=BigInteger, foreign_key="ledger_entry.id")
    amount: int = Field(sa_type=BigInteger)
    remaining: int = Field(sa_type=BigInteger)
    expires_at: datetime | None = _ts()
    matures_at: datetime | None = _ts()
    matured: bool = Field(default=True)


class AuditEvent(SQLModel, table=True):
    """Every change that is not a ledger entry, hash-chained per subject."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("subject", "seq"), Index(None, "at"))

    id: int | None = Field(default=None, primary_key=True)
    subject: str = Field(max_length=120)  # e.g. "member:C-1001"
    seq: int
    at: datetime = _ts(False)
    operator: str = Field(max_length=100)
    action: str = Field(max_length=40)
    reason: str | None = Field(default=None, max_length=500)
    details: str = Field(default="{}")  # canonical JSON of what changed
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class AuditChain(SQLModel, table=True):
    """The head of each subject's chain, so a removed tail is noticed."""

    __tablename__ = "audit_chain"

    subject: str = Field(max_length=120, primary_key=True)
    seq: int
    head: str = Field(max_length=64)


class JobLock(SQLModel, table=True):
    """A leased lock so that two `maintain run` never work at once (both databases)."""

    __tablename__ = "job_lock"

    name: str = Field(max_length=40, primary_key=True)
    holder: str | None = Field(default=None, max_length=120)
    expires_at: datetime | None = _ts()


# --- perks and claims (issue 3) ------------------------------------------------------


class Perk(SQLModel, table=True):
    """A perk as last applied. Never deleted: `apply --prune` disables it.

    `claimed` counts active claims and is moved only by conditional UPDATEs, so
    supply holds under any number of concurrent claimers. Secrets are stored
    only encrypted, bound to this perk's slug (crypto.KeyRing.encrypt).
    """

    __tablename__ = "perk"
    __table_args__ = (
        CheckConstraint("price >= 0", name="price_not_negative"),
        CheckConstraint("claimed >= 0", name="claimed_not_negative"),
        CheckConstraint(
            "max_supply IS NULL OR claimed <= max_supply", name="claimed_within_supply"
        ),
        CheckConstraint(
            "max_per_member IS NULL OR max_per_member >= 1", name="max_per_member_positive"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    price: int = Field(sa_type=BigInteger)
    category: str = Field(max_length=24)
    description: str | None = Field(default=None, max_length=2000)
    active: bool = Field(default=True)
    media: str | None = Field(default=None, max_length=1000)
    media_type: str | None = Field(default=None, max_length=40)
    media_size: int | None = Field(default=None, sa_type=BigInteger)
    max_supply: int | None = Field(default=None, sa_type=BigInteger)
    claimed: int = Field(default=0, sa_type=BigInteger)
    # 1: `claimed` and the counters below are the perk's own; more: they are kept in that
    # many `perk_bucket` rows instead (this row's stay 0), claimed side by side
    supply_buckets: int = Field(default=1, sa_column_kwargs={"server_default": "1"})
    max_per_member: int | None = Field(default=None)
    valid_from: datetime | None = _ts()
    valid_until: datetime | None = _ts()
    audience: str = Field(default="{}")  # canonical JSON of Audience (unbounded text)
    redemption_type: str = Field(default="none", max_length=16)
    value_enc: str | None = Field(default=None)  # ciphertexts: unbounded text
    instructions: str | None = Field(default=None, max_length=2000)
    single_use: bool = Field(default=False)
    iframe: bool = Field(default=False)
    checkout_url: str | None = Field(default=None, max_length=1000)
    webhook_url: str | None = Field(default=None, max_length=1000)
    webhook_secret_enc: str | None = Field(default=None)
    # a coupon perk's terms (canonical JSON of domain.coupons.CouponSpec), else NULL
    coupon: str | None = Field(default=None)
    # canonical JSON {tier: points | "0.5x"}: what members of a tier pay instead of price
    tier_prices: str | None = Field(default=None)
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)
    # kept by the claim and cancel transactions (the perk row is locked there anyway)
    members: int = Field(default=0, sa_type=BigInteger)  # members with an active claim
    points_spent: int = Field(default=0, sa_type=BigInteger)  # net of cancellations
    last_claim_at: datetime | None = _ts()


class PerkMember(SQLModel, table=True):
    """A member's active claims of one perk, for the per-member limit (conditional upsert)."""

    __tablename__ = "perk_member"
    __table_args__ = (CheckConstraint("claims >= 0", name="claims_not_negative"),)

    perk_id: int = Field(foreign_key="perk.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    claims: int = Field(default=0)


class Claim(SQLModel, table=True):
    """One member claiming one perk. Cancelling marks it; nothing is deleted."""

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("perk_id", "code_hash"),
        Index(None, "perk_id", "at"),
        Index(None, "member_id", "at"),
        Index(None, "at"),
    )

    id: str = Field(max_length=32, primary_key=True)
    perk_id: int = Field(foreign_key="perk.id")
    member_id: int = Field(foreign_key="member.id")
    at: datetime = _ts(False)
    points: int = Field(sa_type=BigInteger)
    status: str = Field(default="active", max_length=12)
    operator: str = Field(max_length=100)
    idem_key: str | None = Field(default=None, max_length=200, unique=True)
    request_hash: str | None = Field(default=None, max_length=64)
    # the value handed to the member (with its single-use suffix), encrypted, bound to the claim
    redemption_enc: str | None = Field(default=None)
    # keyed hash of an issued single-use code: unique per perk, found without decrypting
    code_hash: str | None = Field(default=None, max_length=64)
    entry_id: int | None = Field(default=None, sa_type=BigInteger)
    certificate_id: str = Field(max_length=40, unique=True)
    certificate: str = Field(max_length=4000)  # the signed certificate, as issued
    cancelled_at: datetime | None = _ts()
    cancelled_by: str | None = Field(default=None, max_length=100)
    cancel_reason: str | None = Field(default=None, max_length=500)
    refund_entry_id: int | None = Field(default=None, sa_type=BigInteger)
    # a prize of a promo redemption (claimed free of charge)
    redemption_id: str | None = Field(default=None, max_length=32)
    # the day it counts on in claim_day (program time zone when it was made)
    day: str | None = Field(default=None, max_length=10)


class ClaimLot(SQLModel, table=True):
    """Which expiring lots a claim's points came from, so a cancel gives them back
    with the expiry they had (spec §5)."""

    __tablename__ = "claim_lot"

    claim_id: str = Field(foreign_key="claim.id", primary_key=True, max_length=32)
    lot_id: int = Field(sa_type=BigInteger, foreign_key="point_lot.id", primary_key=True)
    points: int = Field(sa_type=BigInteger)


class WebhookDelivery(SQLModel, table=True):
    """A signed POST queued by a claim (or its cancel), delivered by `maintain run`."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (Index(None, "status", "next_attempt_at"),)

    id: int | None = Field(default=None, primary_key=True)
    event_id: str = Field(max_length=40, unique=True)
    claim_id: str = Field(foreign_key="claim.id", max_length=32)
    perk_id: int = Field(foreign_key="perk.id")
    event: str = Field(max_length=40)  # claim.created | claim.cancelled
    url: str = Field(max_length=1000)
    payload: str = Field(max_length=4000)  # canonical JSON, no secrets
    status: str = Field(default="queued", max_length=12)  # queued|delivered|failed|cancelled
    attempts: int = Field(default=0)
    next_attempt_at: datetime = _ts(False)
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = _ts(False)
    delivered_at: datetime | None = _ts()


# --- campaigns and promo codes (issue 4) ------------------------------------------------


class Campaign(SQLModel, table=True):
    """A promotion whose codes members redeem for bonus points and prize perks.

    Never deleted: `apply --prune` pauses it. `redemptions` and `points_granted`
    are kept in the redeeming transactions, so `stats promo` reads them directly.
    """

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint("points >= 0", name="points_not_negative"),
        CheckConstraint("status IN ('active', 'paused', 'archived')", name="known_status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    valid_from: datetime | None = _ts()
    valid_until: datetime | None = _ts()
    points: int = Field(default=0, sa_type=BigInteger)
    perks: str = Field(default="[]")  # JSON list of prize perk slugs
    per_member: int | None = Field(default=None)
    per_member_daily: int | None = Field(default=None)
    audience: str = Field(default="{}")  # canonical JSON of Audience
    status: str = Field(default="active", max_length=12)
    share: str | None = Field(default=None)  # JSON, kept for front ends
    page: str | None = Field(default=None)  # JSON, kept for front ends
    redemptions: int = Field(default=0, sa_type=BigInteger)
    points_granted: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)


class PromoBatch(SQLModel, table=True):
    """A batch of generated codes; `generated` grows chunk by chunk until `requested`."""

    __tablename__ = "promo_batch"

    id: str = Field(max_length=32, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id", index=True)
    requested: int = Field(sa_type=BigInteger)
    generated: int = Field(default=0, sa_type=BigInteger)
    length: int
    prefix: str = Field(default="", max_length=16)
    uses_per_code: int = Field(default=1)
    operator: str = Field(max_length=100)
    created_at: datetime = _ts(False)
    completed_at: datetime | None = _ts()


class PromoCode(SQLModel, table=True):
    """A shared code ("password") or a generated one. Stored only as a keyed hash (for
    look-up, unique across all campaigns) and encrypted (for export)."""

    __tablename__ = "promo_code"
    __table_args__ = (
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("uses_allowed IS NULL OR uses <= uses_allowed", name="uses_within_allowed"),
        Index(None, "campaign_id", "batch_id"),
    )

    id: int | None = Field(default=None, sa_type=BIG_ID, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    batch_id: str | None = Field(default=None, max_length=32)  # None: a shared code
    code_hash: str = Field(max_length=64, unique=True)
    code_enc: str
    uses_allowed: int | None = Field(default=None, sa_type=BigInteger)  # None = unlimited
    uses: int = Field(default=0, sa_type=BigInteger)
    created_at: datetime = _ts(False)


class CampaignMember(SQLModel, table=True):
    """A member's redemptions in a campaign, in total and per day (program time zone):
    day '' is the total. Counted up by conditional upserts, so limits hold."""

    __tablename__ = "campaign_member"
    __table_args__ = (CheckConstraint("redemptions >= 0", name="redemptions_not_negative"),)

    campaign_id: int = Field(foreign_key="campaign.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    day: str = Field(max_length=10, primary_key=True)
    redemptions: int = Field(default=0)


class PromoRedemption(SQLModel, table=True):
    """One code redeemed by one member: the points credited and the prizes claimed."""

    __tablename__ = "promo_redemption"
    __table_args__ = (Index(None, "campaign_id", "at"), Index(None, "member_id", "at"))

    id: str = Field(max_length=32, primary_key=True)
    campaign_id: int = Field(foreign_key="campaign.id")
    code_id: int = Field(sa_type=BigInteger, foreign_key="promo_code.id")
    member_id: int = Field(foreign_key="member.id")
    at: datetime = _ts(False)
    day: str = Field(max_length=10)  # the program time zone's date of `at`
    points: int = Field(sa_type=BigInteger)
    entry_id: int | None = Field(default=None, sa_type=BigInteger)
    prizes: str = Field(default="[]")  # JSON [{"slug", "claim_id"}]
    operator: str = Field(max_length=100)
    idem_key: str | None = Field(default=None, max_length=200, unique=True)
    request_hash: str | None = Field(default=None, max_length=64)


class IdempotencyKey(SQLModel, table=True):
    """Every idempotency key given to a single change, whatever its kind (points change,
    claim, redemption), so that two changes of different kinds racing with one new key
    cannot both commit: the second insert waits for the first and then fails, and the
    retried transaction finds the key. Each kind also keeps its key on its own row."""

    __tablename__ = "idempotency_key"

    key: str = Field(max_length=200, primary_key=True)
    kind: str = Field(max_length=16)  # entry | claim | redemption
    ref: str = Field(max_length=64)  # the entry, claim or redemption id


# --- statistics (issue 5): summaries kept in the writing transactions ----------------------


class LedgerSummary(SQLModel, table=True):
    """Sum of every ledger entry's effect (amount + pending_amount) and count, by kind,
    in 16 shards by member id so that concurrent writers rarely meet on one row.
    `stats overview` reads 16 × kinds rows instead of the whole ledger."""

    __tablename__ = "ledger_summary"

    shard: int = Field(primary_key=True)
    kind: str = Field(max_length=24, primary_key=True)
    points: int = Field(default=0, sa_type=BigInteger)
    entries: int = Field(default=0, sa_type=BigInteger)


class ClaimDay(SQLModel, table=True):
    """Active claims of a perk per day (program time zone at the claim), for charts. A
    bucketed perk counts each day in its claims' buckets (`bucket`; 0 for the others),
    so concurrent claimers do not queue on one row: a day's claims are the sum."""

    __tablename__ = "claim_day"

    perk_id: int = Field(foreign_key="perk.id", primary_key=True)
    day: str = Field(max_length=10, primary_key=True)
    bucket: int = Field(default=0, primary_key=True, sa_column_kwargs={"server_default": "0"})
    claims: int = Field(default=0)


class PerkBucket(SQLModel, table=True):
    """One share of a bucketed perk's supply and counters (`perk.supply_buckets` > 1).

    The capacities add up to the perk's max_supply (None each when unlimited) and each
    `claimed` stays within its capacity, so the claims never exceed the supply. The
    other counters are shares too: only their sums (the perk's figures) mean anything.
    `apply` lays the buckets out again when the supply or their number changes."""

    __tablename__ = "perk_bucket"
    __table_args__ = (
        CheckConstraint("claimed >= 0", name="claimed_not_negative"),
        CheckConstraint("capacity IS NULL OR claimed <= capacity", name="claimed_within_capacity"),
    )

    perk_id: int = Field(foreign_key="perk.id", primary_key=True)
    bucket: int = Field(primary_key=True)
    capacity: int | None = Field(default=None, sa_type=BigInteger)
    claimed: int = Field(default=0, sa_type=BigInteger)
    members: int = Field(default=0, sa_type=BigInteger)
    points_spent: int = Field(default=0, sa_type=BigInteger)
    last_claim_at: datetime | None = _ts()


# --- earning rules, tiers and events (issue 6) ------------------------------------------


class EarningRule(SQLModel, table=True):
    """An earning rule as last applied. Never deleted: `apply --prune` disables it.
    `settings` holds the kind's own values (domain.earning.KIND_KEYS) as canonical JSON."""

    __tablename__ = "earning_rule"

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    kind: str = Field(max_length=16)
    name: str | None = Field(default=None, max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    active: bool = Field(default=True)
    tiers: str = Field(default="[]")  # JSON list of tier names; [] = everyone
    settings: str = Field(default="{}")
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)


class Tier(SQLModel, table=True):
    """A tier as last applied. Never deleted: `apply --prune` disables it."""

    __tablename__ = "tier"
    __table_args__ = (CheckConstraint("threshold >= 0", name="threshold_not_negative"),)

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    threshold: int = Field(sa_type=BigInteger)
    period: str = Field(max_length=32)  # "lifetime" or "12 months"
    multiplier: str = Field(max_length=24)  # a decimal, as text (exact)
    overrides: str = Field(default="{}")  # JSON {rule slug: whole number}
    downgrade: str = Field(max_length=12)
    active: bool = Field(default=True)
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)


class IngestedEvent(SQLModel, table=True):
    """Every event applied by `events ingest`, by its id: what makes ingesting idempotent.
    Never updated. An order's paid event holds what its refunds need (`details`); each
    refund holds what it took back, so a later refund reads the earlier ones."""

    __tablename__ = "ingested_event"
    __table_args__ = (
        # one paid event per order, whoever sends it (a partial index: refunds repeat it)
        Index(
            "uq_ingested_event_paid_order",
            "order_id",
            unique=True,
            sqlite_where=text("type = 'order.paid'"),
            postgresql_where=text("type = 'order.paid'"),
        ),
        Index(
            "ix_ingested_event_refunded_order",
            "order_id",
            sqlite_where=text("type = 'order.refunded'"),
            postgresql_where=text("type = 'order.refunded'"),
        ),
    )

    id: str = Field(max_length=200, primary_key=True)
    type: str = Field(max_length=32)
    at: datetime = _ts(False)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    order_id: str | None = Field(default=None, max_length=100)
    digest: str = Field(max_length=64)  # sha256 of the event's canonical JSON
    points: int = Field(default=0, sa_type=BigInteger)  # net effect on the member's points
    # JSON: what was awarded, and what refunds need (jsonb on PostgreSQL)
    details: str = Field(default="{}", sa_type=JsonDocument)
    ingested_at: datetime = _ts(False)
    operator: str = Field(max_length=100)


class HeldRefund(SQLModel, table=True):
    """A refund (or chargeback) whose order was not known when it was ingested: held,
    not lost. The ingest that applies the order applies it and removes it from here, in
    the same transaction (both take the order's lock first, so a refund and its order
    ingested at once still meet). ``event`` is the refund as our own format writes it."""

    __tablename__ = "held_refund"

    id: str = Field(max_length=200, primary_key=True)  # the event id
    type: str = Field(max_length=32)
    order_id: str = Field(max_length=100, index=True)
    at: datetime = _ts(False)
    digest: str = Field(max_length=64)
    event: str = Field(default="{}", sa_type=JsonDocument)  # the refund, in our own format
    line: int = Field(default=0)  # of the file that brought it
    held_at: datetime = _ts(False)
    operator: str = Field(max_length=100)


class EarningCounter(SQLModel, table=True):
    """A member's uses of a rule in one scope: a time frame of its limit (`day:2026-11-02`,
    `week:2026-10-26`, `month:2026-11`, `year:2026`, `lifetime`), the reviews of an order
    (`order:<id>`, with the points they earned, for the cap) or one product's review
    (`review:<order>:<product>`). Moved only by conditional upserts, under the member's
    lock, so limits hold under concurrent ingests."""

    __tablename__ = "earning_counter"
    __table_args__ = (
        CheckConstraint("uses >= 0", name="uses_not_negative"),
        CheckConstraint("points >= 0", name="points_not_negative"),
    )

    rule_id: int = Field(foreign_key="earning_rule.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    scope: str = Field(max_length=240, primary_key=True)
    uses: int = Field(default=0, sa_type=BigInteger)
    points: int = Field(default=0, sa_type=BigInteger)


# --- coupons (issue 12) ---------------------------------------------------------------------


class Coupon(SQLModel, table=True):
    """A single-use discount code issued by one claim of a coupon perk (or a campaign prize
    that is one), with its terms frozen at issue. The code is stored only as a keyed hash
    (found without decrypting) and a ciphertext bound to the claim. `status` moves only by
    conditional UPDATEs: active -> used (one order) -> active (released, returned by a
    full refund); active -> cancelled (the claim is cancelled). Expiry is judged from
    `expires_at` at the time of the command, never stored. A coupon row is written in the
    claim's transaction and never deleted."""

    __tablename__ = "coupon"
    __table_args__ = (
        CheckConstraint("status IN ('active', 'used', 'cancelled')", name="status_known"),
        CheckConstraint(
            "(status = 'used') = (order_id IS NOT NULL AND used_at IS NOT NULL)",
            name="used_on_an_order",
        ),
        Index(None, "member_id", "status"),
        Index(None, "perk_id", "status"),
        Index(None, "order_id"),
        Index(None, "status", "expires_at"),  # expired ones counted by a range, not a scan
    )

    claim_id: str = Field(foreign_key="claim.id", primary_key=True, max_length=32)
    perk_id: int = Field(foreign_key="perk.id")
    member_id: int = Field(foreign_key="member.id")
    code_hash: str = Field(max_length=64, unique=True)
    code_enc: str = Field()  # AES-GCM, bound to coupon:<claim_id>
    # the code's last 4 symbols, for masked listings (as a card's last 4 digits: of a
    # 12-symbol code with 11 random ones, what is left is still unguessable)
    code_tail: str = Field(max_length=4)
    kind: str = Field(max_length=16)
    amount: Decimal | None = _money()  # fixed, convert (the converted value)
    percent: Decimal | None = Field(default=None, sa_type=Money)
    min_purchase: Decimal | None = _money()
    max_shipping: Decimal | None = _money()
    product: str | None = Field(default=None, max_length=200)
    variants: str = Field(default="[]")  # JSON list of skus
    collections: str = Field(default="[]")  # JSON list
    points: int = Field(sa_type=BigInteger)  # what the claim paid (convert: points chosen)
    issued_at: datetime = _ts(False)
    expires_at: datetime | None = _ts()
    status: str = Field(default="active", max_length=12)
    order_id: str | None = Field(default=None, max_length=100)
    used_at: datetime | None = _ts()
    updated_at: datetime = _ts(False)


class CouponSummary(SQLModel, table=True):
    """Coupons by status, kept by the writes that move a coupon (store/coupons.py), in 16
    shards by claim so that concurrent uses rarely meet on one row. `stats overview`
    reads 16 rows instead of every coupon; expired ones (active past `expires_at`) are a
    range of `coupon (status, expires_at)`. `audit verify` recounts them."""

    __tablename__ = "coupon_summary"
    __table_args__ = (
        CheckConstraint("active >= 0 AND used >= 0 AND cancelled >= 0", name="not_negative"),
    )

    shard: int = Field(primary_key=True)
    active: int = Field(default=0, sa_type=BigInteger)
    used: int = Field(default=0, sa_type=BigInteger)
    cancelled: int = Field(default=0, sa_type=BigInteger)


# --- staff and roles (issue 14) -----------------------------------------------------------


class Staff(SQLModel, table=True):
    """A staff member: a login (a PostgreSQL role, or an OS login on SQLite) and its role.
    Never deleted: `staff remove` marks it, so what they did stays attributable. While
    no row exists, no role is checked (spec §8)."""

    __tablename__ = "staff"
    __table_args__ = (
        CheckConstraint("role IN ('owner', 'manager', 'administrator')", name="role_known"),
    )

    login: str = Field(max_length=63, primary_key=True)
    role: str = Field(max_length=16)
    added_at: datetime = _ts(False)
    added_by: str = Field(max_length=100)
    updated_at: datetime = _ts(False)
    removed_at: datetime | None = _ts()
    # PostgreSQL: the login role was created by `staff add` (else adopted as it was)
    created_login: bool = Field(default=False)


class ProgramSetting(SQLModel, table=True):
    """Program settings kept in the database, changed only by commands that audit them
    (no config file or environment variable reaches them): `administrator_cap`."""

    __tablename__ = "program_setting"

    name: str = Field(max_length=40, primary_key=True)
    value: str = Field(max_length=200)
    updated_at: datetime = _ts(False)
    updated_by: str = Field(max_length=100)


# --- discounts members hold (issue 13) -----------------------------------------------------


class Discount(SQLModel, table=True):
    """A `[[discount]]` table as last applied. Never deleted: `apply --prune` disables it
    (its grants stay and apply nothing). Schedule, scopes, triggers and stack_with are
    canonical JSON (services/apply/discounts.py)."""

    __tablename__ = "discount"
    __table_args__ = (
        CheckConstraint("CAST(percent AS NUMERIC) BETWEEN 0 AND 100", name="percent_in_range"),
    )

    id: int | None = Field(default=None, primary_key=True)
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    description: str | None = Field(default=None, max_length=2000)
    percent: Decimal = Field(sa_type=Money)
    enabled: bool = Field(default=True)
    schedule: str = Field(default="{}")
    scopes: str = Field(default="[]")
    triggers: str = Field(default="[]")
    stack_with: str = Field(default="[]")
    priority: int = Field(default=0)
    exclusive_group: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts(False)
    updated_at: datetime = _ts(False)


class DiscountGrant(SQLModel, table=True):
    """One member holding one discount, from an order, a subscription or by hand. Never
    deleted: a revoke sets `revoked_at` (and why), `maintain run` marks a grant past its
    end `ended_at`. One grant per event and discount (UNIQUE): an event applied twice
    cannot grant twice."""

    __tablename__ = "discount_grant"
    __table_args__ = (
        CheckConstraint("source IN ('order', 'subscription', 'admin')", name="source_known"),
        CheckConstraint("(source = 'order') = (order_id IS NOT NULL)", name="order_source"),
        CheckConstraint(
            "(source = 'subscription') = (subscription_id IS NOT NULL)",
            name="subscription_source",
        ),
        CheckConstraint("until IS NULL OR until > since", name="ends_after_start"),
        UniqueConstraint("event_id", "discount_id"),
        Index(None, "member_id", "discount_id"),
        Index(None, "discount_id", "revoked_at"),
        Index(None, "order_id"),
        Index(None, "subscription_id"),
        # the open grants whose end or scheduled revoke falls due (maintain run, and the
        # figures' correction): partial, so a range reads only those not recorded yet
        Index(
            "ix_discount_grant_open_until",
            "until",
            sqlite_where=text("ended_at IS NULL AND revoked_at IS NULL"),
            postgresql_where=text("ended_at IS NULL AND revoked_at IS NULL"),
        ),
        Index(
            "ix_discount_grant_open_revoke_at",
            "revoke_at",
            sqlite_where=text("revoked_at IS NULL"),
            postgresql_where=text("revoked_at IS NULL"),
        ),
        Index(None, "since"),
    )

    id: int | None = Field(default=None, sa_type=BIG_ID, primary_key=True)
    discount_id: int = Field(foreign_key="discount.id")
    member_id: int = Field(foreign_key="member.id")
    source: str = Field(max_length=12)
    order_id: str | None = Field(default=None, max_length=100)
    subscription_id: str | None = Field(default=None, max_length=100)
    event_id: str | None = Field(default=None, max_length=200)
    duration: str | None = Field(default=None, max_length=16)  # the trigger's; None by hand
    operator: str = Field(max_length=100)
    note: str | None = Field(default=None, max_length=2000)
    since: datetime = _ts(False)
    until: datetime | None = _ts()
    revoke_at: datetime | None = _ts()  # scheduled (a cancelled subscription's renewal date)
    revoked_at: datetime | None = _ts()
    revoke_reason: str | None = Field(default=None, max_length=2000)
    ended_at: datetime | None = _ts()  # counted by maintain run
    idem_key: str | None = Field(default=None, max_length=200, unique=True)
    request_hash: str | None = Field(default=None, max_length=64)
    created_at: datetime = _ts(False)


class DiscountSubscription(SQLModel, table=True):
    """A store subscription that grants discounts (`subscription.*` events): its member,
    package and renewal date, and whether it is cancelled."""

    __tablename__ = "discount_subscription"

    subscription_id: str = Field(max_length=100, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    package: str = Field(max_length=200)
    started_at: datetime = _ts(False)
    renews_at: datetime | None = _ts()
    cancelled_at: datetime | None = _ts()
    updated_at: datetime = _ts(False)


class DiscountUse(SQLModel, table=True):
    """A discount used on an order (`order.paid` with `"discounts": [...]`): statistics."""

    __tablename__ = "discount_use"
    __table_args__ = (
        UniqueConstraint("discount_id", "order_id"),
        Index(None, "discount_id", "day"),
    )

    id: int | None = Field(default=None, sa_type=BIG_ID, primary_key=True)
    discount_id: int = Field(foreign_key="discount.id")
    member_id: int = Field(foreign_key="member.id", index=True)
    order_id: str = Field(max_length=100)
    at: datetime = _ts(False)
    day: str = Field(max_length=10)  # of `at` in the program time zone (statistics)


class DiscountMember(SQLModel, table=True):
    """A member's open grants (not revoked, not ended as recorded) and uses of one
    discount, kept by every write that moves them (store/discounts.py): what tells when
    a member starts or stops holding (or first uses) a discount, for discount_summary."""

    __tablename__ = "discount_member"
    __table_args__ = (CheckConstraint("grants >= 0 AND uses >= 0", name="not_negative"),)

    discount_id: int = Field(foreign_key="discount.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True)
    grants: int = Field(default=0)
    uses: int = Field(default=0)


class DiscountSummary(SQLModel, table=True):
    """Per discount: open grants, members holding it through them, uses and members who
    used it, kept in the same transactions as discount_member. `stats discounts` reads
    these rows and corrects them by the few grants whose end or revoke fell due since
    `maintain run` last recorded them."""

    __tablename__ = "discount_summary"
    __table_args__ = (
        CheckConstraint(
            "grants >= 0 AND members >= 0 AND uses >= 0 AND users >= 0", name="not_negative"
        ),
    )

    discount_id: int = Field(foreign_key="discount.id", primary_key=True)
    grants: int = Field(default=0, sa_type=BigInteger)
    members: int = Field(default=0, sa_type=BigInteger)
    uses: int = Field(default=0, sa_type=BigInteger)
    users: int = Field(default=0, sa_type=BigInteger)


def _describe() -> None:
    """Each table and column carries its comment (store/comments.py): PostgreSQL has
    them as COMMENT ON, and autogenerate compares them."""
    from loyaltyctl.store.comments import COLUMNS, TABLES

    for name, table in metadata.tables.items():
        table.comment = TABLES.get(name)
        for column in table.columns:
            column.comment = COLUMNS.get(name, {}).get(column.name)


_describe()
