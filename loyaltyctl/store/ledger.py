"""Writing and reading the ledger: the one place that moves points.

Every change follows the same path, for single commands and bulk imports:
lock the member row, compute the entry (and its hash in the member's chain),
move the cached balance with a conditional UPDATE that the database refuses
if the balance would go below zero, insert the entry, adjust lots.
"""

from __future__ import annotations

from bisect import insort
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, NamedTuple

from loyaltyctl.domain.chain import ledger_hash
from loyaltyctl.store.db import ConcurrentChange
from loyaltyctl.store.driver import (
    IdBlock,
    bulk_insert,
    fetch_one,
    insert_row,
    prepare_bulk,
    reserve_ids,
    run_many,
    select_in,
    stamp,
    stamp_reader,
    update_many,
)

if TYPE_CHECKING:  # the driver's alone: a claim runs it without SQLAlchemy
    from sqlmodel import Session

# column order of the bulk inserts (the driver's executemany or COPY): the tables'
# (tests/store/test_driver.py checks them against `tables.LedgerEntry` and `PointLot`)
_ENTRY = (
    "id member_id seq at kind amount pending_amount balance_after reason operator idem_key "
    "request_hash expires_at pending_until rule event_id order_id claim_id prev_hash hash"
)
ENTRY_COLUMNS = tuple(_ENTRY.split())
_LOT = "id member_id entry_id amount remaining expires_at matures_at matured"
LOT_COLUMNS = tuple(_LOT.split())
# what a transaction needs of a member to add entries to its chain (member columns)
STATE_COLUMNS = ("id", "external_id", "balance", "pending", "ledger_seq", "ledger_head")


@dataclass(slots=True)
class MemberState:
    """A locked member's running figures while a transaction adds entries."""

    id: int
    external_id: str
    balance: int
    pending: int
    seq: int
    head: str
    # expiring, spendable lots: [lot_id, remaining, expires_at], soonest first (loaded lazily)
    lots: list[list] | None = None
    dirty: bool = False
    base_balance: int = 0
    base_pending: int = 0
    base_seq: int = 0
    lot_changes: dict[int, int] | None = None  # lot id -> points taken
    # kind -> [points (amount + pending_amount), entries] added in this transaction: the
    # member's own, or the totals of its summary shard shared by many (`share_summary`)
    kinds: dict[str, list[int]] | None = None


def lock_members(session: Session, member_ids: Iterable[int]) -> dict[int, MemberState]:
    """Lock member rows (PostgreSQL: FOR UPDATE in id order; SQLite holds the write lock)."""
    return lock_members_with(session, member_ids)[0]


def lock_members_with(
    session: Session, member_ids: Iterable[int], extra: tuple[str, ...] = ()
) -> tuple[dict[int, MemberState], dict[int, tuple]]:
    """`lock_members`, also reading the ``extra`` member columns (as the driver gives
    them) in the same statement: (states, member id -> extra values).

    Through the driver: a chunk of events locks thousands of members, and building and
    reading the statement through SQLAlchemy costs more than the database's work."""
    states: dict[int, MemberState] = {}
    extras: dict[int, tuple] = {}
    columns = ", ".join(STATE_COLUMNS + tuple(extra))
    width = len(STATE_COLUMNS)
    sql = f"SELECT {columns} FROM member WHERE id {{in_list}} ORDER BY id"
    for row in select_in(session, sql, sorted(set(member_ids)), lock=True):
        states[row[0]] = _state(row)
        if extra:
            extras[row[0]] = tuple(row[width:])
    return states, extras


def lock_member(
    session: Session, external_id: str, extra: tuple[str, ...] = ()
) -> tuple[MemberState, tuple] | None:
    """`lock_members_with` for one member named by its external id, in one statement (a
    claim): (state, the ``extra`` values), or None when no member has that id."""
    columns = ", ".join(STATE_COLUMNS + tuple(extra))
    sql = f"SELECT {columns} FROM member WHERE external_id = {{p}}"
    row = fetch_one(session, sql, (external_id,), lock=True)
    return None if row is None else (_state(row), tuple(row[len(STATE_COLUMNS) :]))


def _state(row: tuple) -> MemberState:
    """A member's state from a row of `STATE_COLUMNS` (and more), as locked."""
    state = MemberState(*row[: len(STATE_COLUMNS)])
    state.base_balance, state.base_pending, state.base_seq = row[2], row[3], row[4]
    return state


SPENDABLE_LOTS_SQL = (
    "SELECT member_id, id, remaining, expires_at FROM point_lot WHERE member_id {in_list} "
    "AND remaining > 0 AND expires_at IS NOT NULL AND matured "
    "ORDER BY member_id, expires_at, id"
)


def prefetch_lots(session: Session, states: Iterable[MemberState]) -> None:
    """Load the spendable, expiring lots of every member that has none loaded yet
    (one query per 900 members, through the driver: every debit asks, a claim too):
    [lot id, remaining, expires_at], soonest first."""
    missing = {s.id: s for s in states if s.lots is None}
    for state in missing.values():
        state.lots = []
    read = stamp_reader(session)
    for member_id, lot_id, remaining, expires_at in select_in(
        session, SPENDABLE_LOTS_SQL, sorted(missing)
    ):
        moment = read(expires_at) if read is not None else expires_at.astimezone(UTC)
        missing[member_id].lots.append([lot_id, remaining, moment])


def load_spendable_lots(session: Session, state: MemberState) -> list[list]:
    prefetch_lots(session, [state])
    return state.lots


def track_new_lot(state: MemberState, lot_id: int, remaining: int, expires_at: datetime) -> None:
    """A lot created in this transaction becomes spendable at once (its place by expiry)."""
    insort(state.lots, [lot_id, remaining, expires_at], key=lambda lot: (lot[2], lot[0]))


def build_entry(
    state: MemberState,
    *,
    entry_id: int | None,
    at: datetime,
    kind: str,
    amount: int,
    pending_amount: int = 0,
    reason: str | None,
    operator: str,
    idem_key: str | None = None,
    request_hash: str | None = None,
    expires_at: datetime | None = None,
    pending_until: datetime | None = None,
    rule: str | None = None,
    event_id: str | None = None,
    order_id: str | None = None,
    claim_id: str | None = None,
) -> dict:
    """The next entry of this member's chain; advances the in-memory state.

    The caller has checked that the balance allows it; the database checks again.
    """
    state.seq += 1
    state.balance += amount
    state.pending += pending_amount
    row = {
        "id": entry_id,
        "member_id": state.id,
        "seq": state.seq,
        "at": at,
        "kind": kind,
        "amount": amount,
        "pending_amount": pending_amount,
        "balance_after": state.balance,
        "reason": reason,
        "operator": operator,
        "idem_key": idem_key,
        "request_hash": request_hash,
        "expires_at": expires_at,
        "pending_until": pending_until,
        "rule": rule,
        "event_id": event_id,
        "order_id": order_id,
        "claim_id": claim_id,
        "prev_hash": state.head,
    }
    row["hash"] = ledger_hash(state.head, row)
    state.head = row["hash"]
    state.dirty = True
    if state.kinds is None:
        state.kinds = {}
    totals = state.kinds.setdefault(kind, [0, 0])
    totals[0] += amount + pending_amount
    totals[1] += 1
    return row


def take_from_lots(session: Session, state: MemberState, points: int) -> None:
    """Spend from the lots that expire soonest; the rest comes from points that never expire."""
    lots = load_spendable_lots(session, state)
    while points > 0 and lots:
        lot = lots[0]
        used = min(points, lot[1])
        lot[1] -= used
        points -= used
        if state.lot_changes is None:
            state.lot_changes = {}
        state.lot_changes[lot[0]] = state.lot_changes.get(lot[0], 0) + used
        if lot[1] == 0:
            lots.pop(0)


SAVE_MEMBER_SQL = (
    "UPDATE member SET balance = balance + {v.d_balance}, pending = pending + {v.d_pending}, "
    "ledger_seq = {v.new_seq}, ledger_head = {v.new_head}, updated_at = {v.moment} {values} "
    "WHERE id = {v.member} AND ledger_seq = {v.base_seq} "
    "AND balance + {v.d_balance} >= 0 AND pending + {v.d_pending} >= 0"
)
SAVE_MEMBER_VALUES = (
    ("d_balance", "bigint"),
    ("d_pending", "bigint"),
    ("new_seq", "integer"),
    ("new_head", "text"),
    ("moment", "timestamptz"),
    ("member", "bigint"),
    ("base_seq", "integer"),
)


def save_member_states(
    session: Session, states: Iterable[MemberState], now: datetime, *, summary: bool = True
) -> None:
    """Write the moved figures back: one conditional UPDATE per member, sent in bulk.

    The database applies the change relative to what it holds and refuses it when
    the balance would go below zero or the chain moved underneath us (besides the
    CHECK constraints); a refused row aborts the whole transaction.
    """
    moment = stamp(session, now)
    changed = [s for s in states if s.dirty]
    if not changed:
        return
    params = [(*state_change(s), moment, s.id, s.base_seq) for s in changed]
    write_member_changes(session, SAVE_MEMBER_SQL, SAVE_MEMBER_VALUES, params, changed, summary)


def state_change(s: MemberState) -> tuple[int, int, int, str]:
    """(balance moved, pending moved, new seq, new head): the state's values of
    `SAVE_MEMBER_SQL` before its moment, member and base seq."""
    return s.balance - s.base_balance, s.pending - s.base_pending, s.seq, s.head


def write_member_changes(
    session: Session,
    sql: str,
    columns: tuple[tuple[str, str], ...],
    params: list[tuple],
    states: list[MemberState],
    summary: bool = True,
) -> None:
    """`save_member_states`' UPDATE (or one setting more columns in the same way, with
    ``params`` a row per state), refused as a whole when a row is not updated; then the
    states are saved as they are now (and their entries added to the summary)."""
    updated = update_many(session, sql, columns, params)
    if updated != len(params):
        raise ConcurrentChange(f"{len(params) - updated} member(s) changed during the transaction")
    for s in states:
        s.base_balance, s.base_pending, s.base_seq, s.dirty = s.balance, s.pending, s.seq, False
    if summary:  # else the caller calls save_summary itself, later (see claims)
        save_summary(session, states)


SUMMARY_SHARDS = 16
SUMMARY_SQL = (
    "INSERT INTO ledger_summary (shard, kind, points, entries) VALUES ({p}, {p}, {p}, {p}) "
    "ON CONFLICT (shard, kind) DO UPDATE SET points = ledger_summary.points + excluded.points, "
    "entries = ledger_summary.entries + excluded.entries"
)


def save_summary(session: Session, states: Iterable[MemberState]) -> None:
    """Add the entries these states made to `ledger_summary`, one upsert per (shard, kind):
    the totals `stats overview` reads, kept in the same transaction as the entries."""
    added: dict[tuple[int, str], list[int]] = {}
    for state in states:
        for kind, (points, entries) in (state.kinds or {}).items():
            totals = added.setdefault((state.id % SUMMARY_SHARDS, kind), [0, 0])
            totals[0] += points
            totals[1] += entries
        state.kinds = None
    if added:
        # sorted: concurrent transactions take the shard rows in one order (no deadlock)
        run_many(session, SUMMARY_SQL, [(k[0], k[1], v[0], v[1]) for k, v in sorted(added.items())])


def summary_shards() -> list[dict[str, list[int]]]:
    """Per-kind totals for each shard of `ledger_summary`, for `share_summary`."""
    return [{} for _ in range(SUMMARY_SHARDS)]


def share_summary(states: Iterable[MemberState], shards: list[dict[str, list[int]]]) -> None:
    """Make these states add their entries to their shard's totals in ``shards`` (a bulk
    import holding many members keeps 16 small dicts, not one a member). Their figures
    are then written with ``save_member_states(..., summary=False)`` and the totals with
    `save_shared_summary`."""
    for state in states:
        state.kinds = shards[state.id % SUMMARY_SHARDS]


def save_shared_summary(session: Session, shards: list[dict[str, list[int]]]) -> None:
    """Add the totals of `share_summary`'s shards to `ledger_summary`, and empty them."""
    rows = []
    for shard, kinds in enumerate(shards):
        rows.extend((shard, kind, points, entries) for kind, (points, entries) in kinds.items())
        kinds.clear()
    if rows:
        # sorted, as in save_summary: concurrent transactions take the rows in one order
        run_many(session, SUMMARY_SQL, sorted(rows))


SPEND_LOTS_SQL = (
    "UPDATE point_lot SET remaining = remaining - {v.used} {values} "
    "WHERE id = {v.lot} AND remaining >= {v.used}"
)
SPEND_LOTS_VALUES = (("used", "bigint"), ("lot", "bigint"))


def save_lot_changes(session: Session, states: Iterable[MemberState]) -> None:
    """What spending took from lots, as conditional UPDATEs sent in bulk."""
    params = []
    for s in states:
        params.extend((used, lot_id) for lot_id, used in (s.lot_changes or {}).items())
        s.lot_changes = None
    if not params:
        return
    if update_many(session, SPEND_LOTS_SQL, SPEND_LOTS_VALUES, params) != len(params):
        raise ConcurrentChange("a lot changed during the transaction")


def insert_entry(session: Session, row: dict) -> int:
    """Insert one entry; returns its id."""
    return insert_row(session, "ledger_entry", row, returning_id=True)


def lot_expiries(session: Session, lot_ids: list[int]) -> dict[int, datetime]:
    """lot id -> expires_at, for those of these lots that expire."""
    read = stamp_reader(session)
    sql = "SELECT id, expires_at FROM point_lot WHERE id {in_list} AND expires_at IS NOT NULL"
    return {
        lot_id: read(expires_at) if read is not None else expires_at.astimezone(UTC)
        for lot_id, expires_at in select_in(session, sql, sorted(lot_ids))
    }


def insert_lot(session: Session, row: dict) -> None:
    insert_row(session, "point_lot", row)


class EntryFigures(NamedTuple):
    """What a replay reports of the entry a keyed change made."""

    id: int
    member_id: int
    amount: int
    pending_amount: int
    balance_after: int


def entry_by_id(session: Session, entry_id: int) -> EntryFigures:
    row = fetch_one(
        session,
        "SELECT id, member_id, amount, pending_amount, balance_after FROM ledger_entry "
        "WHERE id = {p}",
        (entry_id,),
    )
    return EntryFigures(*row)


# --- bulk writes of entries and lots (ids reserved first, so lots can name their entries) ---


def entry_ids(session: Session) -> IdBlock:
    """Ids for ledger entries written later by `insert_entries`, handed out in blocks."""
    return IdBlock(session, "ledger_entry")


def lot_ids(session: Session) -> IdBlock:
    """Ids for lots written later by `insert_lots`, handed out in blocks."""
    return IdBlock(session, "point_lot")


def reserve_entry_ids(session: Session, count: int) -> list[int]:
    return reserve_ids(session, "ledger_entry", count)


def insert_entries(session: Session, rows: list[dict]) -> None:
    """Entries built by `build_entry` (with ids), through the driver's bulk path."""
    bulk_insert(session, "ledger_entry", ENTRY_COLUMNS, rows)


def insert_lots(session: Session, rows: list[dict]) -> None:
    bulk_insert(session, "point_lot", LOT_COLUMNS, rows)


def prepare_bulk_write(session: Session) -> None:
    """Before a bulk write: keep key look-ups on their indexes (see `driver.prepare_bulk`)."""
    prepare_bulk(session)


# --- lots that mature or expire (`maintain run`; what is due: `store.ledger_rows`) -----------


def mature_lots(session: Session, lots: list[tuple[int, int]]) -> None:
    """Mark pending lots matured: (lot id, the points it keeps to expire later). Refuses
    the transaction (retried) when one matured meanwhile."""
    if not lots:
        return
    sql = "UPDATE point_lot SET matured = {p}, remaining = {p} WHERE id = {p} AND NOT matured"
    params = [(True, remaining, lot_id) for lot_id, remaining in lots]
    if run_many(session, sql, params) != len(params):
        raise ConcurrentChange("a lot matured during maintenance")


def expire_lots(session: Session, lots: list[tuple[int, int]]) -> None:
    """Empty expired lots: (lot id, the points it held when read). Refuses the
    transaction (retried) when one changed meanwhile."""
    if not lots:
        return
    sql = "UPDATE point_lot SET remaining = 0 WHERE id = {p} AND remaining = {p}"
    if run_many(session, sql, [(lot_id, held) for lot_id, held in lots]) != len(lots):
        raise ConcurrentChange("a lot changed during maintenance")
