"""Start-up: each command imports only what it uses (a counter terminal runs one command
at a time, so its start-up is the wait). A command runs as a user runs it, in a child
process; what it imported is read from ``sys.modules`` as it exits.

Forbidden here, and why:
- for every command on these paths: SQLAlchemy, SQLModel and pydantic's models of our
  tables (``loyaltyctl.store.tables``), Alembic, cryptography, and on SQLite psycopg:
  together ~0.6-0.9 s of a ~0.1 s floor (`python -c "import typer"`);
- for `points balance`, `member find`, and the checkout's `coupon check` and `quote`
  also pydantic (Typer's conversion of parameters, ~0.1 s: a member id needs only its
  parser, text options none, cli/_params.py);
- for ``--help`` also Rich (help is plain text) and every service and store module;
- for the counter's and the checkout's commands also every other command's module
  (the tree is built branch by branch, cli/_tree.py), the result classes they do not
  return (``domain.models``: theirs are in ``domain.accounts``), the perks' specs, the
  audit chain (only writes append to it), and when they succeed the error map
  (``cli._errors``); `points balance` and `member find` also no TOML reader (no config
  file, no key file to read).

The timings are in bench/README.md (`bench/bench_startup.py`); this test keeps what
they depend on from creeping back.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from loyaltyctl.cli.main import TREE
from tests.cli.helpers import add_member, credit, write
from tests.coupon_helpers import apply_coupon_perks, issue

DATABASE = ("sqlalchemy", "sqlmodel", "alembic", "loyaltyctl.store.tables")
# pydantic: Typer converts parameters through it, but not text, flags, parsers and
# numbers left at their default (cli/_params.py)
FORBIDDEN_EVERYWHERE = (*DATABASE, "cryptography")
FORBIDDEN_FOR_READS = (*FORBIDDEN_EVERYWHERE, "pydantic")
FORBIDDEN_FOR_HELP = (
    *FORBIDDEN_FOR_READS,
    "psycopg",
    "rich",
    "loyaltyctl.services",
    "loyaltyctl.store",
)

# every module a command of the tree lives in (cli/main.py TREE, and what is grafted)
COMMAND_MODULES = {f"loyaltyctl.cli.{branch.module}" for branch in TREE.values()} | {
    f"loyaltyctl.cli.{module}" for branch in TREE.values() for module, _ in branch.grafts.values()
}
NOT_FOR_COUNTER = ("loyaltyctl.domain.models", "loyaltyctl.domain.perks", "loyaltyctl.store.audit")


def kept_out(*own: str, refused: bool = False, reads_toml: bool = False) -> tuple[str, ...]:
    """What a counter or checkout command does not import beyond FORBIDDEN_FOR_READS: the
    other commands' modules (``own``: its own), and see the module's docstring."""
    others = sorted(COMMAND_MODULES - {f"loyaltyctl.cli.{module}" for module in own})
    return (
        *others,
        *NOT_FOR_COUNTER,
        *(() if refused else ("loyaltyctl.cli._errors",)),
        *(() if reads_toml else ("tomllib",)),
    )


# runs the CLI as `python -m loyaltyctl` does, and writes the modules loaded at exit
PROBE = """
import atexit, json, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["loyaltyctl", *sys.argv[2:]]
runpy.run_module("loyaltyctl", run_name="__main__")
"""


def imported(tmp_path: Path, *args: str) -> tuple[set[str], subprocess.CompletedProcess]:
    out = tmp_path / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    return set(json.loads(out.read_text())), done


def offending(modules: set[str], forbidden: tuple[str, ...]) -> list[str]:
    return sorted(m for m in modules if any(m == f or m.startswith(f + ".") for f in forbidden))


def test_help_imports_no_database_code_no_rich_and_no_service(tmp_path):
    modules, done = imported(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert "Usage: loyaltyctl" in done.stdout
    assert offending(modules, FORBIDDEN_FOR_HELP) == []


def test_the_probe_sees_what_a_command_imports(tmp_path):
    """The test above could not fail if the probe saw nothing: a command that does use
    the database code (`db current`) shows it."""
    modules, done = imported(tmp_path, "--database-url", "sqlite:///x.db", "db", "current")
    assert "sqlalchemy" in modules, done.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("points", "balance", "C-1"),
        ("points", "balance", "C-1", "--json"),
        ("member", "find", "Lovelace"),
        ("points", "balance", "C-2"),  # unknown: the close matches come the same way
    ],
    ids=["balance", "balance-json", "member-find", "unknown-member"],
)
def test_counter_reads_import_no_database_toolkit(cli, tmp_path, command):
    add_member(cli, "C-1", "Ada Lovelace")
    assert credit(cli, "C-1", 120, "welcome", "--expires-in", "10d").exit_code == 0
    modules, done = imported(tmp_path, "--database-url", cli.url, *command)
    if command[-1] == "C-2":
        assert done.returncode == 1, done.stderr  # refused
        assert "Did you mean C-1" in done.stderr
    else:
        assert done.returncode == 0, done.stderr
        assert "120" in done.stdout or "Lovelace" in done.stdout
    own = "points" if command[0] == "points" else "members"
    forbidden = (*FORBIDDEN_FOR_READS, *kept_out(own, refused=command[-1] == "C-2"))
    if cli.url.startswith("sqlite"):
        forbidden = (*forbidden, "psycopg")
    assert offending(modules, forbidden) == []


def test_the_tree_is_seen_whole_where_it_is_listed(tmp_path):
    """The check above could not fail if no command module were ever imported: `--help`
    lists every command, so it imports them all."""
    modules, done = imported(tmp_path, "--help")
    assert done.returncode == 0, done.stderr
    assert modules >= COMMAND_MODULES
    assert len(COMMAND_MODULES) > 10


def test_parameters_converted_without_pydantic_are_refused_as_before(cli):
    """cli/_params.py answers text, flags, parsers and defaults itself; what they refuse,
    and numbers given, go through Typer's conversion with its usual words."""
    add_member(cli, "C-1", "Ada Lovelace")
    add_member(cli, "C-2", "Ada Byron")
    bad = cli("points", "balance", "C 1 x")
    assert bad.exit_code == 2
    assert "Invalid value for 'MEMBER': 'C 1 x' is not a member id" in bad.stderr
    zero = cli("member", "find", "Ada", "--limit", "0")
    assert zero.exit_code == 2
    assert "Invalid value for '--limit'" in zero.stderr
    one = cli("member", "find", "Ada", "--limit", "1", "--json")
    assert one.exit_code == 0, one.stderr
    assert len(one.json) == 1
    both = cli("member", "find", "Ada", "--json")  # the default limit, an int already
    assert [m["external_id"] for m in both.json] == ["C-2", "C-1"]


CART = '{"items": [{"sku": "HAT", "price": "30.00", "quantity": 1}], "shipping": "4.90"}'


@pytest.fixture
def checkout(cli, keys, tmp_path):
    """A member holding a coupon of ten off, and a cart file: (code, cart path)."""
    from loyaltyctl.store.db import Database

    add_member(cli, "C-1", "Ada Lovelace")
    db = Database(cli.url)
    try:
        apply_coupon_perks(db, tmp_path)
        coupon = issue(db, keys, perk="ten-off", member="C-1")
    finally:
        db.dispose()
    return coupon.code, str(write(tmp_path / "cart.json", CART))


@pytest.mark.parametrize(
    ("command", "exit_code", "says"),
    [
        (
            ("coupon", "check", "{code}", "--cart", "{cart}", "--member", "C-1", "--json"),
            0,
            "10.00",
        ),
        (("coupon", "check", "{code}", "--cart", "{cart}", "--member", "C-2"), 1, "another member"),
        (("coupon", "check", "ZZZZ-ZZZZ-ZZZZ", "--cart", "{cart}"), 1, "No coupon has the code"),
        (
            ("quote", "--member", "C-1", "--cart", "{cart}", "--coupon", "{code}", "--json"),
            0,
            "10.00",
        ),
        (("quote", "--member", "C-1", "--cart", "{cart}"), 0, "34.90"),
        (("quote", "--member", "C-9", "--cart", "{cart}"), 1, "Did you mean C-1"),
    ],
    ids=["check", "check-refused", "check-unknown", "quote", "quote-no-coupon", "quote-unknown"],
)
def test_checkout_reads_import_no_database_toolkit(
    cli, checkout, tmp_path, command, exit_code, says
):
    """The checkout's hot path (a store asks for each cart): the driver alone, and no
    pydantic (a repeated --coupon is text too)."""
    code, cart = checkout
    args = [a.format(code=code, cart=cart) for a in command]
    modules, done = imported(tmp_path, "--database-url", cli.url, *args)
    assert done.returncode == exit_code, done.stderr
    assert says in " ".join((done.stdout if exit_code == 0 else done.stderr).split())
    own = ("quote", "coupons") if command[0] == "quote" else ("coupons",)
    extra = kept_out(*own, refused=exit_code != 0, reads_toml=True)  # the key file
    forbidden = (*FORBIDDEN_FOR_READS, *extra)
    if cli.url.startswith("sqlite"):
        forbidden = (*forbidden, "psycopg")
    assert offending(modules, forbidden) == []


CLAIM_PERKS = """
[[perk]]
slug = "free-shipping-coupon"
name = "Free shipping"
price = 50
category = "discount"
[perk.redemption]
type = "coupon"
[perk.coupon]
kind = "free_shipping"
max_shipping = "15.00"

[[perk]]
slug = "last-one"
name = "The last one"
price = 10
category = "merchandise"
max_supply = 1

[[perk]]
slug = "too-dear"
name = "Too dear"
price = 100000
category = "merchandise"
"""


@pytest.fixture
def claims_program(cli, keys, tmp_path):
    """A member with points, a priced coupon perk, a sold-out perk and one too dear; a
    claim made with --key k-1 (its replay is timed) and the sold-out perk's last unit."""
    add_member(cli, "C-1", "Ada Lovelace")
    assert credit(cli, "C-1", 500, "welcome").exit_code == 0
    applied = cli("apply", str(write(tmp_path / "perks.toml", CLAIM_PERKS)))
    assert applied.exit_code == 0, applied.stderr
    for args in (("free-shipping-coupon", "--key", "k-1"), ("last-one",)):
        made = cli("perk", "claim", *args, "--member", "C-1", "--json")
        assert made.exit_code == 0, made.stderr


NOT_FOR_A_CLAIM = (
    "loyaltyctl.domain.perks",
    "loyaltyctl.domain.models",
    "loyaltyctl.domain.coupons",
    "loyaltyctl.domain.cart",
)


@pytest.mark.parametrize(
    ("command", "exit_code", "says"),
    [
        (("free-shipping-coupon", "--member", "C-1", "--json"), 0, '"kind": "free_shipping"'),
        (("free-shipping-coupon", "--member", "C-1", "--key", "k-1", "--json"), 0, "replayed"),
        (("free-shipping-coupon", "--member", "C-1", "--key", "k-2"), 0, "Free shipping"),
        (("last-one", "--member", "C-1"), 1, "sold out"),
        (("too-dear", "--member", "C-1"), 1, "points"),
        (("free-shipping-coupon", "--member", "C-9"), 1, "Did you mean C-1"),
    ],
    ids=["claim", "replayed-key", "keyed-human", "sold-out", "too-few-points", "unknown-member"],
)
def test_claims_import_no_database_toolkit(cli, claims_program, tmp_path, command, exit_code, says):
    """`perk claim` (a counter's write: lock, rules, debit, coupon, certificate) runs on the
    driver alone, whether it claims, replays a key or is refused; cryptography it needs
    (the coupon's ciphertext, the certificate's signature), pydantic it does not; nor the
    perk files' specs and listings (``domain.perks``: a claim's rules and results are in
    ``domain.claiming``), the other services' result classes (``domain.models``) or the
    cart's coupon rules (``domain.coupons``, ``domain.cart``: a coupon's terms and record
    are in ``domain.coupon_specs``)."""
    modules, done = imported(tmp_path, "--database-url", cli.url, "perk", "claim", *command)
    assert done.returncode == exit_code, done.stderr
    assert says in " ".join((done.stdout if exit_code == 0 else done.stderr).split())
    forbidden = (*DATABASE, "pydantic", *NOT_FOR_A_CLAIM)
    if cli.url.startswith("sqlite"):
        forbidden = (*forbidden, "psycopg")
    assert offending(modules, forbidden) == []


@pytest.mark.parametrize(
    ("rows", "exit_code"),
    [
        ("C-1,120,welcome,,2099-01-01\nC-1,-20,fix,,\nC-1,120,welcome,,2099-01-01\n", 0),
        ("C-1,120,welcome,,\nC-9,5,unknown member,,\n", 3),
    ],
    ids=["applied", "refused"],
)
def test_points_import_imports_no_database_toolkit(cli, tmp_path, rows, exit_code):
    """A bulk import runs on the driver alone (its peak memory: SQLAlchemy, SQLModel and
    the table classes are ~45 MB of a process that must stay under 150 MB)."""
    add_member(cli, "C-1", "Ada Lovelace")
    path = write(tmp_path / "points.csv", "member,amount,reason,key,expires_at\n" + rows)
    modules, done = imported(
        tmp_path, "--database-url", cli.url, "points", "import", str(path), "--json"
    )
    assert done.returncode == exit_code, done.stderr
    if exit_code == 0:
        assert json.loads(done.stdout)["applied"] == 3
    else:
        assert "C-9" in done.stderr
    assert offending(modules, FORBIDDEN_EVERYWHERE) == []
