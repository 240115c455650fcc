"""Deterministic kills (LOYALTYCTL_CRASH_AT, loyaltyctl/crash.py): a real `loyaltyctl`
process kills itself (SIGKILL) at each named point, on SQLite and PostgreSQL. Then:
what was committed is all or nothing (whole chunks where a command documents chunks),
running the command again finishes exactly (nothing twice, nothing missing), and
`audit verify` passes. The timed kills of the concurrency tests stay as a second net.

The child runs with small chunks (2 events, 3 codes) so that chunked commands cross a
chunk boundary with a few rows.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from loyaltyctl.crash import ENV, POINTS
from tests.cli.helpers import add_member, credit, sql_engine, write
from tests.proofs.program import PROGRAM, state
from tests.services.test_webhooks import receiver  # noqa: F401 - a fixture, used by name

pytestmark = pytest.mark.slow

CHILD = """
import sys
import loyaltyctl.services.earning.ingest as ingest
import loyaltyctl.services.promo_codes as promo_codes
ingest.CHUNK = 2
promo_codes.CHUNK_SIZES.update(sqlite=3, postgresql=3)
from loyaltyctl.cli.main import main
sys.argv = ["loyaltyctl", *sys.argv[1:]]
main()
"""


def scalar(url: str, sql: str):
    engine = sql_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar()
    finally:
        engine.dispose()


def run(url: str, *args: str, crash: str | None = None, clock: str | None = None):
    env = {k: v for k, v in os.environ.items() if k != ENV}
    env["LOYALTYCTL_DATABASE_URL"] = url
    if crash:
        env[ENV] = crash
    if clock:
        env["LOYALTYCTL_CLOCK"] = clock
    return subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, timeout=120
    )


def killed(result) -> None:
    assert result.returncode == -signal.SIGKILL, (result.returncode, result.stderr)


def ok(result) -> None:
    assert result.returncode == 0, result.stderr + result.stdout


def changed(before: dict, after: dict) -> dict:
    return {k: (before[k], after[k]) for k in before if before[k] != after[k]}


@dataclass
class Scenario:
    """``setup`` (in-process CLI) returns the command to kill; ``after_kill`` checks what
    the kill left (default: nothing); ``finish`` runs it again and checks it is whole."""

    setup: Callable
    after_kill: Callable | None = None
    finish: Callable | None = None
    clock: int | None = None  # run the killed command this many minutes from now


def _later(minutes: int) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the scenarios, one per crash point ------------------------------------------------------


def _credit(cli, tmp):
    add_member(cli, "C-1")
    return ("points", "credit", "C-1", "50", "--reason", "kill test", "--key", "k-1")


def _points_import(cli, tmp):
    add_member(cli, "C-1")
    add_member(cli, "C-2", "Alan")
    rows = "member,amount,reason\nC-1,10,a\nC-2,20,b\nC-1,-5,c\n"
    return ("points", "import", str(write(tmp / "points.csv", rows)))


def _member_import(cli, tmp):
    rows = "external_id,name\nC-1,Ada\nC-2,Alan\nC-3,Grace\n"
    return ("member", "import", str(write(tmp / "members.csv", rows)))


def _events(cli, tmp):
    assert cli("apply", str(write(tmp / "p.toml", PROGRAM))).exit_code == 0
    lines = [
        json.dumps(
            {
                "id": f"e-{n}",
                "type": "member.joined",
                "at": "2026-01-02T10:00:00Z",
                "member": f"C-{n}",
                "name": f"Member {n}",
            }
        )
        for n in range(1, 6)
    ]
    return ("events", "ingest", str(write(tmp / "events.jsonl", "\n".join(lines) + "\n")))


def _two_events_committed(url, before, after):
    # chunks of 2: the first chunk is whole, nothing of the second
    assert after["ingested_event"] - before["ingested_event"] == 2
    assert after["member"] - before["member"] == 2


def _five_events(url, before, after):
    assert after["ingested_event"] - before["ingested_event"] == 5
    assert after["member"] - before["member"] == 5
    assert scalar(url, "SELECT SUM(balance) FROM member") == 5 * 40


def _campaign(cli, tmp):
    assert cli("apply", str(write(tmp / "p.toml", PROGRAM))).exit_code == 0
    return ("promo", "generate", "spring", "--count", "7")


def _seven_codes(url, before, after):
    assert after["promo_batch"] - before["promo_batch"] == 1
    assert after["promo_code"] - before["promo_code"] == 7
    assert scalar(url, "SELECT generated FROM promo_batch") == 7


def _whole_chunks_of_codes(url, before, after):
    generated = scalar(url, "SELECT generated FROM promo_batch")
    assert after["promo_code"] - before["promo_code"] == generated == 6  # two chunks of 3


def _finish_batch(url):
    return ("promo", "generate", "spring", "--batch", scalar(url, "SELECT id FROM promo_batch"))


def _claim(cli, tmp):
    add_member(cli, "C-1")
    assert credit(cli, "C-1", 500, "seed").exit_code == 0
    assert cli("apply", str(write(tmp / "p.toml", PROGRAM))).exit_code == 0
    return ("perk", "claim", "mug", "--member", "C-1", "--key", "claim-1")


def _one_claim(url, before, after):
    assert after["claim"] - before["claim"] == 1
    assert scalar(url, "SELECT balance FROM member") == 400
    assert scalar(url, "SELECT claimed FROM perk") == 1


SHARED = '\n[[campaign.code]]\ncode = "SPRING-ONE"\ninventory = 5\n'


def _redeem(cli, tmp):
    add_member(cli, "C-1")
    assert cli("apply", str(write(tmp / "p.toml", PROGRAM + SHARED))).exit_code == 0
    return ("promo", "redeem", "SPRING-ONE", "--member", "C-1", "--key", "r-1")


def _one_redemption(url, before, after):
    assert after["promo_redemption"] - before["promo_redemption"] == 1
    assert scalar(url, "SELECT balance FROM member") == 25
    assert scalar(url, "SELECT uses FROM promo_code") == 1


COUPON = """
[[perk]]
slug = "ten-off"
name = "Ten off"
price = 0
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "fixed"
amount = "10.00"
min_purchase = "25.00"
"""
CART = '{"items": [{"sku": "A", "price": "30.00", "quantity": 1}], "shipping": "0.00"}'


def _coupon_use(cli, tmp):
    add_member(cli, "C-1")
    assert cli("apply", str(write(tmp / "c.toml", COUPON))).exit_code == 0
    claim = cli("perk", "claim", "ten-off", "--member", "C-1", "--json")
    assert claim.exit_code == 0, claim.stderr
    code = claim.json["redemption"]["value"]
    cart = write(tmp / "cart.json", CART)
    return ("coupon", "use", code, "--order", "o-1", "--cart", str(cart))


def _coupon_used(url, before, after):
    assert scalar(url, "SELECT status FROM coupon") == "used"


def _expiring(cli, tmp):
    add_member(cli, "C-1")
    soon = (datetime.now(UTC) + timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert credit(cli, "C-1", 30, "expires", "--expires", soon).exit_code == 0
    assert credit(cli, "C-1", 20, "stays").exit_code == 0
    return ("maintain", "run")


def _expired(url, before, after):
    assert scalar(url, "SELECT balance FROM member") == 20
    assert after["ledger_entry"] - before["ledger_entry"] == 1


WEBHOOK = """
[[perk]]
slug = "call"
name = "A call"
price = 0
[perk.redemption]
type = "webhook"
webhook_url = "{url}"
webhook_secret = "s3cret"
"""


def _webhook(cli, tmp, hook):
    add_member(cli, "C-1")
    perk = write(tmp / "w.toml", WEBHOOK.format(url=hook.url))
    assert cli("apply", str(perk)).exit_code == 0
    assert cli("perk", "claim", "call", "--member", "C-1").exit_code == 0
    return ("maintain", "run")


def _secrets(cli, tmp):
    add_member(cli, "C-1")
    perk = PROGRAM.replace('type = "none"', 'type = "code"\nvalue = "MUG-SECRET"')
    assert cli("apply", str(write(tmp / "p.toml", perk))).exit_code == 0
    return ("keys", "rotate")


def _rotated(url, before, after):
    assert scalar(url, "SELECT COUNT(*) FROM audit_event WHERE action = 'keys.rotate'") == 1


def _forget(cli, tmp):
    add_member(cli, "C-1", "Zelda Quux", "--phone", "+44 20 7946 0321", "--tag", "private")
    assert cli("member", "update", "C-1", "--email", "zelda@example.org").exit_code == 0
    assert credit(cli, "C-1", 40, "before the forget").exit_code == 0
    return ("member", "forget", "C-1", "--reason", "kill test")


def _personal(url) -> tuple:
    return (
        scalar(url, "SELECT name FROM member WHERE external_id = 'C-1'"),
        scalar(url, "SELECT COUNT(*) FROM audit_event WHERE details LIKE '%Quux%'"),
        scalar(url, "SELECT COUNT(*) FROM audit_event WHERE action = 'member.forget'"),
        scalar(url, "SELECT COUNT(*) FROM member_label WHERE value = 'private'"),
    )


def _not_forgotten(url, before, after):
    assert changed(before, after) == {}
    assert _personal(url) == ("Zelda Quux", 1, 0, 1)


def _forgotten(url, before, after):
    assert _personal(url) == ("", 0, 1, 0)
    assert scalar(url, "SELECT balance FROM member WHERE external_id = 'C-1'") == 40
    # forgetting again is refused (exit 1) and changes nothing
    again = run(url, "member", "forget", "C-1", "--reason", "kill test")
    assert again.returncode == 1 and "already forgotten" in again.stderr
    assert _personal(url) == ("", 0, 1, 0)


SCENARIOS = {
    "credit-before-commit": Scenario(_credit),
    "points-import-before-commit": Scenario(_points_import),
    "member-import-before-commit": Scenario(_member_import),
    "ingest-chunk-before-commit@2": Scenario(_events, _two_events_committed, _five_events),
    "ingest-after-chunk": Scenario(_events, _two_events_committed, _five_events),
    "generate-before-first-commit": Scenario(_campaign, None, _seven_codes),
    "generate-after-chunk": Scenario(_campaign, _whole_chunks_of_codes, _seven_codes),
    "claim-before-commit": Scenario(_claim, None, _one_claim),
    "redeem-before-commit": Scenario(_redeem, None, _one_redemption),
    "coupon-use-before-commit": Scenario(_coupon_use, None, _coupon_used),
    "maintain-before-commit": Scenario(_expiring, None, _expired, clock=10),
    "maintain-between-transactions": Scenario(_expiring, _expired, _expired, clock=10),
    "webhook-after-post": Scenario(_webhook, clock=1),
    "rotate-after-key-file": Scenario(_secrets, None, _rotated),
    "rotate-before-commit": Scenario(_secrets, None, _rotated),
    "forget-before-commit": Scenario(_forget, _not_forgotten, _forgotten),
}


def test_every_crash_point_has_a_scenario():
    assert {name.split("@")[0] for name in SCENARIOS} == set(POINTS)


@pytest.mark.parametrize("point", sorted(SCENARIOS))
def test_a_kill_at_each_point_leaves_whole_changes_and_a_rerun_finishes(
    cli, db_url, tmp_path, point, request
):
    scenario = SCENARIOS[point]
    if point == "webhook-after-post":
        hook = request.getfixturevalue("receiver")
        command = scenario.setup(cli, tmp_path, hook)
    else:
        command = scenario.setup(cli, tmp_path)
    before = state(db_url)

    clock = _later(scenario.clock) if scenario.clock else None
    killed(run(db_url, *command, crash=point, clock=clock))
    after_kill = state(db_url)
    if scenario.after_kill is None:
        assert changed(before, after_kill) == {}, point
    else:
        scenario.after_kill(db_url, before, after_kill)
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.stderr

    # the lease of a killed `maintain run` lapses after 15 minutes: run again past it
    rerun_clock = _later(30) if scenario.clock else None
    if point.startswith("generate-after-chunk"):
        command = _finish_batch(db_url)
    if point.startswith("rotate"):
        command = ("keys", "rotate", "--finish")
    ok(run(db_url, *command, clock=rerun_clock))
    finished = state(db_url)
    if scenario.finish is not None:
        scenario.finish(db_url, before, finished)
    else:
        assert changed(before, finished) != {}, point
    verified = cli("audit", "verify")
    assert verified.exit_code == 0, verified.stderr

    # and once more: nothing is applied twice
    if point == "webhook-after-post":
        assert hook.events == ["claim.created", "claim.created"]  # at least once: resent
        delivered = "SELECT COUNT(*) FROM webhook_delivery WHERE status = 'delivered'"
        assert scalar(db_url, delivered) == 1
        return
    if point.startswith(("generate", "rotate", "coupon", "forget")):
        return  # a new batch or a new key each time; a used coupon, a forgotten member refused
    again = run(db_url, *command, clock=rerun_clock)
    ok(again)
    assert changed(finished, state(db_url)) == {}, point
