"""Generate batches of unique random promo codes, and export a campaign's codes.

A batch is made in chunks (CHUNK_SIZES codes). Each chunk is its own short write
transaction (the first one also records the batch, so a batch never exists without
codes): its codes go in through the driver's bulk path and the batch's
`generated` counter moves in the same transaction, so an interruption loses at most
the chunk in flight and `generate_codes(batch_id=...)` finishes the batch to exactly
`requested` codes. A code already taken (anywhere) is skipped by the database and
replaced by a new one in the same transaction, so a run never fails on a duplicate.
Memory does not grow with the batch: one chunk is held at a time.

Codes are stored only as a keyed hash (HMAC with the key file's lookup key, what
redeeming looks up) and encrypted (AES-GCM bound to the row's hash, for export). Before
a batch starts, the campaign's live codes of that random length plus the new ones must
keep a random guess's chance of hitting one at or below one in a million.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from loyaltyctl import crash
from loyaltyctl.crypto import KeyRing
from loyaltyctl.domain import promo as domain
from loyaltyctl.domain.errors import (
    Argument,
    CampaignArchived,
    TooManyCodes,
    UnknownBatch,
    UsageProblem,
)
from loyaltyctl.domain.values import utcnow
from loyaltyctl.store import audit
from loyaltyctl.store import promo as campaign_store
from loyaltyctl.store import promo_codes as store
from loyaltyctl.store.db import ConcurrentChange, Database, Session
from loyaltyctl.store.tables import PromoBatch

# Codes per chunk transaction. SQLite: every commit writes each index page the chunk
# touched to the WAL, and random hashes touch pages all over the index, so chunks of
# 10,000 ran 1.6x slower than chunks of 50,000 at 1,000,000 codes (measured); a chunk
# still holds the write lock for under a second. PostgreSQL: no difference measured,
# so the shorter transactions.
CHUNK_SIZES = {"sqlite": 50_000, "postgresql": 10_000}
EXPORT_PAGE = 5_000
PREFIX_MAX = 16  # promo_batch.prefix
BATCH_ID_LENGTH = 10
# a chunk gives up when this many rounds in a row found only taken codes (the random
# source would be broken: the guessing bound keeps the code space nearly empty)
MAX_BARREN_ROUNDS = 100

# The random source: os.urandom through `secrets` (tests replace it to force repeats).
random_bytes: Callable[[int], bytes] = secrets.token_bytes

# byte -> symbol: 256 is 8 x 32, so every symbol is equally likely
_SYMBOL_OF_BYTE = bytes(domain.ALPHABET.encode()[b % 32] for b in range(256))


@dataclass(frozen=True)
class Batch:
    """A batch of generated codes as it stands."""

    id: str
    campaign: str
    campaign_id: int
    requested: int
    generated: int
    length: int
    prefix: str  # as given (upper case, no spaces or dashes); codes hold it normalised
    uses_per_code: int
    completed_at: datetime | None = None

    @property
    def complete(self) -> bool:
        return self.generated >= self.requested


@dataclass(frozen=True)
class ExportedCode:
    code: str  # generated codes in display form, shared codes as written
    batch_id: str | None  # None for a shared code
    uses_allowed: int | None  # None = unlimited
    uses: int
    status: str  # available | used_up


@dataclass(frozen=True)
class ExportResult:
    campaign: str
    batch_id: str | None
    count: int
    available: int
    used_up: int


# --- generate ----------------------------------------------------------------------


def generate_codes(
    *,
    database: Database,
    keys: KeyRing,
    campaign: str,
    operator: str,
    count: int | None = None,
    length: int | None = None,
    prefix: str | None = None,
    uses_per_code: int | None = None,
    batch_id: str | None = None,
    chunk_size: int | None = None,
    on_batch: Callable[[Batch], None] | None = None,
    on_chunk: Callable[[Batch, list[str]], None] | None = None,
) -> domain.GenerateResult:
    """Generate ``count`` codes into a new batch of ``campaign``, or finish the batch
    ``batch_id`` (the other options then may be left out, or must match the batch).

    Runs its own transactions (one to start the batch, one per chunk). ``on_batch(batch)``
    is called once the batch is known; ``on_chunk(batch, codes)`` after each chunk
    commits, with the batch's new count and that chunk's codes (normalised).
    """
    chunk_size = chunk_size or CHUNK_SIZES["sqlite" if database.is_sqlite else "postgresql"]
    made_now = 0
    if batch_id is None:
        if count is None:
            raise UsageProblem(
                Argument("count"),
                " is required for a new batch (or give ",
                Argument("batch_id"),
                ").",
            )
        # the batch row and its first chunk commit together: a run that fails before
        # (a full disk, a kill) leaves no empty batch behind
        batch, codes = database.run(
            lambda s: _start_with_first_chunk(
                s,
                keys,
                chunk_size,
                campaign=campaign,
                count=count,
                length=domain.DEFAULT_LENGTH if length is None else length,
                prefix=prefix or "",
                uses_per_code=1 if uses_per_code is None else uses_per_code,
                operator=operator,
            )
        )
        made_now = len(codes)
        if on_batch is not None:
            on_batch(batch)
        if on_chunk is not None and codes:
            on_chunk(batch, codes)
    else:
        batch = database.run(
            lambda s: find_batch(
                session=s,
                campaign=campaign,
                batch_id=batch_id,
                count=count,
                length=length,
                prefix=prefix,
                uses_per_code=uses_per_code,
            ),
            write=False,
            rollback=True,
        )
        if on_batch is not None:
            on_batch(batch)
    return fill_batch(
        database=database,
        keys=keys,
        batch=batch,
        operator=operator,
        chunk_size=chunk_size,
        on_chunk=on_chunk,
        made_now=made_now,
    )


def _start_with_first_chunk(
    session: Session, keys: KeyRing, chunk_size: int, **request
) -> tuple[Batch, list[str]]:
    """One transaction: the batch checked and recorded, and its first chunk of codes."""
    batch = start_batch(session=session, **request)
    hasher, seal = keys.lookup_hasher(), keys.sealer()
    rows = _new_rows(min(chunk_size, batch.requested), batch, hasher, seal)
    generated, codes, completed_at = _write_chunk(
        session, batch, rows, hasher, seal, request["operator"]
    )
    crash.reached("generate-before-first-commit")
    return replace(batch, generated=generated, completed_at=completed_at), codes


def start_batch(
    *,
    session: Session,
    campaign: str,
    count: int,
    length: int = domain.DEFAULT_LENGTH,
    prefix: str = "",
    uses_per_code: int = 1,
    operator: str,
    now: datetime | None = None,
) -> Batch:
    """Check the request against the campaign and the guessing bound; record the batch."""
    now = now or utcnow()
    prefix = _checked_prefix(prefix)
    if count < 1:
        raise UsageProblem(Argument("count"), " must be at least 1.")
    if not domain.MIN_LENGTH <= length <= domain.MAX_LENGTH:
        raise UsageProblem(
            Argument("length"), f" must be between {domain.MIN_LENGTH} and {domain.MAX_LENGTH}."
        )
    if uses_per_code < 1:
        raise UsageProblem(Argument("uses_per_code"), " must be at least 1.")
    row = campaign_store.require(session, campaign)
    if store.lock_campaign(session, row.id) == "archived":
        raise CampaignArchived(f"Campaign {campaign} is archived; it gets no new codes.")
    _check_guessing_bound(campaign, count, length, store.live_codes_by_length(session, row.id))
    batch = Batch(
        id=_new_batch_id(),
        campaign=campaign,
        campaign_id=row.id,
        requested=count,
        generated=0,
        length=length,
        prefix=prefix,
        uses_per_code=uses_per_code,
    )
    store.insert_batch(
        session,
        {
            "id": batch.id,
            "campaign_id": row.id,
            "requested": count,
            "generated": 0,
            "length": length,
            "prefix": prefix,
            "uses_per_code": uses_per_code,
            "operator": operator,
            "created_at": now,
            "completed_at": None,
        },
    )
    audit.append_event(
        session,
        subject=f"campaign:{campaign}",
        action="campaign.generate",
        operator=operator,
        at=now,
        details={
            "batch": batch.id,
            "requested": count,
            "length": length,
            "prefix": prefix,
            "uses_per_code": uses_per_code,
        },
    )
    return batch


def find_batch(
    *,
    session: Session,
    campaign: str,
    batch_id: str,
    count: int | None = None,
    length: int | None = None,
    prefix: str | None = None,
    uses_per_code: int | None = None,
) -> Batch:
    """A batch of the campaign to finish; options given again must match how it began."""
    row = campaign_store.require(session, campaign)
    batch_row = store.get_batch(session, batch_id.strip().upper())
    if batch_row is None or batch_row.campaign_id != row.id:
        raise UnknownBatch(f"Campaign {campaign} has no batch {batch_id!r}.")
    if row.status == "archived" and batch_row.generated < batch_row.requested:
        raise CampaignArchived(f"Campaign {campaign} is archived; it gets no new codes.")
    batch = _batch(batch_row, campaign)
    given = {
        "count": (count, batch.requested),
        "length": (length, batch.length),
        "prefix": (None if prefix is None else _checked_prefix(prefix), batch.prefix),
        "uses_per_code": (uses_per_code, batch.uses_per_code),
    }
    for name, (value, started_with) in given.items():
        if value is not None and _comparable(value) != _comparable(started_with):
            option = Argument(name)
            raise UsageProblem(
                f"Batch {batch.id} was started with ",
                option,
                f" {started_with or '(none)'}; leave ",
                option,
                " out to finish it as it began.",
                batch=batch.id,
            )
    return batch


def fill_batch(
    *,
    database: Database,
    keys: KeyRing,
    batch: Batch,
    operator: str,
    chunk_size: int | None = None,
    on_chunk: Callable[[Batch, list[str]], None] | None = None,
    made_now: int = 0,
) -> domain.GenerateResult:
    """Generate chunks until the batch has all its codes (see the module docstring)."""
    chunk_size = chunk_size or CHUNK_SIZES["sqlite" if database.is_sqlite else "postgresql"]
    hasher, seal = keys.lookup_hasher(), keys.sealer()
    while not batch.complete:
        # the Python work outside the transaction: random codes, hashes, ciphertexts.
        # (Making the next chunk in a thread while this one is written measured no
        # faster on 2 busy cores.)
        rows = _new_rows(min(chunk_size, batch.requested - batch.generated), batch, hasher, seal)
        generated, codes, completed_at = database.run(
            lambda s, b=batch, r=rows: _write_chunk(s, b, r, hasher, seal, operator)
        )
        crash.reached("generate-after-chunk")
        made_now += len(codes)
        batch = replace(batch, generated=generated, completed_at=completed_at)
        if on_chunk is not None and codes:
            on_chunk(batch, codes)
    return domain.GenerateResult(
        campaign=batch.campaign,
        batch_id=batch.id,
        count=batch.generated,
        requested=batch.requested,
        generated_now=made_now,
    )


def _write_chunk(
    session: Session,
    batch: Batch,
    rows: list[tuple[str, str, str]],
    hasher: Callable[[str], str],
    seal: Callable[[str, str], str],
    operator: str,
) -> tuple[int, list[str], datetime | None]:
    """One chunk's transaction: as many new codes as the batch still lacks (at most the
    chunk), the taken ones replaced, and the counter moved. Returns (generated, the
    codes inserted, completed_at)."""
    now = utcnow()
    current = store.get_batch(session, batch.id, lock=True)
    was = current.generated
    need = min(len(rows), current.requested - was)
    if need <= 0:  # another process finished it
        return was, [], current.completed_at
    codes: list[str] = []
    pending = rows[:need]
    barren = 0
    while pending:
        taken = store.insert_codes(
            session,
            campaign_id=batch.campaign_id,
            batch_id=batch.id,
            uses_allowed=batch.uses_per_code,
            created_at=now,
            rows=[(code_hash, code_enc) for code_hash, code_enc, _ in pending],
        )
        codes.extend(code for code_hash, _, code in pending if code_hash not in taken)
        if not taken:
            break
        barren = barren + 1 if len(taken) == len(pending) else 0
        if barren >= MAX_BARREN_ROUNDS:
            raise RuntimeError("The random source keeps repeating codes that are taken.")
        pending = _new_rows(len(taken), batch, hasher, seal)
    completed_at = now if was + need == current.requested else None
    if not store.advance_batch(
        session, batch.id, was=was, now_at=was + need, completed_at=completed_at
    ):
        raise ConcurrentChange(f"batch {batch.id} moved while a chunk was written")
    if completed_at is not None:
        audit.append_event(
            session,
            subject=f"campaign:{batch.campaign}",
            action="campaign.batch_complete",
            operator=operator,
            at=now,
            details={"batch": batch.id, "generated": current.requested},
        )
    return was + need, codes, completed_at


def _new_rows(
    count: int, batch: Batch, hasher: Callable[[str], str], seal: Callable[[str, str], str]
) -> list[tuple[str, str, str]]:
    """``count`` distinct new codes as (code_hash, code_enc, code)."""
    rows = []
    for code in random_codes(domain.normalize(batch.prefix), batch.length, count):
        code_hash = hasher(code)
        rows.append((code_hash, seal(code, domain.code_binding(code_hash)), code))
    return rows


def random_codes(prefix: str, length: int, count: int) -> list[str]:
    """``count`` distinct codes, normalised: ``prefix`` + ``length`` random symbols + the
    check symbol (the format of ``domain.promo.generated_code``, made in bulk)."""
    codes: dict[str, None] = {}
    check = domain.check_symbol
    barren = 0
    while len(codes) < count:
        missing = count - len(codes)
        symbols = random_bytes(missing * length).translate(_SYMBOL_OF_BYTE).decode("ascii")
        for start in range(0, missing * length, length):
            body = prefix + symbols[start : start + length]
            codes[body + check(body)] = None
        barren = barren + 1 if len(codes) == count - missing else 0
        if barren >= MAX_BARREN_ROUNDS:
            raise RuntimeError("The random source keeps repeating codes.")
    return list(codes)


def display_code(code: str, prefix: str) -> str:
    """A generated code (normalised) for people: its batch's prefix as given, then
    groups of four (WIN-7KQ4-M2XA-H9Q for the code W1N7KQ4M2XAH9Q)."""
    shown = domain.display(code, prefix)
    return prefix + shown[len(prefix) :] if prefix else shown


def _checked_prefix(prefix: str) -> str:
    """The prefix as it is shown: upper case, no spaces or dashes. Codes hold it
    normalised (I and L read as 1, O as 0, as when a code is typed). Any letter A-Z and
    digit may be used: the random part after it never holds U, I, L or O."""
    shown = "".join(prefix.split()).replace("-", "").upper()
    bad = sorted({c for c in shown if not (c.isascii() and c.isalnum())})
    if bad:
        raise UsageProblem(
            Argument("prefix"),
            f" {prefix!r} has {', '.join(repr(c) for c in bad)}: use letters A-Z and digits.",
        )
    if len(shown) > PREFIX_MAX:
        raise UsageProblem(
            Argument("prefix"), f" may have at most {PREFIX_MAX} letters and digits."
        )
    return shown


def _comparable(value):
    return domain.normalize(value) if isinstance(value, str) else value


def _check_guessing_bound(campaign: str, count: int, length: int, live: dict[int, int]) -> None:
    """Refuse a batch that would let a random guess hit a live code of this length with
    a chance above one in a million; name the numbers and a length that would do."""
    most = domain.max_live_codes(length)
    already = live.get(length, 0)
    if already + count <= most:
        return
    longer = next(
        (
            n
            for n in range(length + 1, domain.MAX_LENGTH + 1)
            if live.get(n, 0) + count <= domain.max_live_codes(n)
        ),
        None,
    )
    chance = domain.guess_probability(already + count, length)
    message = (
        f"{count:,} codes of length {length} would make {already + count:,} live codes of that "
        f"length in campaign {campaign}: a random guess would hit one with a chance of "
        f"{chance:.2g}, above one in a million. At most {most:,} may be live "
        f"({already:,} are)."
    )
    raise TooManyCodes(
        message,
        count=count,
        length=length,
        live=already,
        max_live=most,
        suggested_length=longer,
    )


def _new_batch_id() -> str:
    return "B" + "".join(secrets.choice(domain.ALPHABET) for _ in range(BATCH_ID_LENGTH))


def _batch(row: PromoBatch, campaign: str) -> Batch:
    return Batch(
        id=row.id,
        campaign=campaign,
        campaign_id=row.campaign_id,
        requested=row.requested,
        generated=row.generated,
        length=row.length,
        prefix=row.prefix,
        uses_per_code=row.uses_per_code,
        completed_at=row.completed_at,
    )


# --- export ------------------------------------------------------------------------


def export_codes(
    *,
    session: Session,
    keys: KeyRing,
    campaign: str,
    emit: Callable[[Sequence[ExportedCode]], None],
    batch_id: str | None = None,
    page_size: int = EXPORT_PAGE,
) -> ExportResult:
    """Hand the campaign's codes (shared ones too, unless one batch is asked for),
    decrypted, to ``emit`` a page at a time, in the order they were made."""
    row = campaign_store.require(session, campaign)
    if batch_id is not None:
        batch_id = batch_id.strip().upper()
        batch_row = store.get_batch(session, batch_id)
        if batch_row is None or batch_row.campaign_id != row.id:
            raise UnknownBatch(f"Campaign {campaign} has no batch {batch_id!r}.")
    open_ = keys.opener()
    count = used_up = 0
    for page in store.code_pages(session, row.id, batch_id, page_size):
        codes = []
        for code_batch, code_hash, code_enc, uses_allowed, uses, prefix in page:
            code = open_(code_enc, domain.code_binding(code_hash))
            spent = uses_allowed is not None and uses >= uses_allowed
            codes.append(
                ExportedCode(
                    code=code if code_batch is None else display_code(code, prefix),
                    batch_id=code_batch,
                    uses_allowed=uses_allowed,
                    uses=uses,
                    status="used_up" if spent else "available",
                )
            )
            used_up += spent
        count += len(codes)
        emit(codes)
    return ExportResult(
        campaign=campaign,
        batch_id=batch_id,
        count=count,
        available=count - used_up,
        used_up=used_up,
    )
