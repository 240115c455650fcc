"""Every listing at an 80-column terminal: no line is wider, and what staff type or
read back (slugs, member ids, claim and redemption ids, dates) is never cut or wrapped."""

from __future__ import annotations

import pytest

from tests.cli.test_setup_cli import fresh_sqlite


@pytest.fixture
def demo(cli, tmp_path, monkeypatch):
    url = fresh_sqlite(tmp_path, "demo.db") if cli.url.startswith("sqlite") else cli.url
    assert cli("demo", url=url).exit_code == 0
    monkeypatch.setenv("COLUMNS", "80")

    def run(*args):
        human = cli(*args, url=url)
        assert human.exit_code == 0, human.stderr
        as_json = cli(*args, "--json", url=url)
        assert as_json.exit_code == 0, as_json.stderr
        return human.stdout, as_json.json

    return run


def _whole(text: str, identifiers) -> None:
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    for identifier in identifiers:
        assert identifier and any(identifier in line for line in lines), identifier


def _day(timestamp: str | None) -> str:
    return timestamp[:10] if timestamp else "—"


LISTINGS = {
    ("perk", "list", "--all"): lambda doc: [p["slug"] for p in doc],
    ("perk", "list", "--member", "C-1002"): lambda doc: [p["slug"] for p in doc],
    ("member", "list"): lambda doc: [m["external_id"] for m in doc] + [m["name"] for m in doc],
    ("promo", "list"): lambda doc: [c["slug"] for c in doc],
    ("perk", "claims", "free-coffee"): lambda doc: (
        [c["claim_id"] for c in doc] + [c["member"] for c in doc]
    ),
    ("rules", "list", "--all"): lambda doc: [r["slug"] for r in doc],
    ("tiers", "list", "--all"): lambda doc: [t["slug"] for t in doc],
    ("audit", "log", "--limit", "30"): lambda doc: [e["subject"] for e in doc],
    ("stats", "claims"): lambda doc: (
        [p["slug"] for p in doc["perks"]] + [_day(p["last_claim_at"]) for p in doc["perks"]]
    ),
    ("stats", "members"): lambda doc: [m["member"] for m in doc["biggest_balances"]],
    ("stats", "overview"): lambda doc: [p["slug"] for p in doc["top_perks"]],
    ("points", "history", "C-1001"): lambda doc: [_day(e["at"]) for e in doc["entries"]],
    # a coupon's status is what staff look for: kept, as the perk and member are
    ("coupon", "list"): lambda doc: (
        [c["coupon"] for c in doc] + [c["perk"] for c in doc] + [c["status"] for c in doc]
    ),
}


@pytest.mark.parametrize("args", list(LISTINGS), ids=" ".join)
def test_a_listing_fits_80_columns_and_keeps_identifiers_whole(demo, args):
    text, doc = demo(*args)
    _whole(text, LISTINGS[args](doc))


def test_member_show_fits_80_columns_with_its_claims_and_redemptions(demo):
    text, doc = demo("member", "show", "C-1002")
    assert doc["redemptions"], "the demo redeems a code for C-1002"
    _whole(
        text,
        [c["claim_id"] for c in doc["claims"]]
        + [r["redemption_id"] for r in doc["redemptions"]]
        + [r["campaign"] for r in doc["redemptions"]]
        + [p["claim_id"] for r in doc["redemptions"] for p in r["perks"]],
    )
