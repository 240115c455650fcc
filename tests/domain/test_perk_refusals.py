"""The claim rules' refusals: the full sentence for a refusal, the brief one for a listing
whose row names the member and the perk already."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from loyaltyctl.domain.perks import Audience, ClaimantState, PerkState, refusal

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)
PERK = PerkState(
    slug="vip-lounge",
    price=100,
    active=True,
    valid_from=None,
    valid_until=None,
    audience=Audience(),
    max_supply=None,
    claimed=0,
    max_per_member=None,
)
MEMBER = ClaimantState(
    external_id="C-7",
    balance=500,
    plan=None,
    tier=None,
    groups=frozenset(),
    tags=frozenset(),
    claims_of_perk=0,
)


@pytest.mark.parametrize(
    ("perk", "member", "code", "full", "brief"),
    [
        (
            replace(PERK, active=False),
            MEMBER,
            "perk_inactive",
            "Perk vip-lounge is disabled.",
            "Disabled.",
        ),
        (
            replace(PERK, audience=Audience(tiers=("gold",))),
            MEMBER,
            "not_in_audience",
            "Member C-7 is not in the audience of perk vip-lounge: it needs tier gold (has none).",
            "Needs tier gold (has none).",
        ),
        (
            replace(PERK, valid_from=datetime(2027, 1, 1, tzinfo=UTC)),
            MEMBER,
            "not_in_window",
            "Perk vip-lounge opens 2027-01-01 00:00 UTC.",
            "Opens 2027-01-01 00:00 UTC.",
        ),
        (
            replace(PERK, max_supply=3, claimed=3),
            MEMBER,
            "sold_out",
            "Perk vip-lounge is sold out (3 claimed).",
            "Sold out (3 claimed).",
        ),
        (
            replace(PERK, max_per_member=2),
            replace(MEMBER, claims_of_perk=2),
            "member_limit",
            "Member C-7 already claimed perk vip-lounge twice, the most allowed.",
            "Already claimed twice, the most allowed.",
        ),
        (
            PERK,
            replace(MEMBER, balance=40),
            "insufficient_balance",
            "Member C-7 has 40 points; perk vip-lounge costs 100.",
            "Has 40 points; costs 100.",
        ),
    ],
)
def test_a_refusal_reads_whole_and_brief(perk, member, code, full, brief):
    assert refusal(perk, member, NOW) == (code, full)
    assert refusal(perk, member, NOW, brief=True) == (code, brief)


def test_a_claimable_perk_has_no_refusal_either_way():
    assert refusal(PERK, MEMBER, NOW) is None
    assert refusal(PERK, MEMBER, NOW, brief=True) is None
