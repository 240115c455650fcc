"""What PostgreSQL itself enforces for the staff roles (spec §8). PostgreSQL only: SQLite
has no logins, so there the tool's own check is all there is.

Each staff member is a login role, a member of one group role per staff role
(`loyalty_owner`, `loyalty_manager`, `loyalty_administrator`, shared by the club
databases of a cluster). In a club's database, once staff exist (`activate`):

- `loyalty_owner` owns every table, sequence and function of the schema (so any owner
  can run `db upgrade`) and has CREATE on the schema; owners are not limited by the
  row policies below (table owners never are).
- managers and administrators read every table and write exactly what `WRITES` lists:
  table privileges, column privileges for UPDATE, and row policies (`POLICIES`) where
  the rule depends on the values written. The ledger and the audit log are append-only
  for both, and every entry and audit event must name the writing login
  (``operator = session_user``). An administrator's ledger entries are limited to what
  the counter's commands write (a credit or write-off within the cap, a claim's debit,
  a promo code's points as its campaign says), each continuing the member's chain from
  the member row, and a member's figures may only move to what the ledger says.
- CONNECT on the database is revoked from PUBLIC and granted to each staff login.

`apply_privileges` is idempotent: it runs at the first `staff add` and again after every
`db upgrade` of an enforced database, so tables added by later migrations get theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from loyaltyctl.domain.errors import RolesUnavailable
from loyaltyctl.domain.roles import (
    ADMINISTRATOR,
    CAP_SETTING,
    DEFAULT_CAP,
    GROUP_ROLES,
    MANAGER,
    OWNER,
)
from loyaltyctl.store.tables import metadata

OWNER_GROUP = GROUP_ROLES[OWNER]
MANAGER_GROUP = GROUP_ROLES[MANAGER]
ADMINISTRATOR_GROUP = GROUP_ROLES[ADMINISTRATOR]
STAFF_GROUPS = f"{MANAGER_GROUP}, {ADMINISTRATOR_GROUP}"


@dataclass(frozen=True)
class Writes:
    """What a group may write in one table (every group reads every table).
    ``update``: the columns it may UPDATE; ``EVERY_COLUMN`` for all of them."""

    insert: bool = False
    update: tuple[str, ...] = ()
    delete: bool = False


EVERY_COLUMN = ("*",)
READ_ONLY = Writes()
APPEND = Writes(insert=True)
FULL = Writes(insert=True, update=EVERY_COLUMN)


def _all_but(table: str, *excluded: str) -> tuple[str, ...]:
    return tuple(c.name for c in metadata.tables[table].columns if c.name not in excluded)


# columns a credit, write-off or claim moves on the member row
MEMBER_FIGURES = ("balance", "pending", "ledger_seq", "ledger_head", "updated_at")
# what `member update` may change (the earned points and tier reviews are the earning's)
MEMBER_PROFILE = (
    "name",
    "phone",
    "phone_rev",
    "email",
    "birthday",
    "birthday_md",
    "plan",
    "tier",
    "tier_manual",
)

# table -> (the managers' writes, the administrators' writes). A table without an entry:
# managers FULL, administrators READ_ONLY (a test names every table without one).
# Secrets re-encrypted by `keys rotate` and never written otherwise (a claim's
# redemption, a code's ciphertext) are left out of the managers' UPDATE.
WRITES: dict[str, tuple[Writes, Writes]] = {
    "member": (FULL, Writes(insert=True, update=MEMBER_PROFILE + MEMBER_FIGURES)),
    "member_label": (Writes(insert=True, delete=True), Writes(insert=True, delete=True)),
    "ledger_entry": (APPEND, APPEND),
    "point_lot": (FULL, Writes(insert=True, update=("remaining",))),
    # managers may UPDATE `details`: `member forget` redacts (the append-only trigger lets
    # exactly a redaction its member.forget event records through)
    "audit_event": (Writes(insert=True, update=("details",)), APPEND),
    "audit_chain": (FULL, Writes(insert=True, update=("seq", "head"))),
    "job_lock": (FULL, READ_ONLY),
    "idempotency_key": (APPEND, APPEND),
    "ledger_summary": (FULL, Writes(insert=True, update=("points", "entries"))),
    "perk": (
        FULL,
        Writes(update=("claimed", "members", "points_spent", "last_claim_at")),
    ),
    "perk_member": (FULL, Writes(insert=True, update=("claims",))),
    # a bucketed perk's counters (apply lays the buckets out: the managers')
    "perk_bucket": (
        FULL,
        Writes(update=("claimed", "members", "points_spent", "last_claim_at")),
    ),
    "claim": (Writes(insert=True, update=_all_but("claim", "redemption_enc")), APPEND),
    "claim_lot": (FULL, APPEND),
    "claim_day": (FULL, Writes(insert=True, update=("claims",))),
    "webhook_delivery": (FULL, APPEND),
    "campaign": (FULL, Writes(update=("redemptions", "points_granted"))),
    "campaign_member": (FULL, Writes(insert=True, update=("redemptions",))),
    "promo_batch": (FULL, READ_ONLY),
    "promo_code": (
        Writes(insert=True, update=_all_but("promo_code", "code_enc")),
        Writes(update=("uses",)),
    ),
    "promo_redemption": (FULL, APPEND),
    "earning_rule": (FULL, READ_ONLY),
    "tier": (FULL, READ_ONLY),
    "ingested_event": (FULL, READ_ONLY),
    "held_refund": (FULL, READ_ONLY),
    "earning_counter": (FULL, READ_ONLY),
    "coupon": (
        Writes(insert=True, update=_all_but("coupon", "code_enc")),
        Writes(insert=True, update=("status", "order_id", "used_at", "updated_at")),
    ),
    # coupons by status, moved by every issue, use and cancel (a claim or a use at the counter)
    "coupon_summary": (
        Writes(insert=True, update=("active", "used", "cancelled")),
        Writes(insert=True, update=("active", "used", "cancelled")),
    ),
    # discounts: defined by apply, granted by events (managers) and by hand at the counter
    "discount": (FULL, READ_ONLY),
    "discount_grant": (FULL, APPEND),
    # kept by every grant and revoke: a grant by hand at the counter moves them too
    "discount_member": (
        Writes(insert=True, update=("grants", "uses")),
        Writes(insert=True, update=("grants",)),
    ),
    "discount_summary": (
        Writes(insert=True, update=("grants", "members", "uses", "users")),
        Writes(insert=True, update=("grants", "members")),
    ),
    "discount_subscription": (FULL, READ_ONLY),
    "discount_use": (FULL, READ_ONLY),
    # the owners' alone: the roster, the administrator cap, the schema's revision
    "staff": (READ_ONLY, READ_ONLY),
    "program_setting": (READ_ONLY, READ_ONLY),
    "alembic_version": (READ_ONLY, READ_ONLY),
}
DEFAULT_WRITES = (FULL, READ_ONLY)


@dataclass(frozen=True)
class Policy:
    name: str
    table: str
    command: str  # SELECT | INSERT | UPDATE | ALL
    roles: str
    using: str | None = None
    check: str | None = None


_READ = "true"
_ZERO_FIGURES = (
    "balance = 0 AND pending = 0 AND ledger_seq = 0 AND earned = 0 "
    "AND ledger_head = repeat('0', 64)"
)
# a member's figures are those of the last entry of its chain (balance and head) and
# the sum of its entries (pending)
_FIGURES_FROM_LEDGER = """
    ((ledger_seq = 0 AND balance = 0 AND ledger_head = repeat('0', 64))
     OR EXISTS (SELECT 1 FROM ledger_entry e
                WHERE e.member_id = member.id AND e.seq = member.ledger_seq
                  AND e.balance_after = member.balance AND e.hash = member.ledger_head))
    AND NOT EXISTS (SELECT 1 FROM ledger_entry e
                    WHERE e.member_id = member.id AND e.seq > member.ledger_seq)
    AND pending = (SELECT COALESCE(SUM(e.pending_amount), 0) FROM ledger_entry e
                   WHERE e.member_id = member.id)
"""
_CAP = (
    "COALESCE((SELECT CAST(value AS bigint) FROM program_setting "
    f"WHERE name = '{CAP_SETTING}'), {DEFAULT_CAP})"
)
# what the counter's commands write into the ledger, and nothing else
_COUNTER_ENTRY = f"""
    operator = session_user
    AND EXISTS (SELECT 1 FROM member m
                WHERE m.id = ledger_entry.member_id AND ledger_entry.seq = m.ledger_seq + 1
                  AND ledger_entry.prev_hash = m.ledger_head
                  AND ledger_entry.balance_after = m.balance + ledger_entry.amount)
    AND pending_amount >= 0
    AND (
        (kind = 'credit' AND amount >= 0 AND amount + pending_amount BETWEEN 1 AND {_CAP})
        OR (kind = 'write_off' AND pending_amount = 0 AND amount BETWEEN -{_CAP} AND -1)
        OR (kind = 'claim' AND pending_amount = 0 AND amount < 0 AND claim_id IS NOT NULL)
        OR (kind = 'promo' AND pending_amount = 0 AND event_id IS NOT NULL
            AND EXISTS (SELECT 1 FROM campaign c
                        WHERE ledger_entry.rule = 'campaign:' || c.slug
                          AND c.status = 'active' AND c.points = ledger_entry.amount))
    )
"""
# a lot belongs to a credit of the same login, holds exactly its points, and is its only one
_COUNTER_LOT = """
    EXISTS (SELECT 1 FROM ledger_entry e
            WHERE e.id = point_lot.entry_id AND e.member_id = point_lot.member_id
              AND e.kind = 'credit' AND e.operator = session_user
              AND point_lot.amount = e.amount + e.pending_amount
              AND point_lot.remaining = point_lot.amount
              AND point_lot.expires_at IS NOT DISTINCT FROM e.expires_at
              AND point_lot.matured = (e.pending_amount = 0)
              AND point_lot.matures_at IS NOT DISTINCT FROM e.pending_until)
    AND NOT EXISTS (SELECT 1 FROM point_lot l WHERE l.entry_id = point_lot.entry_id)
"""
_SIGNED = "operator = session_user"
# an audit chain's head is the hash of its subject's last event
_CHAIN_HEAD = """
    EXISTS (SELECT 1 FROM audit_event e
            WHERE e.subject = audit_chain.subject AND e.seq = audit_chain.seq
              AND e.hash = audit_chain.head)
    AND NOT EXISTS (SELECT 1 FROM audit_event e
                    WHERE e.subject = audit_chain.subject AND e.seq > audit_chain.seq)
"""
# a webhook is queued once, for a claim the same login made of that perk, to the perk's
# URL, with the claim's own facts (the receiver trusts what maintain run signs)
_CLAIM_WEBHOOK = """
    event = 'claim.created' AND status = 'queued' AND attempts = 0
    AND EXISTS (
        SELECT 1 FROM claim c JOIN perk p ON p.id = c.perk_id JOIN member m ON m.id = c.member_id
        WHERE c.id = webhook_delivery.claim_id AND p.id = webhook_delivery.perk_id
          AND p.webhook_url = webhook_delivery.url AND c.operator = session_user
          AND CAST(webhook_delivery.payload AS jsonb) - 'at' - 'event_id'
              = jsonb_build_object('claim_id', c.id, 'certificate_id', c.certificate_id,
                                   'perk', p.slug, 'member', m.external_id,
                                   'points_spent', c.points, 'event', 'claim.created')
          AND CAST(webhook_delivery.payload AS jsonb) ->> 'event_id' = webhook_delivery.event_id)
    AND NOT EXISTS (SELECT 1 FROM webhook_delivery w
                    WHERE w.claim_id = webhook_delivery.claim_id AND w.event = 'claim.created')
"""

POLICIES: tuple[Policy, ...] = (
    Policy("loyalty_read", "member", "SELECT", STAFF_GROUPS, using=_READ),
    Policy("loyalty_manager", "member", "ALL", MANAGER_GROUP, using=_READ, check=_READ),
    Policy("loyalty_counter_add", "member", "INSERT", ADMINISTRATOR_GROUP, check=_ZERO_FIGURES),
    Policy(
        "loyalty_counter_change",
        "member",
        "UPDATE",
        ADMINISTRATOR_GROUP,
        using=_READ,
        check=_FIGURES_FROM_LEDGER,
    ),
    Policy("loyalty_read", "ledger_entry", "SELECT", STAFF_GROUPS, using=_READ),
    Policy("loyalty_manager", "ledger_entry", "INSERT", MANAGER_GROUP, check=_SIGNED),
    Policy("loyalty_counter", "ledger_entry", "INSERT", ADMINISTRATOR_GROUP, check=_COUNTER_ENTRY),
    Policy("loyalty_read", "point_lot", "SELECT", STAFF_GROUPS, using=_READ),
    Policy("loyalty_manager", "point_lot", "ALL", MANAGER_GROUP, using=_READ, check=_READ),
    Policy("loyalty_counter_add", "point_lot", "INSERT", ADMINISTRATOR_GROUP, check=_COUNTER_LOT),
    Policy(
        "loyalty_counter_spend",
        "point_lot",
        "UPDATE",
        ADMINISTRATOR_GROUP,
        using=_READ,
        check=_READ,
    ),
    Policy("loyalty_read", "audit_event", "SELECT", STAFF_GROUPS, using=_READ),
    Policy("loyalty_signed", "audit_event", "INSERT", STAFF_GROUPS, check=_SIGNED),
    Policy("loyalty_forget", "audit_event", "UPDATE", MANAGER_GROUP, using=_READ, check=_READ),
    Policy("loyalty_read", "audit_chain", "SELECT", STAFF_GROUPS, using=_READ),
    Policy("loyalty_manager", "audit_chain", "ALL", MANAGER_GROUP, using=_READ, check=_READ),
    Policy("loyalty_counter_add", "audit_chain", "INSERT", ADMINISTRATOR_GROUP, check=_CHAIN_HEAD),
    Policy(
        "loyalty_counter_move",
        "audit_chain",
        "UPDATE",
        ADMINISTRATOR_GROUP,
        using=_READ,
        check=_CHAIN_HEAD,
    ),
    Policy("loyalty_read", "webhook_delivery", "SELECT", STAFF_GROUPS, using=_READ),
    Policy("loyalty_manager", "webhook_delivery", "ALL", MANAGER_GROUP, using=_READ, check=_READ),
    Policy(
        "loyalty_counter_queue",
        "webhook_delivery",
        "INSERT",
        ADMINISTRATOR_GROUP,
        check=_CLAIM_WEBHOOK,
    ),
)

# Counters the counter's commands move one way only (supply taken, uses, redemptions,
# points spent from lots): an administrator's UPDATE that moves one back is refused by
# a trigger (a row policy sees only the new row). table -> the condition of a move back.
MOVES_BACK: dict[str, str] = {
    "perk": "NEW.claimed < OLD.claimed OR NEW.members < OLD.members "
    "OR NEW.points_spent < OLD.points_spent",
    "perk_member": "NEW.claims < OLD.claims",
    "perk_bucket": "NEW.claimed < OLD.claimed OR NEW.members < OLD.members "
    "OR NEW.points_spent < OLD.points_spent",
    "claim_day": "NEW.claims < OLD.claims",
    "promo_code": "NEW.uses < OLD.uses",
    "campaign": "NEW.redemptions < OLD.redemptions OR NEW.points_granted < OLD.points_granted",
    "campaign_member": "NEW.redemptions < OLD.redemptions",
    "point_lot": "NEW.remaining > OLD.remaining",
    "ledger_summary": "NEW.entries < OLD.entries",
    "audit_chain": "NEW.seq < OLD.seq",
    # a coupon is used (active -> used, on one order); giving it back is a manager's
    "coupon": "(NEW.status <> OLD.status AND NOT (OLD.status = 'active' AND NEW.status = 'used'))"
    " OR (OLD.order_id IS NOT NULL AND NEW.order_id IS DISTINCT FROM OLD.order_id)",
}
GUARD_FUNCTION = f"""
CREATE OR REPLACE FUNCTION loyaltyctl_counter_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF pg_has_role(current_user, '{ADMINISTRATOR_GROUP}', 'USAGE')
       AND NOT pg_has_role(current_user, '{MANAGER_GROUP}', 'USAGE')
       AND NOT pg_has_role(current_user, '{OWNER_GROUP}', 'USAGE') THEN
        RAISE EXCEPTION 'an administrator may not move % back', TG_TABLE_NAME
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END $$"""


# --- statements ------------------------------------------------------------------------


def _q(name: str) -> str:
    """A quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


def _raw(session: Session):
    return session.connection().connection.driver_connection


def _execute(session: Session, sql: str, params: tuple = (), *, needs: str = "") -> list:
    """One statement through the driver; a privilege the login lacks becomes
    RolesUnavailable saying which."""
    try:
        cursor = _raw(session).execute(sql, params or None)  # no parameters: % is literal
    except Exception as exc:
        if getattr(exc, "sqlstate", None) == "42501" and needs:
            detail = str(exc).strip().splitlines()[0]
            raise RolesUnavailable(
                f"The database login may not {needs} ({detail}).", needs=needs
            ) from exc
        raise
    return cursor.fetchall() if cursor.description else []


def _scalar(session: Session, sql: str, params: tuple = ()):
    rows = _execute(session, sql, params)
    return rows[0][0] if rows else None


def ensure_group_roles(session: Session) -> None:
    """Make the three group roles where the cluster lacks them (race-safe: a concurrent
    maker's role is taken as made)."""
    missing = [
        name
        for name in GROUP_ROLES.values()
        if not _scalar(session, "SELECT 1 FROM pg_roles WHERE rolname = %s", (name,))
    ]
    for name in missing:
        # one of our three names: no quoting problem inside the block
        _execute(
            session,
            f"DO $$ BEGIN CREATE ROLE {_q(name)} NOLOGIN; "
            "EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$",
            needs=f"create the group role {name} (it needs CREATEROLE)",
        )


@dataclass(frozen=True)
class Login:
    name: str
    exists: bool
    can_login: bool = False
    superuser: bool = False
    groups: tuple[str, ...] = ()  # the staff group roles it is a member of


def login(session: Session, name: str) -> Login:
    rows = _execute(
        session,
        "SELECT r.rolcanlogin, r.rolsuper, "
        "ARRAY(SELECT g.rolname FROM pg_auth_members a JOIN pg_roles g ON g.oid = a.roleid "
        "      WHERE a.member = r.oid AND g.rolname = ANY(%s) ORDER BY g.rolname) "
        "FROM pg_roles r WHERE r.rolname = %s",
        (list(GROUP_ROLES.values()), name),
    )
    if not rows:
        return Login(name, exists=False)
    can_login, superuser, groups = rows[0]
    return Login(name, True, bool(can_login), bool(superuser), tuple(groups))


def is_group_role(name: str) -> bool:
    return name in GROUP_ROLES.values()


def create_login(session: Session, name: str) -> None:
    """A login role without a password: how it authenticates (password, peer, cert) is
    the server's business (pg_hba.conf, ALTER ROLE ... PASSWORD)."""
    _execute(
        session,
        f"CREATE ROLE {_q(name)} LOGIN",
        needs=f"create the login {name} (it needs CREATEROLE: have one who has it run "
        f"CREATE ROLE {name} LOGIN, then add the existing login)",
    )


def set_can_login(session: Session, name: str, can: bool) -> None:
    _execute(
        session,
        f"ALTER ROLE {_q(name)} {'LOGIN' if can else 'NOLOGIN'}",
        needs=f"change whether {name} can log in (it needs CREATEROLE)",
    )


def may_create_roles(session: Session) -> bool:
    """Whether the running login may create roles and change whether they log in."""
    return bool(
        _scalar(
            session,
            "SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user",
        )
    )


def owners_manage_groups(session: Session) -> None:
    """Owners grant and revoke the staff groups (ADMIN OPTION through loyalty_owner; an
    owner login holds loyalty_owner itself with ADMIN OPTION, see `grant_group`), so
    any owner can change the staff, not only the one with CREATEROLE."""
    for role in (MANAGER, ADMINISTRATOR):
        _execute(
            session,
            f"GRANT {_q(GROUP_ROLES[role])} TO {_q(OWNER_GROUP)} WITH ADMIN OPTION",
            needs=f"let owners manage {GROUP_ROLES[role]} (it needs CREATEROLE)",
        )


def grant_group(session: Session, name: str, role: str) -> None:
    group = GROUP_ROLES[role]
    admin = " WITH ADMIN OPTION" if role == OWNER else ""
    _execute(
        session,
        f"GRANT {_q(group)} TO {_q(name)}{admin}",
        needs=f"grant {group} (it needs CREATEROLE or ADMIN OPTION on {group})",
    )


def revoke_group(session: Session, name: str, role: str) -> None:
    group = GROUP_ROLES[role]
    _execute(
        session,
        f"REVOKE {_q(group)} FROM {_q(name)}",
        needs=f"revoke {group} (it needs CREATEROLE or ADMIN OPTION on {group})",
    )


def _database(session: Session) -> str:
    return _scalar(session, "SELECT current_database()")


# Only the database's owner grants CONNECT on it, and a grant is revoked only by its
# grantor: every staff login's CONNECT goes through this function, made at the first
# `staff add` by the database's owner and run with its rights, callable by owners only.
CONNECT_FUNCTION = "loyaltyctl_staff_connect"
_CONNECT_FUNCTION_SQL = f"""
CREATE OR REPLACE FUNCTION {CONNECT_FUNCTION}(login name, allow boolean) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
    IF allow THEN
        EXECUTE format('GRANT CONNECT ON DATABASE %I TO %I', current_database(), login);
    ELSE
        EXECUTE format('REVOKE CONNECT ON DATABASE %I FROM %I', current_database(), login);
    END IF;
END $$;
REVOKE ALL ON FUNCTION {CONNECT_FUNCTION}(name, boolean) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION {CONNECT_FUNCTION}(name, boolean) TO {_q(OWNER_GROUP)}
"""


def install_connect_function(session: Session) -> None:
    _execute(
        session,
        _CONNECT_FUNCTION_SQL,
        needs="hand out CONNECT on the database (run it as the database's owner)",
    )


def grant_connect(session: Session, name: str) -> None:
    _execute(
        session,
        f"SELECT {CONNECT_FUNCTION}(%s, true)",
        (name,),
        needs="let a login connect (only an owner may)",
    )


def revoke_connect(session: Session, name: str) -> None:
    _execute(
        session,
        f"SELECT {CONNECT_FUNCTION}(%s, false)",
        (name,),
        needs="stop a login connecting (only an owner may)",
    )


def close_to_public(session: Session) -> None:
    """Only staff logins (and the database's owner and superusers) may connect."""
    _execute(
        session,
        f"REVOKE CONNECT ON DATABASE {_q(_database(session))} FROM PUBLIC",
        needs="revoke CONNECT on the database from PUBLIC (only its owner or a superuser may)",
    )


# --- privileges ------------------------------------------------------------------------


def _grants(table: str, group: str, writes: Writes) -> list[str]:
    target = f"{_q(table)} TO {_q(group)}"
    statements = [f"GRANT SELECT ON {target}"]
    if writes.insert:
        statements.append(f"GRANT INSERT ON {target}")
    if writes.update == EVERY_COLUMN:
        statements.append(f"GRANT UPDATE ON {target}")
    elif writes.update:
        columns = ", ".join(_q(c) for c in writes.update)
        statements.append(f"GRANT UPDATE ({columns}) ON {target}")
    if writes.delete:
        statements.append(f"GRANT DELETE ON {target}")
    return statements


def _policy(policy: Policy) -> list[str]:
    table, name = _q(policy.table), _q(policy.name)
    sql = f"CREATE POLICY {name} ON {table} FOR {policy.command} TO {policy.roles}"
    if policy.using:
        sql += f" USING ({policy.using})"
    if policy.check:
        sql += f" WITH CHECK ({policy.check})"
    return [f"DROP POLICY IF EXISTS {name} ON {table}", sql]


def our_tables(session: Session) -> list[tuple[str, str]]:
    """(table, owner) of loyaltyctl's tables in the schema it works in."""
    ours = sorted({*metadata.tables, "alembic_version"})
    return [
        (name, owner)
        for name, owner in _execute(
            session,
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') "
            "AND c.relname = ANY(%s) ORDER BY c.relname",
            (ours,),
        )
    ]


# the analysts' views (migration 0010): every staff group reads them, loyalty_owner owns
# them (a view reads its tables with its owner's rights; staff read every table anyway)
ANALYST_VIEWS = (
    "v_balances",
    "v_claims",
    "v_coupons",
    "v_grants",
    "v_held_refunds",
    "v_ledger",
    "v_orders",
    "v_redemptions",
    "v_refunds",
)


def our_views(session: Session) -> list[tuple[str, str]]:
    """(view, owner) of the analysts' views in the schema it works in that the running
    login may hand over: a view made by another owner's `db upgrade` before views were
    handed over stays theirs (and unread by staff) until they, an owner of it or a
    superuser run `db upgrade` again -- unlike a table, it guards no money."""
    return [
        (name, owner)
        for name, owner in _execute(
            session,
            "SELECT c.relname, pg_get_userbyid(c.relowner) FROM pg_class c "
            "WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind = 'v' "
            "AND c.relname = ANY(%s) AND (pg_has_role(current_user, c.relowner, 'MEMBER') "
            "OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user)) "
            "ORDER BY c.relname",
            (list(ANALYST_VIEWS),),
        )
    ]


def apply_privileges(session: Session) -> None:
    """Owner, grants and row policies of every table, as `WRITES` and `POLICIES` say.
    Idempotent; run by an owner (or a superuser) in the command's transaction."""
    ensure_group_roles(session)
    schema = _q(_scalar(session, "SELECT current_schema()"))
    needs = "hand the tables to loyalty_owner (run it as their owner or a superuser)"
    _execute(session, f"GRANT USAGE, CREATE ON SCHEMA {schema} TO {_q(OWNER_GROUP)}", needs=needs)
    _execute(session, f"GRANT USAGE ON SCHEMA {schema} TO {STAFF_GROUPS}", needs=needs)
    statements: list[str] = []
    for table, owner in our_tables(session):
        if owner != OWNER_GROUP:
            statements.append(f"ALTER TABLE {_q(table)} OWNER TO {_q(OWNER_GROUP)}")
        # a column left out by a newer version loses its grant: start from nothing
        statements.append(f"REVOKE ALL ON {_q(table)} FROM {STAFF_GROUPS}")
        manager, administrator = WRITES.get(table, DEFAULT_WRITES)
        statements += _grants(table, MANAGER_GROUP, manager)
        statements += _grants(table, ADMINISTRATOR_GROUP, administrator)
    for view, owner in our_views(session):
        if owner != OWNER_GROUP:
            statements.append(f"ALTER VIEW {_q(view)} OWNER TO {_q(OWNER_GROUP)}")
        statements.append(f"REVOKE ALL ON {_q(view)} FROM {STAFF_GROUPS}")
        statements.append(f"GRANT SELECT ON {_q(view)} TO {STAFF_GROUPS}")
    for table in sorted({p.table for p in POLICIES}):
        statements.append(f"ALTER TABLE {_q(table)} ENABLE ROW LEVEL SECURITY")
    for policy in POLICIES:
        statements += _policy(policy)
    statements.append(GUARD_FUNCTION)
    for table, moves_back in MOVES_BACK.items():
        statements += [
            f"DROP TRIGGER IF EXISTS loyaltyctl_counter_guard ON {_q(table)}",
            f"CREATE TRIGGER loyaltyctl_counter_guard BEFORE UPDATE ON {_q(table)} "
            f"FOR EACH ROW WHEN ({moves_back}) EXECUTE FUNCTION loyaltyctl_counter_guard()",
        ]
    statements.append(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {STAFF_GROUPS}")
    _execute(session, ";\n".join(statements), needs=needs)
    statements = []
    for name, args in _execute(
        session,
        "SELECT p.proname, pg_get_function_identity_arguments(p.oid) FROM pg_proc p "
        "WHERE p.pronamespace = current_schema()::regnamespace AND p.proname LIKE 'loyaltyctl%%' "
        "AND p.proname <> %s AND pg_get_userbyid(p.proowner) <> %s",
        (CONNECT_FUNCTION, OWNER_GROUP),
    ):
        statements.append(f"ALTER FUNCTION {_q(name)}({args}) OWNER TO {_q(OWNER_GROUP)}")
    if statements:
        _execute(session, ";\n".join(statements), needs=needs)
