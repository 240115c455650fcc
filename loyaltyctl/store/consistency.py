"""Figures kept in the writing transactions, recounted from the rows they summarise
(for `audit verify`). Each query returns only the rows that disagree."""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import text
from sqlmodel import Session

# a perk's counter: its own plus its supply buckets' (one of the two is 0)
_KEPT = "(p.{0} + COALESCE((SELECT SUM(b.{0}) FROM perk_bucket b WHERE b.perk_id = p.id), 0))"

# (what, SQL returning (name, kept, counted) for each disagreement); a capability that
# keeps a counter adds its recount here
RECOUNTS = (
    (
        "perk {0}: claimed is {1}, its active claims number {2}",
        f"SELECT p.slug, {_KEPT.format('claimed')}, COUNT(c.id) FROM perk p "
        "LEFT JOIN claim c ON c.perk_id = p.id AND c.status = 'active' "
        f"GROUP BY p.id, p.slug, p.claimed HAVING {_KEPT.format('claimed')} <> COUNT(c.id)",
    ),
    (
        "perk {0}: its supply buckets hold {1} in all, its max_supply is {2}",
        "SELECT p.slug, SUM(b.capacity), p.max_supply FROM perk p "
        "JOIN perk_bucket b ON b.perk_id = p.id WHERE p.max_supply IS NOT NULL "
        "GROUP BY p.id, p.slug, p.max_supply HAVING SUM(b.capacity) <> p.max_supply "
        "OR COUNT(b.bucket) <> p.supply_buckets",
    ),
    (
        "perk {0}: it keeps {1} supply buckets, {2} are laid out",
        "SELECT p.slug, p.supply_buckets, COUNT(b.bucket) FROM perk p "
        "LEFT JOIN perk_bucket b ON b.perk_id = p.id "
        "GROUP BY p.id, p.slug, p.supply_buckets "
        "HAVING COUNT(b.bucket) <> CASE WHEN p.supply_buckets > 1 THEN p.supply_buckets ELSE 0 END",
    ),
    (
        "perk {0}: a member's claim count is {1}, their active claims number {2}",
        "SELECT p.slug, pm.claims, COUNT(c.id) FROM perk_member pm "
        "JOIN perk p ON p.id = pm.perk_id "
        "LEFT JOIN claim c ON c.perk_id = pm.perk_id AND c.member_id = pm.member_id "
        "AND c.status = 'active' "
        "GROUP BY pm.perk_id, pm.member_id, p.slug, pm.claims HAVING pm.claims <> COUNT(c.id)",
    ),
    (
        "campaign {0}: redemptions is {1}, its redemption rows number {2}",
        "SELECT k.slug, k.redemptions, COUNT(r.id) FROM campaign k "
        "LEFT JOIN promo_redemption r ON r.campaign_id = k.id "
        "GROUP BY k.id, k.slug, k.redemptions HAVING k.redemptions <> COUNT(r.id)",
    ),
    (
        "campaign {0}: points granted is {1}, its redemptions granted {2}",
        "SELECT k.slug, k.points_granted, COALESCE(SUM(r.points), 0) FROM campaign k "
        "LEFT JOIN promo_redemption r ON r.campaign_id = k.id "
        "GROUP BY k.id, k.slug, k.points_granted "
        "HAVING k.points_granted <> COALESCE(SUM(r.points), 0)",
    ),
    (
        "campaign {0}: a code's uses are {1}, its redemptions number {2}",
        "SELECT k.slug, c.uses, COUNT(r.id) FROM promo_code c "
        "JOIN campaign k ON k.id = c.campaign_id "
        "LEFT JOIN promo_redemption r ON r.code_id = c.id "
        "WHERE c.uses > 0 OR c.batch_id IS NULL "
        "GROUP BY c.id, k.slug, c.uses HAVING c.uses <> COUNT(r.id)",
    ),
    (
        "campaign {0}: a member's redemption count is {1}, their redemptions number {2}",
        "SELECT k.slug, m.redemptions, COUNT(r.id) FROM campaign_member m "
        "JOIN campaign k ON k.id = m.campaign_id "
        "LEFT JOIN promo_redemption r ON r.campaign_id = m.campaign_id "
        "AND r.member_id = m.member_id AND (m.day = '' OR r.day = m.day) "
        "GROUP BY m.campaign_id, m.member_id, m.day, k.slug, m.redemptions "
        "HAVING m.redemptions <> COUNT(r.id)",
    ),
    (
        "perk {0}: members is {1}, members with an active claim number {2}",
        f"SELECT p.slug, {_KEPT.format('members')}, COUNT(m.member_id) FROM perk p "
        "LEFT JOIN perk_member m ON m.perk_id = p.id AND m.claims > 0 "
        f"GROUP BY p.id, p.slug, p.members HAVING {_KEPT.format('members')} "
        "<> COUNT(m.member_id)",
    ),
    (
        "perk {0}: points spent is {1}, its active claims spent {2}",
        f"SELECT p.slug, {_KEPT.format('points_spent')}, COALESCE(SUM(c.points), 0) FROM perk p "
        "LEFT JOIN claim c ON c.perk_id = p.id AND c.status = 'active' "
        "GROUP BY p.id, p.slug, p.points_spent "
        f"HAVING {_KEPT.format('points_spent')} <> COALESCE(SUM(c.points), 0)",
    ),
    (
        "ledger summary of {0}: {1} points kept, the ledger sums to {2}",
        "SELECT k.kind, k.kept, COALESCE(l.summed, 0) FROM "
        "(SELECT kind, SUM(points) AS kept FROM ledger_summary GROUP BY kind) k "
        "LEFT JOIN (SELECT kind, SUM(amount + pending_amount) AS summed FROM ledger_entry "
        "GROUP BY kind) l ON l.kind = k.kind WHERE k.kept <> COALESCE(l.summed, 0) "
        "UNION ALL SELECT l.kind, 0, l.summed FROM "
        "(SELECT kind, SUM(amount + pending_amount) AS summed FROM ledger_entry GROUP BY kind) l "
        "WHERE l.kind NOT IN (SELECT kind FROM ledger_summary) AND l.summed <> 0",
    ),
    (
        "perk {0}: its claims per day add up to {1}, its active claims number {2}",
        "SELECT p.slug, COALESCE(d.claims, 0), COALESCE(c.claims, 0) FROM perk p "
        "LEFT JOIN (SELECT perk_id, SUM(claims) AS claims FROM claim_day GROUP BY perk_id) d "
        "ON d.perk_id = p.id "
        "LEFT JOIN (SELECT perk_id, COUNT(*) AS claims FROM claim WHERE status = 'active' "
        "GROUP BY perk_id) c ON c.perk_id = p.id "
        "WHERE COALESCE(d.claims, 0) <> COALESCE(c.claims, 0)",
    ),
    (
        # every earned point traces back to its rule and event (a birthday is its own)
        "ledger entry {0}: earned by rule {1!r} for event {2!r}, which is not recorded",
        "SELECT l.id, COALESCE(l.rule, ''), COALESCE(l.event_id, '') FROM ledger_entry l "
        "LEFT JOIN earning_rule r ON r.slug = l.rule "
        "LEFT JOIN ingested_event e ON e.id = l.event_id "
        "WHERE l.kind IN ('earn', 'reverse') AND (r.id IS NULL OR (e.id IS NULL "
        "AND (l.event_id IS NULL OR l.event_id NOT LIKE 'birthday:%')))",
    ),
    (
        "member {0}: earned is {1}, its earned and reversed entries sum to {2}",
        "SELECT m.external_id, m.earned, COALESCE(SUM(l.amount + l.pending_amount), 0) "
        "FROM member m LEFT JOIN ledger_entry l ON l.member_id = m.id "
        "AND l.kind IN ('earn', 'reverse') GROUP BY m.id, m.external_id, m.earned "
        "HAVING m.earned <> COALESCE(SUM(l.amount + l.pending_amount), 0)",
    ),
    (
        "promo batch {0}: generated is {1}, its codes number {2}",
        "SELECT b.id, b.generated, COUNT(c.id) FROM promo_batch b "
        "LEFT JOIN promo_code c ON c.batch_id = b.id "
        "GROUP BY b.id, b.generated HAVING b.generated <> COUNT(c.id)",
    ),
    (
        "discount {0}: a member's open grants are {1}, their grants not revoked or ended"
        " number {2}",
        "SELECT d.slug, h.grants, COUNT(g.id) FROM discount_member h "
        "JOIN discount d ON d.id = h.discount_id "
        "LEFT JOIN discount_grant g ON g.discount_id = h.discount_id "
        "AND g.member_id = h.member_id AND g.revoked_at IS NULL AND g.ended_at IS NULL "
        "GROUP BY h.discount_id, h.member_id, d.slug, h.grants HAVING h.grants <> COUNT(g.id)",
    ),
    (
        "discount {0}: a member's uses are {1}, their uses on orders number {2}",
        "SELECT d.slug, h.uses, COUNT(u.id) FROM discount_member h "
        "JOIN discount d ON d.id = h.discount_id "
        "LEFT JOIN discount_use u ON u.discount_id = h.discount_id AND u.member_id = h.member_id "
        "GROUP BY h.discount_id, h.member_id, d.slug, h.uses HAVING h.uses <> COUNT(u.id)",
    ),
    (
        "discount {0}: its kept open grants are {1}, its members' add up to {2}",
        "SELECT d.slug, s.grants, COALESCE(SUM(h.grants), 0) FROM discount_summary s "
        "JOIN discount d ON d.id = s.discount_id "
        "LEFT JOIN discount_member h ON h.discount_id = s.discount_id "
        "GROUP BY s.discount_id, d.slug, s.grants HAVING s.grants <> COALESCE(SUM(h.grants), 0)",
    ),
    (
        "discount {0}: its kept members holding it are {1}, members with open grants number {2}",
        "SELECT d.slug, s.members, COUNT(h.member_id) FROM discount_summary s "
        "JOIN discount d ON d.id = s.discount_id "
        "LEFT JOIN discount_member h ON h.discount_id = s.discount_id AND h.grants > 0 "
        "GROUP BY s.discount_id, d.slug, s.members HAVING s.members <> COUNT(h.member_id)",
    ),
    (
        "discount {0}: its kept uses are {1}, its members' add up to {2}",
        "SELECT d.slug, s.uses, COALESCE(SUM(h.uses), 0) FROM discount_summary s "
        "JOIN discount d ON d.id = s.discount_id "
        "LEFT JOIN discount_member h ON h.discount_id = s.discount_id "
        "GROUP BY s.discount_id, d.slug, s.uses HAVING s.uses <> COALESCE(SUM(h.uses), 0)",
    ),
    (
        "discount {0}: its kept members who used it are {1}, members with uses number {2}",
        "SELECT d.slug, s.users, COUNT(h.member_id) FROM discount_summary s "
        "JOIN discount d ON d.id = s.discount_id "
        "LEFT JOIN discount_member h ON h.discount_id = s.discount_id AND h.uses > 0 "
        "GROUP BY s.discount_id, d.slug, s.users HAVING s.users <> COUNT(h.member_id)",
    ),
)


def counter_mismatches(session: Session) -> Iterator[str]:
    """Every counter that disagrees with its rows, described, recount by recount."""
    for message, sql in RECOUNTS:
        for name, kept, counted in session.execute(text(sql)):
            yield message.format(name, kept, counted)


LOT_SQL = (
    "SELECT m.external_id, m.balance, m.pending, l.spendable, l.held FROM "
    "(SELECT member_id, "
    "SUM(CASE WHEN matured AND expires_at IS NOT NULL THEN remaining ELSE 0 END) AS spendable, "
    "SUM(CASE WHEN NOT matured THEN remaining ELSE 0 END) AS held "
    "FROM point_lot WHERE remaining > 0 GROUP BY member_id) l "
    "JOIN member m ON m.id = l.member_id "
    "WHERE l.spendable > m.balance OR l.held <> m.pending ORDER BY m.id"
)


def lot_mismatches(session: Session) -> list[tuple[str, int, int, int, int]]:
    """(member external id, balance, pending, points in its expiring lots, points in its
    pending lots) of the members with points in lots whose lots hold more than their
    balance or other than their pending points."""
    return [
        (external_id, int(balance), int(pending), int(spendable), int(held))
        for external_id, balance, pending, spendable, held in session.execute(text(LOT_SQL))
    ]


# --- coupons: their states against their claims and the audit trail of their uses -----------

COUPON_ACTIONS = "('coupon.use', 'coupon.release', 'coupon.return')"
COUPON_RECOUNTS = (
    (
        "coupons {0}: coupon_summary keeps {1}, the coupons number {2}",
        "SELECT k.status, k.kept, COALESCE(c.counted, 0) FROM ("
        "SELECT 'active' AS status, COALESCE(SUM(active), 0) AS kept FROM coupon_summary "
        "UNION ALL SELECT 'used', COALESCE(SUM(used), 0) FROM coupon_summary "
        "UNION ALL SELECT 'cancelled', COALESCE(SUM(cancelled), 0) FROM coupon_summary) k "
        "LEFT JOIN (SELECT status, COUNT(*) AS counted FROM coupon GROUP BY status) c "
        "ON c.status = k.status WHERE k.kept <> COALESCE(c.counted, 0)",
    ),
    (
        "coupon of claim {0}: {1}",
        "SELECT c.claim_id, CASE WHEN k.id IS NULL THEN 'its claim does not exist' "
        "WHEN p.id IS NULL OR p.redemption_type <> 'coupon' "
        "THEN 'its claim is not of a coupon perk' "
        "WHEN k.perk_id <> c.perk_id THEN 'its perk is not its claim''s' "
        "ELSE 'its member is not its claim''s' END "
        "FROM coupon c LEFT JOIN claim k ON k.id = c.claim_id "
        "LEFT JOIN perk p ON p.id = k.perk_id "
        "WHERE k.id IS NULL OR p.id IS NULL OR p.redemption_type <> 'coupon' "
        "OR k.perk_id <> c.perk_id OR k.member_id <> c.member_id",
    ),
    (
        "coupon of claim {0}: status {1} with order {2!r} (used means an order and a time)",
        "SELECT claim_id, status, order_id FROM coupon "
        "WHERE status NOT IN ('active', 'used', 'cancelled') "
        "OR (status = 'used' AND (order_id IS NULL OR used_at IS NULL)) "
        "OR (status <> 'used' AND (order_id IS NOT NULL OR used_at IS NOT NULL))",
    ),
    (
        "coupon of claim {0}: the coupon is {1} but its claim is {2}",
        "SELECT c.claim_id, c.status, k.status FROM coupon c JOIN claim k ON k.id = c.claim_id "
        "WHERE (k.status = 'cancelled') <> (c.status = 'cancelled')",
    ),
    (
        "coupons of claims {0} and {1}: {2} coupons share one code",
        "SELECT MIN(claim_id), MAX(claim_id), COUNT(*) FROM coupon "
        "GROUP BY code_hash HAVING COUNT(*) > 1",
    ),
    (
        "coupon of claim {0}: used on order {1!r}, but no use of it is in the audit trail",
        "SELECT c.claim_id, c.order_id, '' FROM coupon c WHERE c.status = 'used' "
        "AND NOT EXISTS (SELECT 1 FROM audit_event e "
        "WHERE e.subject = 'coupon:' || c.claim_id AND e.action = 'coupon.use')",
    ),
)

LAST_COUPON_EVENTS = (
    "SELECT c.claim_id, c.status, c.order_id, e.action, e.details FROM audit_event e "
    "JOIN coupon c ON c.claim_id = SUBSTR(e.subject, 8) "
    f"WHERE e.subject LIKE 'coupon:%' AND e.action IN {COUPON_ACTIONS} "
    "AND NOT EXISTS (SELECT 1 FROM audit_event x WHERE x.subject = e.subject "
    f"AND x.seq > e.seq AND x.action IN {COUPON_ACTIONS})"
)


def coupon_mismatches(session: Session) -> Iterator[str]:
    """Every coupon whose row disagrees with its claim, with the database's rules of a
    status, or with its code's uniqueness, described."""
    for message, sql in COUPON_RECOUNTS:
        for row in session.execute(text(sql)):
            yield message.format(*row)


def last_coupon_events(session: Session) -> Iterator[tuple[str, str, str | None, str, str]]:
    """(claim id, status, order id, action, details) of each coupon's last use, release
    or return in the audit trail."""
    return iter(session.execute(text(LAST_COUPON_EVENTS)))
