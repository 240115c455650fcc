"""The idempotency helper every keyed change uses: look-up, replay, conflict, keys held
by another kind, registration, and the bulk look-up of imports."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from loyaltyctl.domain.errors import KeyConflict
from loyaltyctl.services import idempotency
from loyaltyctl.services.claims import CLAIM_KEYS
from loyaltyctl.services.discounts.grants import GRANT_KEYS
from loyaltyctl.services.idempotency import KeyBatch, KeyCheck, KeyedKind, KeyStatus, check
from loyaltyctl.services.ledger import ENTRY_KEYS, change_points
from loyaltyctl.services.promo import REDEMPTION_KEYS
from loyaltyctl.store import idempotency as store
from loyaltyctl.store.idempotency import Holder
from loyaltyctl.store.tables import IdempotencyKey


def credit(run, key, amount=5, member="A"):
    return run(change_points, member=member, amount=amount, reason="r", operator="t", key=key)


def test_every_keyed_kind_has_a_table_to_look_its_keys_up_in():
    keyed = (ENTRY_KEYS, CLAIM_KEYS, REDEMPTION_KEYS, GRANT_KEYS)
    assert {k.name for k in keyed} == set(store.HOLDERS)
    with pytest.raises(ValueError, match="coupon"):
        KeyedKind("coupon", same_kind_conflict="another coupon ({ref})")


OWN, OTHER = Holder("claim", "C1", "d"), Holder("entry", "7", "d")


@pytest.mark.parametrize(
    ("holders", "status", "holder"),
    [
        ([], KeyStatus.NEW, None),
        ([OWN], KeyStatus.REPLAY, OWN),
        ([Holder("claim", "C1", "other")], KeyStatus.CONFLICT, Holder("claim", "C1", "other")),
        ([OTHER], KeyStatus.HELD_BY_OTHER_KIND, OTHER),
        # a key held by several kinds (databases older than the key table): its own first
        ([OTHER, OWN], KeyStatus.REPLAY, OWN),
    ],
)
def test_check_compares_the_digest_with_the_holder_of_the_same_kind(holders, status, holder):
    assert check(CLAIM_KEYS, "d", holders) == KeyCheck(status, holder)


def test_original_is_none_for_a_free_key_or_no_key(run):
    assert run(idempotency.original, kind=ENTRY_KEYS, key=None, digest="d") is None
    assert run(idempotency.original, kind=ENTRY_KEYS, key="free", digest="d") is None


def test_original_names_the_change_to_replay_or_refuses(run, member):
    member("A")
    first = credit(run, "k1")
    digest = run(lambda session: store.holders(session, ["k1"]))["k1"][0].request_hash
    ref = run(idempotency.original, kind=ENTRY_KEYS, key="k1", digest=digest)
    assert ref == str(first.entry_id)
    with pytest.raises(KeyConflict) as caught:
        run(idempotency.original, kind=ENTRY_KEYS, key="k1", digest="changed")
    assert caught.value.message == (
        f"The key 'k1' was already used for a different change (entry {first.entry_id}); "
        "nothing was changed."
    )
    with pytest.raises(KeyConflict) as caught:  # the same content, another kind
        run(idempotency.original, kind=CLAIM_KEYS, key="k1", digest=digest)
    assert caught.value.message == (
        f"The key 'k1' was already used for entry {first.entry_id}; nothing was changed."
    )


def test_a_replayed_change_is_the_original_and_changes_nothing(run, member):
    member("A")
    first = credit(run, "k1")
    again = credit(run, "k1")
    assert again.replayed and not first.replayed
    assert (again.entry_id, again.amount, again.balance) == (first.entry_id, 5, 5)
    assert credit(run, None).balance == 10


def test_register_takes_the_key_in_the_key_table(run, db, member):
    member("A")
    first = credit(run, "k1")
    run(idempotency.register, kind=CLAIM_KEYS, key=None, ref="X")  # no key: nothing taken
    with db.transaction() as session:
        rows = session.execute(select(IdempotencyKey)).scalars().all()
        assert [(r.key, r.kind, r.ref) for r in rows] == [("k1", "entry", str(first.entry_id))]


def test_holders_looks_up_many_keys_across_kinds(run, member):
    member("A")
    entries = {key: credit(run, key).entry_id for key in ("k-0", "k-950", "k-1999")}
    keys = [f"k-{n}" for n in range(2000)]  # more than one statement's worth
    found = run(lambda session: store.holders(session, keys))
    assert {key: [(h.kind, h.ref) for h in held] for key, held in found.items()} == {
        key: [("entry", str(entry_id))] for key, entry_id in entries.items()
    }
    assert run(lambda session: store.holders(session, keys, kinds=("claim",))) == {}


def test_a_batch_takes_new_keys_for_the_rest_of_its_chunk(run, member):
    member("A")
    credit(run, "held")

    def work(session):
        batch = KeyBatch(session, CLAIM_KEYS)
        batch.look_up(["held", "new", "new", "new"])
        outcomes = [
            batch.check("held", "d").status,
            batch.check("new", "d1").status,
            batch.check("new", "d1").status,
            batch.check("new", "d2").status,
        ]
        batch.look_up(["new"])  # the next chunk: its change was never written
        return outcomes + [batch.check("new", "d1").status], batch.kinds

    outcomes, kinds = run(work)
    assert outcomes == [
        KeyStatus.HELD_BY_OTHER_KIND,
        KeyStatus.NEW,
        KeyStatus.REPLAY,
        KeyStatus.CONFLICT,
        KeyStatus.NEW,
    ]
    assert kinds == {"claim", "entry"}  # redemptions hold no keys: not looked at


def test_a_batch_registers_its_keys(run, db):
    def work(session):
        batch = KeyBatch(session, ENTRY_KEYS)
        assert batch.kinds == {"entry"}
        batch.register({"a": 1, "b": 2})

    run(work)
    with db.transaction() as session:
        rows = session.execute(select(IdempotencyKey).order_by(IdempotencyKey.key)).scalars()
        assert [(r.key, r.kind, r.ref) for r in rows] == [("a", "entry", "1"), ("b", "entry", "2")]
