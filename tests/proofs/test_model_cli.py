"""A hypothesis state machine drives the tool (through the CLI runner, on SQLite and
PostgreSQL) against a plain in-memory model: credits with idempotency keys (replayed
and altered), write-offs, points imports (replayed and altered), claims and their
cancellation, promo redemptions, pending credits that mature and expiring credits that
expire as the clock moves, key rotation, coupons claimed, used (replayed, refused on
another order) and released, discounts granted and revoked by hand, and members
forgotten (their points, claims, coupons and grants keep working). After every step
each member's balance and pending points, each perk's claims, the campaign's
redemptions, each coupon's status and order, the discount's open grants and holders,
and who is forgotten equal the model's, and `audit verify` passes.

Each run (per database) first takes TOUR, a scripted sequence through every rule and
every outcome of it (a refusal, a replay, a lot that matures, one that expires, ...) with
the same rule methods and invariants, then MODEL_EXAMPLES random sequences (rules that
need state - a key, a file, a claim, a used coupon - wait for it by precondition). Each
rule records what it did (RAN) and the test fails if any rule or outcome never ran: a
new rule needs a TOUR step and its outcomes in OUTCOMES.
CI (`slow`): MODEL_EXAMPLES=6 sequences of up to 12 steps, derandomized, the same each
time (~1-1.5 min per database);
`MODEL_EXAMPLES=0` runs the tour alone (~30 s per database);
a long run (more than 6: random sequences of up to 25 steps):
`MODEL_EXAMPLES=300 python -m pytest tests/proofs/test_model_cli.py -p no:xdist`.
"""

from __future__ import annotations

import itertools
import json
import os
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    INVARIANT_MARKER,
    RULE_MARKER,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from tests.cli.helpers import write

EXAMPLES = int(os.environ.get("MODEL_EXAMPLES", "6"))  # 0: the tour alone
CI = EXAMPLES <= 6  # derandomized: the same sequences each time
# hypothesis's first sequences repeat one rule: more, shorter ones vary more in CI's time
STEPS = 12 if CI else 25
_runs = itertools.count()
RAN: Counter[str] = Counter()  # rule (and rule:outcome) -> times it did something

PRICE, SUPPLY, PER_MEMBER = 100, 3, 2
BONUS, INVENTORY, REDEMPTIONS_PER_MEMBER = 25, 4, 2
MEMBERS = ("A", "B", "C")  # claim, redeem, credit and write off
EXPIRING = "E"  # credits that expire or mature, write-offs; never claims
COUPON_PRICE = 30  # a $5 coupon perk, unlimited
PICK = st.integers(0, 255)  # which of the existing keys, files, claims or coupons (modulo)
CART = {"items": [{"sku": "HAT", "price": "30.00", "quantity": 1}], "shipping": "4.90"}


def choose(items, pick: int):
    """The ``pick``-th (modulo) of ``items`` in sorted order: the same state, the same choice."""
    ordered = sorted(items)
    return ordered[pick % len(ordered)]


class Tool(RuleBasedStateMachine):
    """``cli`` and ``folder`` are set by the test before the machine runs."""

    cli = None
    folder = None

    @initialize()
    def program(self):
        self.n = next(_runs)
        self.now = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(days=400 * self.n)
        self._clock()
        self.perk, self.campaign = f"mug-{self.n}", f"spring-{self.n}"
        self.coupon_perk, self.discount = f"five-off-{self.n}", f"vip-{self.n}"
        self.code = f"SPRING{self.n}X"
        program = (
            f'[[perk]]\nslug = "{self.perk}"\nname = "Mug"\nprice = {PRICE}\n'
            f"max_supply = {SUPPLY}\nmax_per_member = {PER_MEMBER}\n"
            '[perk.redemption]\ntype = "code"\nvalue = "MUG-SECRET"\n\n'
            f'[[campaign]]\nslug = "{self.campaign}"\nname = "Spring"\npoints = {BONUS}\n'
            f"per_member = {REDEMPTIONS_PER_MEMBER}\n"
            f'[[campaign.code]]\ncode = "{self.code}"\ninventory = {INVENTORY}\n\n'
            f'[[perk]]\nslug = "{self.coupon_perk}"\nname = "$5 off"\nprice = {COUPON_PRICE}\n'
            'category = "discount"\n[perk.redemption]\ntype = "coupon"\n'
            '[perk.coupon]\nkind = "fixed"\namount = "5.00"\n\n'
            f'[[discount]]\nslug = "{self.discount}"\nname = "VIP"\npercent = 10\n'
            'scopes = [{ type = "store" }]\ntriggers = [{ type = "admin" }]\n'
        )
        self.ok("apply", str(write(self.folder / f"program-{self.n}.toml", program)))
        self.balance = {m: 0 for m in (*MEMBERS, EXPIRING)}
        self.pending = {EXPIRING: 0}
        self.lots: list[dict] = []  # the expiring member's lots, oldest first
        self.claims: dict[str, str] = {}  # active claim id -> member
        self.redeemed = {m: 0 for m in MEMBERS}
        self.keys: dict[str, tuple[str, int]] = {}  # key -> (member, amount)
        self.imports: list[str] = []  # points files applied
        self.coupons: dict[str, dict] = {}  # code -> {"member", "status", "order"}
        self.orders = itertools.count(1)
        self.grants = {m: 0 for m in MEMBERS}  # open grants of the discount by hand
        self.forgotten: set[str] = set()
        self.cart = write(self.folder / "cart.json", json.dumps(CART))
        for member in (*MEMBERS, EXPIRING):
            self.ok("member", "add", self.id(member), "--name", f"Member {member}")

    # --- helpers ------------------------------------------------------------------------

    def id(self, member: str) -> str:
        return f"M{self.n}-{member}"

    def _clock(self):
        os.environ["LOYALTYCTL_CLOCK"] = self.now.strftime("%Y-%m-%dT%H:%M:%SZ")

    def ran(self, rule: str, outcome: str | None = None):
        RAN[rule] += 1
        if outcome:
            RAN[f"{rule}:{outcome}"] += 1

    def call(self, *args):
        result = self.cli(*args)
        output = result.stdout + result.stderr
        assert "Unexpected" not in output and "Traceback" not in output, output
        return result

    def ok(self, *args):
        result = self.call(*args)
        assert result.exit_code == 0, (args, result.stderr)
        return result

    # --- rules ----------------------------------------------------------------------------

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(1, 300), keyed=st.booleans())
    def credit(self, member, amount, keyed):
        key = f"k{self.n}-{len(self.keys)}" if keyed else None
        self.ok(
            "points", "credit", self.id(member), str(amount), "--reason", "model",
            *(["--key", key] if key else []),
        )  # fmt: skip
        self.balance[member] += amount
        if key:
            self.keys[key] = (member, amount)
        self.ran("credit", "keyed" if key else "plain")

    @precondition(lambda self: self.keys)
    @rule(pick=PICK, altered=st.booleans())
    def credit_again_with_a_key(self, pick, altered):
        key = choose(self.keys, pick)
        member, amount = self.keys[key]
        result = self.call(
            "points", "credit", self.id(member), str(amount + (1 if altered else 0)),
            "--reason", "model", "--key", key, "--json",
        )  # fmt: skip
        if altered:
            assert result.exit_code == 1, result.stderr  # the key is taken by other content
        else:
            assert result.exit_code == 0 and result.json["replayed"] is True
        self.ran("credit_again_with_a_key", "altered" if altered else "replayed")

    @rule(member=st.sampled_from(MEMBERS), amount=st.integers(1, 300))
    def write_off(self, member, amount):
        result = self.call("points", "write-off", self.id(member), str(amount), "--reason", "m")
        if amount <= self.balance[member]:
            assert result.exit_code == 0, result.stderr
            self.balance[member] -= amount
            self.ran("write_off", "done")
        else:
            assert result.exit_code == 1, result.stderr
            self.ran("write_off", "refused")

    @rule(rows=st.lists(st.tuples(st.sampled_from(MEMBERS), st.integers(1, 50)), max_size=4))
    def import_points(self, rows):
        lines = [f"{self.id(m)},{a},imported,imp{self.n}-{len(self.imports)}-{i}" for i, (m, a) in
                 enumerate(rows)]  # fmt: skip
        path = write(self.folder / f"points-{self.n}-{len(self.imports)}.csv",
                     "member,amount,reason,key\n" + "\n".join(lines) + "\n")  # fmt: skip
        self.ok("points", "import", str(path))
        for member, amount in rows:
            self.balance[member] += amount
        self.imports.append(str(path))
        self.ran("import_points", "rows" if rows else "empty")

    @precondition(lambda self: self.imports)
    @rule(pick=PICK)
    def import_again(self, pick):
        path = choose(self.imports, pick)
        self.ok("points", "import", path)  # replayed: changes nothing
        text = Path(path).read_text(encoding="utf-8")
        rows = len(text.strip().splitlines()) > 1
        if rows:  # a row's amount altered under its key: refused
            altered = write(
                self.folder / "altered.csv", text.replace(",imported,", "0,imported,", 1)
            )
            assert self.call("points", "import", str(altered)).exit_code in (1, 3)
        self.ran("import_again", "altered" if rows else None)

    @rule(member=st.sampled_from(MEMBERS))
    def claim(self, member):
        result = self.call("perk", "claim", self.perk, "--member", self.id(member), "--json")
        mine = sum(1 for who in self.claims.values() if who == member)
        can = self.balance[member] >= PRICE and len(self.claims) < SUPPLY and mine < PER_MEMBER
        if can:
            assert result.exit_code == 0, result.stderr
            self.claims[result.json["claim_id"]] = member
            self.balance[member] -= PRICE
            self.ran("claim", "done")
        else:
            assert result.exit_code == 1, result.stderr
            self.ran("claim", "refused")

    @precondition(lambda self: self.claims)
    @rule(pick=PICK)
    def cancel(self, pick):
        claim_id = choose(self.claims, pick)
        self.ok("claim", "cancel", claim_id, "--reason", "model")
        self.balance[self.claims.pop(claim_id)] += PRICE
        self.ran("cancel")

    @rule(member=st.sampled_from(MEMBERS))
    def redeem(self, member):
        result = self.call("promo", "redeem", self.code, "--member", self.id(member))
        can = (
            sum(self.redeemed.values()) < INVENTORY
            and self.redeemed[member] < REDEMPTIONS_PER_MEMBER
        )
        if can:
            assert result.exit_code == 0, result.stderr
            self.redeemed[member] += 1
            self.balance[member] += BONUS
            self.ran("redeem", "done")
        else:
            assert result.exit_code == 1, result.stderr
            self.ran("redeem", "refused")

    @rule(amount=st.integers(1, 100), expires=st.none() | st.integers(2, 8),
          matures=st.none() | st.integers(1, 4))  # fmt: skip
    def credit_later(self, amount, expires, matures):
        if expires is not None and matures is not None and matures >= expires:
            matures = None
        args = ["points", "credit", self.id(EXPIRING), str(amount), "--reason", "lot"]
        if expires:
            args += [
                "--expires",
                (self.now + timedelta(days=expires)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            ]
        if matures:
            until = (self.now + timedelta(days=matures)).strftime("%Y-%m-%dT%H:%M:%SZ")
            args += ["--pending-until", until]
        self.ok(*args)
        at = {k: self.now + timedelta(days=v) if v else None for k, v in
              (("expires", expires), ("matures", matures))}  # fmt: skip
        if matures:
            self.pending[EXPIRING] += amount
        else:
            self.balance[EXPIRING] += amount
        if expires or matures:
            self.lots.append({"left": amount, **at, "pending": bool(matures)})
        self.ran("credit_later", "pending" if matures else "expiring" if expires else "plain")

    @rule(amount=st.integers(1, 150))
    def write_off_lots(self, amount):
        result = self.call("points", "write-off", self.id(EXPIRING), str(amount), "--reason", "m")
        if amount > self.balance[EXPIRING]:
            assert result.exit_code == 1
            self.ran("write_off_lots", "refused")
            return
        assert result.exit_code == 0, result.stderr
        self.balance[EXPIRING] -= amount
        spendable = [
            lot for lot in self.lots if not lot["pending"] and lot["expires"] and lot["left"]
        ]
        for lot in sorted(spendable, key=lambda lot: lot["expires"]):
            used = min(amount, lot["left"])
            lot["left"] -= used
            amount -= used
        self.ran("write_off_lots", "done")

    @rule(days=st.integers(1, 5))
    def time_passes(self, days):
        self.now += timedelta(days=days)
        self._clock()
        self.ok("maintain", "run")
        self.ran("time_passes")
        for lot in self.lots:
            if lot["pending"] and lot["matures"] <= self.now:
                RAN["time_passes:matured"] += 1
                lot["pending"] = False
                self.pending[EXPIRING] -= lot["left"]
                self.balance[EXPIRING] += lot["left"]
                if lot["expires"] is None:
                    lot["left"] = 0
        for lot in self.lots:
            if not lot["pending"] and lot["expires"] and lot["expires"] <= self.now and lot["left"]:
                RAN["time_passes:expired"] += 1
                self.balance[EXPIRING] -= lot["left"]
                lot["left"] = 0

    @rule()
    def rotate_keys(self):
        self.ok("keys", "rotate")
        self.ran("rotate_keys")

    @rule(member=st.sampled_from(MEMBERS))
    def claim_coupon(self, member):
        result = self.call("perk", "claim", self.coupon_perk, "--member", self.id(member), "--json")
        if self.balance[member] < COUPON_PRICE:
            assert result.exit_code == 1, result.stderr
            self.ran("claim_coupon", "refused")
            return
        assert result.exit_code == 0, result.stderr
        self.balance[member] -= COUPON_PRICE
        code = result.json["redemption"]["value"]
        self.coupons[code] = {"member": member, "status": "active", "order": None}
        self.ran("claim_coupon", "done")

    @precondition(lambda self: self.coupons)
    @rule(pick=PICK, again=st.booleans())
    def use_coupon(self, pick, again):
        code = choose(self.coupons, pick)
        coupon = self.coupons[code]
        order = coupon["order"] if again and coupon["order"] else f"o{self.n}-{next(self.orders)}"
        result = self.call("coupon", "use", code, "--order", order, "--cart", str(self.cart))
        if coupon["status"] == "used" and coupon["order"] != order:
            assert result.exit_code == 1, result.stderr  # used on another order
            self.ran("use_coupon", "another order")
            return
        assert result.exit_code == 0, result.stderr  # a use, or the same order's replay
        self.ran("use_coupon", "replayed" if coupon["status"] == "used" else "used")
        coupon.update(status="used", order=order)

    @precondition(lambda self: any(c["status"] == "used" for c in self.coupons.values()))
    @rule(pick=PICK)
    def release_coupon(self, pick):
        code = choose([code for code, c in self.coupons.items() if c["status"] == "used"], pick)
        order = self.coupons[code]["order"]
        self.ok("coupon", "release", code, "--order", order, "--reason", "order cancelled")
        self.coupons[code].update(status="active", order=None)
        self.ran("release_coupon")

    @rule(member=st.sampled_from(MEMBERS))
    def grant_discount(self, member):
        self.ok("discount", "grant", self.discount, "--member", self.id(member))
        self.grants[member] += 1
        self.ran("grant_discount")
        # each command's "now" is the fixed test clock plus its own running time: the next
        # command could start "before" this grant does; the clock moves past it
        self.now += timedelta(seconds=1)
        self._clock()

    @rule(member=st.sampled_from(MEMBERS))
    def revoke_discount(self, member):
        result = self.call(
            "discount", "revoke", self.discount, "--member", self.id(member), "--reason", "m"
        )
        assert result.exit_code == (0 if self.grants[member] else 1), result.stderr
        self.ran("revoke_discount", "done" if self.grants[member] else "refused")
        self.grants[member] = 0

    @rule(member=st.sampled_from(MEMBERS))
    def forget(self, member):
        result = self.call("member", "forget", self.id(member), "--reason", "erasure")
        assert result.exit_code == (1 if member in self.forgotten else 0), result.stderr
        self.ran("forget", "again" if member in self.forgotten else "done")
        self.forgotten.add(member)

    # --- after every step -------------------------------------------------------------------

    @invariant()
    def agrees_with_the_model(self):
        if not hasattr(self, "balance"):
            return
        for member in (*MEMBERS, EXPIRING):
            shown = self.ok("points", "balance", self.id(member), "--json").json
            assert shown["balance"] == self.balance[member], member
            assert shown["pending"] == self.pending.get(member, 0), member
        perk = self.ok("perk", "show", self.perk, "--json").json
        assert perk["claims"] == len(self.claims)
        assert perk["supply_left"] == SUPPLY - len(self.claims)
        stats = self.ok("promo", "show", self.campaign, "--json").json
        assert stats["redemptions"] == sum(self.redeemed.values())
        for code, coupon in self.coupons.items():
            shown = self.ok("coupon", "show", code, "--json").json
            assert (shown["status"], shown["order_id"]) == (coupon["status"], coupon["order"])
            assert shown["member"] == self.id(coupon["member"])
        (discount,) = [
            d for d in self.ok("discount", "list", "--json").json if d["slug"] == self.discount
        ]
        assert discount["active_grants"] == sum(self.grants.values())
        assert discount["members"] == sum(1 for n in self.grants.values() if n)
        for member in MEMBERS:
            shown = self.ok("member", "show", self.id(member), "--json").json["member"]
            assert (shown["forgotten_at"] is not None) == (member in self.forgotten), member
        verified = self.call("audit", "verify")
        assert verified.exit_code == 0, verified.stderr

    def teardown(self):
        os.environ.pop("LOYALTYCTL_CLOCK", None)


# Every rule, and every outcome of it, once, in an order that makes each reachable (a key to
# replay, a claim to cancel, a coupon used before it is released, a member forgotten twice):
# CI exercises them all whatever the random sequences pick. A new rule needs a step here.
TOUR: list[tuple[str, dict]] = [
    ("credit", {"member": "A", "amount": 250, "keyed": True}),  # A 250
    ("credit", {"member": "B", "amount": 40, "keyed": False}),  # B 40
    ("credit_again_with_a_key", {"pick": 0, "altered": False}),  # replayed
    ("credit_again_with_a_key", {"pick": 0, "altered": True}),  # refused
    ("write_off", {"member": "B", "amount": 10}),  # B 30
    ("write_off", {"member": "C", "amount": 5}),  # refused: C has nothing
    ("claim_coupon", {"member": "C"}),  # refused: C has nothing
    ("import_points", {"rows": []}),
    ("import_points", {"rows": [("C", 50), ("B", 20)]}),  # C 50, B 50
    ("import_again", {"pick": 1}),  # the file with rows: replayed, then altered and refused
    ("claim", {"member": "A"}),  # A 150
    ("claim", {"member": "C"}),  # refused: C 50 < PRICE
    ("cancel", {"pick": 0}),  # A 250
    ("redeem", {"member": "B"}),
    ("redeem", {"member": "B"}),  # B 100
    ("redeem", {"member": "B"}),  # refused: REDEMPTIONS_PER_MEMBER
    ("credit_later", {"amount": 40, "expires": 3, "matures": None}),
    ("credit_later", {"amount": 30, "expires": None, "matures": 1}),
    ("credit_later", {"amount": 20, "expires": None, "matures": None}),  # E 60, 30 pending
    ("write_off_lots", {"amount": 10}),  # from the expiring lot: 30 left in it
    ("write_off_lots", {"amount": 150}),  # refused: E has 50
    ("time_passes", {"days": 4}),  # the pending lot matures, the expiring one expires
    ("rotate_keys", {}),
    ("claim_coupon", {"member": "B"}),  # B 70
    ("use_coupon", {"pick": 0, "again": False}),
    ("use_coupon", {"pick": 0, "again": True}),  # the same order: replayed
    ("use_coupon", {"pick": 0, "again": False}),  # refused: used on another order
    ("grant_discount", {"member": "B"}),
    ("forget", {"member": "B"}),
    ("forget", {"member": "B"}),  # refused: already forgotten
    ("release_coupon", {"pick": 0}),  # a forgotten member's coupon, grant and points
    ("use_coupon", {"pick": 0, "again": False}),
    ("revoke_discount", {"member": "B"}),
    ("revoke_discount", {"member": "B"}),  # refused: no open grant
    ("claim", {"member": "B"}),  # refused: B 70 < PRICE
]

RULES = frozenset(name for name, f in vars(Tool).items() if hasattr(f, RULE_MARKER))
OUTCOMES = frozenset({
    "credit:keyed", "credit:plain",
    "credit_again_with_a_key:replayed", "credit_again_with_a_key:altered",
    "write_off:done", "write_off:refused",
    "import_points:rows", "import_points:empty", "import_again:altered",
    "claim:done", "claim:refused", "redeem:done", "redeem:refused",
    "credit_later:expiring", "credit_later:pending", "credit_later:plain",
    "write_off_lots:done", "write_off_lots:refused",
    "time_passes:matured", "time_passes:expired",
    "claim_coupon:done", "claim_coupon:refused",
    "use_coupon:used", "use_coupon:replayed", "use_coupon:another order",
    "revoke_discount:done", "revoke_discount:refused", "forget:done", "forget:again",
})  # fmt: skip


def unexercised(ran: Counter) -> set[str]:
    """The rules and outcomes that did not run, and any recorded label this module does not
    know (a misspelt ``ran``): both empty after a CI run."""
    return set(RULES | OUTCOMES) ^ {label for label, times in ran.items() if times}


def tour():
    """TOUR on a fresh machine: the same rule methods, every invariant after each step."""
    invariants = [f for f in vars(Tool).values() if hasattr(f, INVARIANT_MARKER)]
    machine = Tool()
    try:
        machine.program()
        for step, (name, arguments) in enumerate(TOUR, 1):
            try:
                getattr(machine, name)(**arguments)
                for check in invariants:
                    check(machine)
            except AssertionError as error:
                error.add_note(f"tour step {step}: {name}({arguments})")
                raise
    finally:
        machine.teardown()


def test_the_tour_takes_every_rule_and_the_check_can_fail():
    assert {name for name, _ in TOUR} == RULES
    everything = Counter(RULES | OUTCOMES)
    assert not unexercised(everything)
    for label in RULES | OUTCOMES:
        assert unexercised(everything - Counter([label])) == {label}
    assert unexercised(everything + Counter(["claim:misspelt"])) == {"claim:misspelt"}


@pytest.mark.slow
def test_the_tool_agrees_with_the_model(cli, tmp_path, monkeypatch):
    monkeypatch.setenv("LOYALTYCTL_CLOCK", "2031-01-01T00:00:00Z")  # restored afterwards
    Tool.cli, Tool.folder = staticmethod(cli), tmp_path
    RAN.clear()
    tour()
    toured = Counter(RAN)
    if EXAMPLES:
        Tool.TestCase.settings = settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            derandomize=CI,
            suppress_health_check=list(HealthCheck),
        )
        Tool.TestCase().runTest()
    print("steps by rule, the tour / the random sequences:", {  # shown with -s
        name: (toured[name], RAN[name] - toured[name]) for name in sorted(RULES)
    })  # fmt: skip
    assert not unexercised(RAN), (
        f"rules or outcomes never exercised (or unknown): {unexercised(RAN)}"
    )


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
