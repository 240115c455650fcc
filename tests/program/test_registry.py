"""A new kind of table and a new redemption type are a module and a registration: here a
`[[gadget]]` reader and a `gift` redemption reading `[perk.gift]`, made for the test."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.program import files
from loyaltyctl.program.checks import NAME_MAX
from loyaltyctl.program.reader import Reader
from loyaltyctl.program.redemptions import REDEMPTIONS
from loyaltyctl.program.redemptions.base import RedemptionReader

AMS = ZoneInfo("Europe/Amsterdam")


class GadgetReader(Reader):
    kind = "gadget"
    example_slug = "blue-box"

    def read(self):
        slug = self.slug()
        name = self.text("name", self.table, NAME_MAX, required=True)
        self.unknown_keys(self.table, ("slug", "name"))
        return (slug, name, self.where()[0]) if self.ok else None


class GiftRedemption(RedemptionReader):
    type = "gift"
    keys = ("instructions",)
    perk_keys = ("gift",)

    def fill(self, fields):
        if not isinstance(self.perk.table.get("gift"), dict):
            self.perk.add("gift", "must be a table: write [perk.gift] below the perk.")
        self.refuse_single_use(fields)
        self.refuse_webhook(fields)


@pytest.fixture
def registered(monkeypatch):
    monkeypatch.setattr(files, "READERS", (*files.READERS, GadgetReader))
    monkeypatch.setitem(REDEMPTIONS, "gift", GiftRedemption)


def read(tmp_path: Path, text: str) -> files.ProgramFiles:
    path = tmp_path / "p.toml"
    path.write_text(text, encoding="utf-8")
    return files.read_program_files([path], env={}, tz=AMS)


def problems(tmp_path: Path, text: str) -> list[tuple]:
    with pytest.raises(BadInputFile) as caught:
        read(tmp_path, text)
    return [(p.line, p.field, p.message) for p in caught.value.problems]


GIFT_PERK = '[[perk]]\nslug = "g"\nname = "G"\nprice = 1\n[perk.redemption]\ntype = "gift"\n'


def test_a_registered_kind_of_table_is_read_with_the_others(tmp_path, registered):
    program = read(
        tmp_path,
        '[[gadget]]\nslug = "box"\nname = "Box"\n\n[[perk]]\nslug = "p"\nname = "P"\nprice = 1\n',
    )
    assert program.of("gadget") == [("box", "Box", 1)]
    assert [p.slug for p in program.of("perk")] == ["p"]
    # the reader's shared helpers and the duplicate-slug check come with the base class
    assert problems(tmp_path, '[[gadget]]\nslug = "box"\n\n[[gadget]]\nslug = "box"\n') == [
        (1, "name", "is missing; every gadget needs a name."),
        (4, "name", "is missing; every gadget needs a name."),
        (5, "slug", f'"box" is already the slug of the gadget at {tmp_path / "p.toml"}:1.'),
    ]


def test_a_registered_kind_of_table_is_named_among_the_top_level_keys(tmp_path, registered):
    assert problems(tmp_path, '[[gadgets]]\nslug = "x"\n') == [
        (
            1,
            "gadgets",
            'unknown top-level key "gadgets"; a file holds only [[perk]], [[campaign]],'
            " [[earning_rule]], [[tier]], [[discount]] and [[gadget]] tables (did you mean"
            ' "gadget"?).',
        )
    ]


def test_a_registered_redemption_type_reads_a_table_of_the_perk(tmp_path, registered):
    (perk,) = read(tmp_path, GIFT_PERK + "[perk.gift]\nwrap = true\n").of("perk")
    assert perk.redemption_type == "gift"
    # the type's own check, and the shared refusals of the keys it does not use
    body = GIFT_PERK + 'single_use = true\nwebhook_url = "https://x.org"\n[perk.redemption.x]\n'
    assert problems(tmp_path, body) == [
        (1, "gift", "must be a table: write [perk.gift] below the perk."),
        (
            7,
            "redemption.single_use",
            'only works with type "code": a unique suffix is added to the code per claim.',
        ),
        (8, "redemption.webhook_url", 'is only used with type "webhook".'),
        (9, "redemption.x", 'unknown key "x".'),
    ]
    missing_type = problems(tmp_path, GIFT_PERK.replace('type = "gift"\n', ""))
    assert missing_type == [
        (
            5,
            "redemption.type",
            "is missing; [perk.redemption] needs a type: code, link, coupon, webhook, none, gift.",
        )
    ]


def test_without_its_registration_the_type_and_its_table_are_unknown(tmp_path):
    assert problems(tmp_path, GIFT_PERK + "[perk.gift]\nwrap = true\n") == [
        (
            6,
            "redemption.type",
            '"gift" is not a redemption type; use one of code, link, coupon, webhook, none.',
        ),
        (7, "gift", 'unknown key "gift".'),
    ]
