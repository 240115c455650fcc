"""What services return: frozen dataclasses, independent of the store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

# a member's account as the counter reads it, and the ledger entry kinds: in a module
# of their own, so that the counter's reads and `perk claim` do not create every result
# class here (start-up)
from loyaltyctl.domain.accounts import CLAIM as CLAIM
from loyaltyctl.domain.accounts import CLAIM_REFUND as CLAIM_REFUND
from loyaltyctl.domain.accounts import CREDIT as CREDIT
from loyaltyctl.domain.accounts import CREDIT_KINDS as CREDIT_KINDS
from loyaltyctl.domain.accounts import EARN as EARN
from loyaltyctl.domain.accounts import EXPIRE as EXPIRE
from loyaltyctl.domain.accounts import MATURE as MATURE
from loyaltyctl.domain.accounts import REVERSE as REVERSE
from loyaltyctl.domain.accounts import WRITE_OFF as WRITE_OFF
from loyaltyctl.domain.accounts import Balance as Balance
from loyaltyctl.domain.accounts import ExpiringPoints as ExpiringPoints
from loyaltyctl.domain.accounts import Member as Member


@dataclass(frozen=True)
class Forgotten:
    """What `member forget` did: the fields erased, the audit events redacted (ids)."""

    member: str
    forgotten_at: datetime
    reason: str
    erased: tuple[str, ...]
    redacted_events: tuple[int, ...]


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    member: str
    at: datetime
    kind: str
    amount: int
    pending_amount: int
    balance_after: int
    reason: str | None
    operator: str
    key: str | None
    expires_at: datetime | None
    pending_until: datetime | None
    rule: str | None = None
    event_id: str | None = None
    order_id: str | None = None
    claim_id: str | None = None


@dataclass(frozen=True)
class PointsChange:
    entry_id: int
    member: str
    amount: int
    balance: int
    pending: int
    replayed: bool


@dataclass(frozen=True)
class MemberProfile:
    member: Member
    balance: Balance
    recent: tuple[LedgerEntry, ...]
    claims: tuple = ()
    redemptions: tuple = ()  # domain.promo.MemberRedemption, newest first ("my prizes")
    tier_status: object = None  # services.earning.status.TierStatus, None when no tiers are defined
    coupons: tuple = ()  # domain.coupons.MemberCoupon, usable ones first
    discounts: tuple = ()  # domain.discount_grants.GrantRecord: held now, newest first


@dataclass(frozen=True)
class ImportResult:
    file: str
    rows: int
    applied: int
    replayed: int
    dry_run: bool
    created: int = 0
    updated: int = 0
    derived_keys: bool = False


@dataclass(frozen=True)
class WebhookFailure:
    """A webhook delivery given up in this run (it reached the attempt limit)."""

    event_id: str
    event: str
    claim_id: str
    perk: str  # slug
    attempts: int
    error: str


@dataclass(frozen=True)
class WebhookReport:
    """What one round of webhook deliveries did; deliveries due but not attempted
    (time budget spent, or an earlier event of the same claim failed) stay queued."""

    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    failures: tuple[WebhookFailure, ...] = ()


@dataclass(frozen=True)
class MaintenanceResult:
    now: datetime
    dry_run: bool
    matured_lots: int = 0
    matured_points: int = 0
    expired_lots: int = 0
    expired_points: int = 0
    skipped: bool = False
    webhooks_due: int = 0  # due at `now` (a dry run reports this and sends nothing)
    webhooks_delivered: int = 0
    webhooks_retrying: int = 0  # failed this time, tried again after a backoff
    webhooks_failed: int = 0  # given up in this run
    webhook_failures: tuple[WebhookFailure, ...] = ()
    birthdays: int = 0  # members given birthday points
    birthday_points: int = 0
    tier_reviews: int = 0  # computed tiers looked at again
    tier_changes: int = 0
    grants_revoked: int = 0  # scheduled revokes of discount grants carried out
    grants_ended: int = 0  # discount grants past their end

    @property
    def changed(self) -> bool:
        return bool(
            self.grants_revoked
            or self.grants_ended
            or self.matured_lots
            or self.expired_lots
            or self.birthdays
            or self.tier_changes
            or self.webhooks_due
            or self.webhooks_delivered
            or self.webhooks_retrying
            or self.webhooks_failed
        )


@dataclass(frozen=True)
class AuditRecord:
    ref: str  # "ledger:123" or "event:45"
    at: datetime
    operator: str
    action: str
    subject: str
    reason: str | None
    amount: int | None = None
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Checkpoint:
    """A signed audit checkpoint: ``text`` is the file's content."""

    text: str
    at: datetime
    digest: str
    chains: int
    ledger_entries: int
    audit_events: int
    out: str | None = None


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    ledger_entries: int
    audit_events: int
    members: int
    problems: tuple[str, ...]
