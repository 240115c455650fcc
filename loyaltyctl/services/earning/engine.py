"""The earning engine: points earned by rules, reversals, limit counters and tiers, for
the members one transaction has locked. `events ingest` (through its handlers) and
`maintain run` (birthdays, tier reviews) use it.

Everything is worked out in memory against the locked members' figures, then written
in bulk by `flush` (ledger entries and lots through the driver's bulk insert, member
figures and counters as conditional UPDATEs and upserts the database checks again).
Every award is a ledger entry of kind `earn` carrying its rule and event; every
reversal one of kind `reverse`. Which tier a member reaches, and when to look again,
is `domain.tiers`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from loyaltyctl.domain import earning as domain
from loyaltyctl.domain import models, tiers
from loyaltyctl.services.earning.counters import Counters
from loyaltyctl.services.earning.in_force import RulesInForce
from loyaltyctl.services.ledger import lot_row
from loyaltyctl.store import audit
from loyaltyctl.store import earning as store
from loyaltyctl.store import ledger as ledger_store
from loyaltyctl.store.db import Session


@dataclass(slots=True)
class Earning:
    """A locked member while a transaction earns for them."""

    state: ledger_store.MemberState
    tier: str | None  # the member's tier label
    manual: bool  # set by hand: kept as it is, never computed
    plan: str | None
    review_at: datetime | None
    earned: int  # points earned by rules, net of reversals, ever (member.earned)
    credits: list[list] | None = None  # tiers.credits_from, loaded when a tier needs it
    tier_dirty: bool = False
    earned_delta: int = 0  # what this transaction added to `earned`


@dataclass
class TierChange:
    member: str
    before: str | None
    after: str | None
    at: datetime
    reason: str


@dataclass
class Totals:
    awarded: int = 0
    pending: int = 0  # of `awarded`, held as pending
    reversed: int = 0
    shortfall: int = 0  # reversals due but not taken: the points were spent already
    tier_changes: list[TierChange] = field(default_factory=list)


class Earner:
    """The members one transaction locked, and what it earns and reverses for them until
    `flush` writes it."""

    def __init__(self, session: Session, rules: RulesInForce, *, operator: str, now: datetime):
        self.session = session
        self.rules = rules
        self.operator = operator
        self.now = now
        self.members: dict[int, Earning] = {}
        self.entries: list[dict] = []
        self.new_lots: dict[int, dict] = {}  # lot id -> row, written by flush
        self.lots: dict[int, list] = {}  # lot id -> [remaining, matured] (pending lots read)
        self.pending_taken: dict[int, int] = {}
        self.counters = Counters(session, rules.rule_ids)
        self.totals = Totals()
        self._tier_changes_written = 0
        self.entry_ids = ledger_store.entry_ids(session)
        self.lot_ids = ledger_store.lot_ids(session)

    # --- reading ---------------------------------------------------------------------------

    def lock(self, member_ids, bounds: dict[int, int] | None = None) -> dict[int, Earning]:
        """Lock these members (in id order) and read what earning needs of them.

        A member's earned points (their history) are read only when a tier of a period
        could be reached: ``bounds`` gives the most each member may earn in this
        transaction (None: read for all)."""
        ids = sorted(set(member_ids) - set(self.members))
        states, info = store.lock_for_earning(self.session, ids)
        for member_id, state in states.items():
            tier, manual, review_at, plan, earned = info[member_id]
            self.members[member_id] = Earning(
                state, tier, bool(manual), plan, review_at, int(earned)
            )
        if self.rules.has_tiers:
            wanted = [
                member_id
                for member_id in ids
                if member_id in states
                and self._may_need_history(
                    self.members[member_id], None if bounds is None else bounds.get(member_id, 0)
                )
            ]
            self._load_history(wanted)
        return {m: self.members[m] for m in ids if m in self.members}

    def _may_need_history(self, m: Earning, bound: int | None) -> bool:
        """Whether a tier of a period (not a lifetime) above the member's may be reached
        with what they earned and at most ``bound`` more (None: no bound known)."""
        if m.manual:
            return False
        current = self.rules.tier(m.tier)
        if bound is None or (m.tier is not None and current is None):
            return True
        return tiers.period_tier_within_reach(self.rules.tiers, current, m.earned + bound)

    def _load_history(self, member_ids: list[int]) -> None:
        for member_id, entries in store.earned_history(self.session, member_ids).items():
            self.members[member_id].credits = tiers.credits_from(entries)

    def _credits(self, m: Earning) -> list[list]:
        if m.credits is None:
            self._load_history([m.state.id])  # a bound was wrong: read it now
        return m.credits

    def load_lots(self, lot_ids) -> None:
        wanted = [i for i in set(lot_ids) if i not in self.lots and i not in self.new_lots]
        for lot_id, (_member, remaining, matured) in store.lots(self.session, wanted).items():
            self.lots[lot_id] = [remaining, matured]

    # --- writing ---------------------------------------------------------------------------

    def award(
        self,
        m: Earning,
        rule: domain.EarningRule,
        points: int,
        *,
        at: datetime,
        event_id: str,
        reason: str,
        order_id: str | None = None,
        pending_until: datetime | None = None,
    ) -> tuple[int, int | None]:
        """Credit earned points (pending until ``pending_until`` when that is still
        ahead); returns (entry id, the pending lot's id or None)."""
        pending = pending_until is not None and pending_until > self.now
        entry_id = self.entry_ids.take()
        entry = ledger_store.build_entry(
            m.state,
            entry_id=entry_id,
            at=at,
            kind=models.EARN,
            amount=0 if pending else points,
            pending_amount=points if pending else 0,
            reason=reason,
            operator=self.operator,
            pending_until=pending_until if pending else None,
            rule=rule.slug,
            event_id=event_id,
            order_id=order_id,
        )
        self.entries.append(entry)
        lot_id = None
        if pending:
            lot_id = self.lot_ids.take()
            self.new_lots[lot_id] = lot_row(entry, entry_id=entry_id, lot_id=lot_id)
        if m.credits is not None:
            m.credits.append([at, points, rule.slug, order_id])
        m.earned += points
        m.earned_delta += points
        self.totals.awarded += points
        self.totals.pending += points if pending else 0
        return entry_id, lot_id

    def reverse(
        self,
        m: Earning,
        rule_slug: str,
        due: int,
        *,
        lot_id: int | None,
        at: datetime,
        event_id: str,
        order_id: str,
        reason: str,
    ) -> int:
        """Take back ``due`` earned points: from the award's pending lot while it is
        pending, else from the balance (points that never expire first, then the lots
        that expire soonest), never below zero. Returns what was taken; the rest is the
        shortfall (the points were spent already)."""
        from_pending = 0
        lot = self.new_lots.get(lot_id) if lot_id is not None else None
        if lot is not None and lot["remaining"] > 0:  # paid and refunded in this transaction
            from_pending = min(due, lot["remaining"])
            lot["remaining"] -= from_pending
        elif lot_id is not None and lot_id in self.lots and not self.lots[lot_id][1]:
            held = self.lots[lot_id]
            from_pending = min(due, held[0])
            held[0] -= from_pending
            if from_pending:
                self.pending_taken[lot_id] = self.pending_taken.get(lot_id, 0) + from_pending
        state = m.state
        from_balance = min(due - from_pending, state.balance)
        if from_balance:
            self._spend_never_expiring_first(state, from_balance)
        taken = from_pending + from_balance
        if taken:
            self.entries.append(
                ledger_store.build_entry(
                    state,
                    entry_id=self.entry_ids.take(),
                    at=at,
                    kind=models.REVERSE,
                    amount=-from_balance,
                    pending_amount=-from_pending,
                    reason=reason,
                    operator=self.operator,
                    rule=rule_slug,
                    event_id=event_id,
                    order_id=order_id,
                )
            )
            if m.credits is not None:
                tiers.take_off(m.credits, rule_slug, order_id, taken, at)
            m.earned -= taken
            m.earned_delta -= taken
        self.totals.reversed += taken
        self.totals.shortfall += due - taken
        return taken

    def _spend_never_expiring_first(self, state: ledger_store.MemberState, points: int) -> None:
        lots = ledger_store.load_spendable_lots(self.session, state)
        never_expiring = state.balance - sum(lot[1] for lot in lots)
        from_lots = points - min(points, max(never_expiring, 0))
        if from_lots:
            ledger_store.take_from_lots(self.session, state, from_lots)

    def recalculate(
        self, m: Earning, at: datetime, *, reason: str, downgrade: bool = False
    ) -> None:
        """The member's computed tier at ``at``: up whenever they qualify for a higher one,
        down only when ``downgrade`` (maintain run); and when to look again."""
        if m.manual or not self.rules.has_tiers:
            return
        ranked = self.rules.tiers
        current = self.rules.tier(m.tier)
        if not downgrade and (current is not None or m.tier is None):
            # an event moves members up only: the tiers above theirs are all to look at,
            # and only those their points earned ever reach
            above = tiers.within_reach(ranked, current, m.earned)
            if not above or tiers.qualifying_at(above, self._credits(m), at) is None:
                review_at = tiers.review_after_award(current, m.review_at, at)
                if review_at is not None:
                    m.review_at = review_at
                    m.tier_dirty = True
                return
        credits = self._credits(m)
        computed = tiers.qualifying_at(ranked, credits, at)
        new = tiers.new_tier(ranked, current, computed, downgrade=downgrade)
        label = new.slug if new is not None else None
        if label != m.tier:
            self.totals.tier_changes.append(
                TierChange(m.state.external_id, m.tier, label, at, reason)
            )
            m.tier = label
        m.review_at = tiers.next_review(credits, new, at)
        m.tier_dirty = True

    def review_soon(self, m: Earning, at: datetime) -> None:
        """A refund may have taken the member below their tier: `maintain run` looks."""
        if not m.manual and self.rules.has_tiers and m.tier is not None:
            m.review_at = at if m.review_at is None else min(m.review_at, at)
            m.tier_dirty = True

    def flush(self) -> None:
        """Write what this transaction earned and reversed."""
        session = self.session
        ledger_store.insert_entries(session, self.entries)
        ledger_store.insert_lots(session, list(self.new_lots.values()))
        self.counters.flush()
        store.take_from_pending_lots(session, self.pending_taken)
        states = [m.state for m in self.members.values()]
        ledger_store.save_lot_changes(session, states)
        store.save_earning_members(
            session,
            states,
            self.now,
            earned={mid: m.earned_delta for mid, m in self.members.items() if m.earned_delta},
            tiers={mid: (m.tier, m.review_at) for mid, m in self.members.items() if m.tier_dirty},
        )
        audit.append_events(
            session,
            [
                audit.NewEvent(
                    subject=f"member:{c.member}",
                    action="member.tier",
                    operator=self.operator,
                    at=self.now,
                    reason=c.reason,
                    details={"from": c.before, "to": c.after, "at": c.at.isoformat()},
                )
                for c in self.totals.tier_changes[self._tier_changes_written :]
            ],
        )
        self._tier_changes_written = len(self.totals.tier_changes)
        self.entries, self.new_lots, self.pending_taken = [], {}, {}
        for m in self.members.values():
            m.tier_dirty, m.earned_delta = False, 0
