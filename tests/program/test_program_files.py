"""Perk files: parsing, validation and the position of every problem. No database."""

from __future__ import annotations

import json
import struct
import zlib
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from loyaltyctl.domain import media
from loyaltyctl.domain.errors import BadInputFile
from loyaltyctl.domain.perks import Audience, PerkSpec
from loyaltyctl.domain.promo import CampaignSpec, SharedCodeSpec
from loyaltyctl.program.files import ProgramFiles, read_perk_files, read_program_files

AMS = ZoneInfo("Europe/Amsterdam")
MB = 1024 * 1024

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"
GIF = b"GIF89a\x01\x00\x01\x00\x00\x00\x00"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 "
MP4 = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"
MOV_FTYP = b"\x00\x00\x00\x14ftypqt  \x00\x00\x02\x00qt  "
MOV_MOOV = b"\x00\x00\x00\x08moov\x00\x00\x00\x6cmvhd"
WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01\x42\x82\x84webm\x42\x87\x81\x04"
MKV = WEBM.replace(b"\x84webm", b"\x88matroska")

MINIMAL = '[[perk]]\nslug = "p"\nname = "P"\nprice = 1\n'


def write(path: Path, content: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def load(*paths: Path, env: dict[str, str] | None = None, tz: ZoneInfo = AMS) -> list[PerkSpec]:
    return read_perk_files(list(paths), env=env or {}, tz=tz)


def problems(*paths: Path, env: dict[str, str] | None = None) -> list[tuple]:
    """Every problem as (file name, line, column, field, message)."""
    with pytest.raises(BadInputFile) as caught:
        read_program_files(list(paths), env=env or {}, tz=AMS)
    return [
        (Path(p.file).name, p.line, p.column, p.field, p.message) for p in caught.value.problems
    ]


def perk(tmp_path: Path, body: str, redemption: str | None = None, **files: bytes) -> Path:
    """A file with one perk: the minimal keys plus `body`, and an optional redemption table."""
    for name, content in files.items():
        write(tmp_path / name, content)
    text = MINIMAL + body
    if redemption is not None:
        text += "[perk.redemption]\n" + redemption
    return write(tmp_path / "perks.toml", text)


def one_problem(tmp_path: Path, body: str, redemption: str | None = None, env=None, **files):
    """(line, column, field, message) of the single problem of a one-perk file."""
    found = problems(perk(tmp_path, body, redemption, **files), env=env)
    assert len(found) == 1, found
    return found[0][1:]


# --- a valid file --------------------------------------------------------------------


FULL = """\
# the spec's example, with every field
[[perk]]
slug = "free-coffee"
name = "Free Coffee"
price = 200
category = "experience"
description = \"\"\"
One coffee of your choice at the bar.
slug = "this line is text, not a key"
\"\"\"
active = false
media = "media/coffee.png"
max_supply = 500
max_per_member = 1
valid_from = 2026-12-01T00:00:00Z
valid_until = 2027-01-31
audience = { plans = ["pro"], tiers = ["gold", "silver"], groups = [], tags = ["vip"] }

[perk.redemption]
type = "code"
value = "COFFEE-2026"
instructions = "Show this code at the bar."
single_use = true
iframe = true
checkout_url = "https://shop.example.org/cart?coupon={code}"
"""


def test_a_full_perk_gives_every_field(tmp_path):
    path = write(tmp_path / "perks.toml", FULL)
    write(tmp_path / "media" / "coffee.png", PNG)
    assert load(path) == [
        PerkSpec(
            slug="free-coffee",
            name="Free Coffee",
            price=200,
            category="experience",
            description=(
                'One coffee of your choice at the bar.\nslug = "this line is text, not a key"\n'
            ),
            active=False,
            media=str((tmp_path / "media" / "coffee.png").resolve()),
            media_type="image/png",
            media_size=len(PNG),
            max_supply=500,
            max_per_member=1,
            valid_from=datetime(2026, 12, 1, tzinfo=UTC),
            # date only: the end of that day in Amsterdam (UTC+1 in winter)
            valid_until=datetime(2027, 1, 31, 22, 59, 59, 999999, tzinfo=UTC),
            audience=Audience(plans=("pro",), tiers=("gold", "silver"), tags=("vip",)),
            redemption_type="code",
            value="COFFEE-2026",
            instructions="Show this code at the bar.",
            single_use=True,
            iframe=True,
            checkout_url="https://shop.example.org/cart?coupon={code}",
            source=str(path),
            line=2,
        )
    ]


def test_a_minimal_perk_takes_the_defaults(tmp_path):
    path = write(tmp_path / "p.toml", MINIMAL)
    assert load(path) == [PerkSpec(slug="p", name="P", price=1, source=str(path), line=1)]


def test_max_supply_zero_means_unlimited(tmp_path):
    (spec,) = load(perk(tmp_path, "max_supply = 0\n"))
    assert (spec.max_supply, spec.max_per_member) == (None, None)


def test_a_folder_is_read_recursively_in_a_stable_order(tmp_path):
    write(tmp_path / "b.toml", MINIMAL.replace('"p"', '"b"'))
    write(tmp_path / "sub" / "deeper" / "a.toml", MINIMAL.replace('"p"', '"deep"'))
    write(tmp_path / "a.toml", MINIMAL.replace('"p"', '"a"') + MINIMAL.replace('"p"', '"a2"'))
    write(tmp_path / "notes.txt", "not toml, not read")
    specs = load(tmp_path)
    assert [(s.slug, Path(s.source).relative_to(tmp_path).as_posix(), s.line) for s in specs] == [
        ("a", "a.toml", 1),
        ("a2", "a.toml", 5),
        ("b", "b.toml", 1),
        ("deep", "sub/deeper/a.toml", 1),
    ]


def test_a_file_named_directly_may_have_any_extension_and_is_read_once(tmp_path):
    conf = write(tmp_path / "perks.conf", MINIMAL.replace('"p"', '"c"'))
    path = write(tmp_path / "p.toml", MINIMAL)
    # the folder adds nothing new: p.toml is already read, perks.conf is not *.toml
    assert [s.slug for s in load(conf, path, path, tmp_path)] == ["c", "p"]


def test_missing_paths_and_empty_folders_are_problems(tmp_path):
    (tmp_path / "empty").mkdir()
    assert problems(tmp_path / "nope.toml", tmp_path / "empty") == [
        ("empty", 1, None, None, "the folder holds no *.toml file."),
        ("nope.toml", 1, None, None, "no such file or folder."),
    ]


# --- every problem, placed and sorted ----------------------------------------------------


BAD_ONE = """\
[[perk]]
slug = "ok-one"
name = "One"
price = -5

[[perk]]
  slug = "Bad Slug"
name = ""
price = 10
  categry = "digital"
audience = { tiers = ["gold"], colours = ["red"] }

[perk.redemption]
type = "voucher"
"""

BAD_TWO = """\
[[perk]]
slug = "two"
name = "Two"
price = true
max_per_member = -1
"""


def test_every_problem_of_every_file_is_reported_in_order(tmp_path):
    one = write(tmp_path / "one.toml", BAD_ONE)
    two = write(tmp_path / "two.toml", BAD_TWO)
    assert problems(two, one) == [
        ("one.toml", 4, 1, "price", "is -5, but it must be 0 or more."),
        (
            "one.toml",
            7,
            3,
            "slug",
            '"Bad Slug" is not a valid slug; use lowercase letters, digits and single hyphens,'
            ' at most 64 characters, e.g. "free-coffee".',
        ),
        ("one.toml", 8, 1, "name", "is empty; give it some text."),
        ("one.toml", 10, 3, "categry", 'unknown key "categry" (did you mean "category"?).'),
        (
            "one.toml",
            11,
            32,
            "audience.colours",
            'unknown key "colours" (known: plans, tiers, groups, tags).',
        ),
        (
            "one.toml",
            14,
            1,
            "redemption.type",
            '"voucher" is not a redemption type; use one of code, link, coupon, webhook, none.',
        ),
        ("two.toml", 4, 1, "price", "must be a whole number, not a boolean."),
        (
            "two.toml",
            5,
            1,
            "max_per_member",
            "is -1, but it must be 0 or more.",
        ),
    ]


def test_the_error_names_the_problem_count_and_prints_file_line_column(tmp_path):
    path = write(tmp_path / "two.toml", BAD_TWO)
    with pytest.raises(BadInputFile) as caught:
        load(path)
    assert caught.value.message == f"{path}: 2 problems found."
    assert str(caught.value.problems[0]) == (
        f"{path}:4:1: price: must be a whole number, not a boolean."
    )


def test_a_missing_required_key_points_at_the_perk_header(tmp_path):
    path = write(tmp_path / "p.toml", '# x\n\n[[perk]]\nname = "P"\n')
    assert problems(path) == [
        ("p.toml", 3, 1, "slug", "is missing; every perk needs a slug."),
        ("p.toml", 3, 1, "price", "is missing; every perk needs a price."),
    ]


def test_multiline_strings_and_arrays_are_not_mistaken_for_keys(tmp_path):
    path = write(
        tmp_path / "p.toml",
        "[[perk]]\n"
        "description = '''\n"
        "price = 1\n"
        "'''\n"
        'notes = """a\\"""\n'
        '[[perk]]"""\n'
        "audience = { tiers = [\n"
        '  "gold", # comment\n'
        "  'price = 3',\n"
        "] }\n"
        'slug = "p"\n'
        "  'quoted key' = 1\n"
        "price = 5.0\n",
    )
    assert problems(path) == [
        ("p.toml", 1, 1, "name", "is missing; every perk needs a name."),
        ("p.toml", 5, 1, "notes", 'unknown key "notes".'),
        (
            "p.toml",
            7,
            14,
            "audience.tiers",
            "'price = 3' is not a valid tier (letters, digits, space . _ -).",
        ),
        ("p.toml", 12, 3, "quoted key", 'unknown key "quoted key".'),
        ("p.toml", 13, 1, "price", "must be a whole number, not a decimal number."),
    ]


def test_a_toml_syntax_error_is_placed(tmp_path):
    path = write(tmp_path / "p.toml", MINIMAL + 'name = "again"\n')
    assert problems(path) == [("p.toml", 5, 15, None, "Cannot overwrite a value")]


def test_a_syntax_error_at_the_end_points_past_the_last_character(tmp_path):
    path = write(tmp_path / "p.toml", MINIMAL + "tags = [1,\n  2\n\n")
    assert problems(path) == [("p.toml", 6, 4, None, "Unclosed array")]


def test_a_file_that_is_not_utf8_is_placed_at_the_bad_byte(tmp_path):
    path = write(tmp_path / "p.toml", MINIMAL.encode() + b'description = "caf\xe9"\n')
    assert problems(path) == [
        ("p.toml", 5, 19, None, "the file is not UTF-8 text (byte 0xe9 cannot be read).")
    ]


def test_unknown_top_level_tables_are_named_with_a_did_you_mean(tmp_path):
    text = MINIMAL + "\n[[earning_rules]]\nx = 1\n\n[settings]\nx = 1\n\n[[campaigns]]\nx = 1\n"
    path = write(tmp_path / "p.toml", text)
    holds = (
        "a file holds only [[perk]], [[campaign]], [[earning_rule]], [[tier]] and [[discount]]"
        " tables"
    )
    assert problems(path) == [
        (
            "p.toml",
            6,
            1,
            "earning_rules",
            f'unknown top-level key "earning_rules"; {holds} (did you mean "earning_rule"?).',
        ),
        ("p.toml", 9, 1, "settings", f'unknown top-level key "settings"; {holds}.'),
        (
            "p.toml",
            12,
            1,
            "campaigns",
            f'unknown top-level key "campaigns"; {holds} (did you mean "campaign"?).',
        ),
    ]


def test_a_perk_table_must_be_an_array_of_tables(tmp_path):
    path = write(tmp_path / "p.toml", '[perk]\nslug = "p"\n')
    assert problems(path) == [
        ("p.toml", 1, 1, "perk", "must be written as [[perk]] tables, one per perk.")
    ]


def test_an_inline_array_of_perks_is_read_too(tmp_path):
    path = write(tmp_path / "p.toml", 'perk = [\n  { slug = "a", name = "A", price = 1 },\n]\n')
    assert [(s.slug, s.line) for s in load(path)] == [("a", 2)]


def test_an_empty_file_is_a_problem(tmp_path):
    path = write(tmp_path / "p.toml", "# nothing yet\n")
    assert problems(path) == [
        (
            "p.toml",
            1,
            None,
            None,
            "the file holds no [[perk]], [[campaign]], [[earning_rule]], [[tier]] or [[discount]]"
            " table.",
        )
    ]


def test_a_duplicate_slug_is_reported_where_it_repeats(tmp_path):
    write(tmp_path / "a.toml", MINIMAL)
    write(tmp_path / "b.toml", "\n\n" + MINIMAL + MINIMAL)
    assert problems(tmp_path) == [
        (
            "b.toml",
            4,
            1,
            "slug",
            f'"p" is already the slug of the perk at {tmp_path / "a.toml"}:1.',
        ),
        (
            "b.toml",
            8,
            1,
            "slug",
            f'"p" is already the slug of the perk at {tmp_path / "a.toml"}:1.',
        ),
    ]


# --- plain fields ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("price = 2.5\n", "must be a whole number, not a decimal number."),
        ("price = false\n", "must be a whole number, not a boolean."),
        ("price = -1\n", "is -1, but it must be 0 or more."),
        ('price = "5"\n', "must be a whole number, not a string."),
        ("price = 1_000_000_001\n", "is 1,000,000,001; it may be at most 1,000,000,000."),
    ],
)
def test_a_price_is_a_whole_number_of_zero_or_more(tmp_path, body, message):
    text = '[[perk]]\nslug = "p"\nname = "P"\n' + body
    assert problems(write(tmp_path / "p.toml", text)) == [("p.toml", 4, 1, "price", message)]


def test_a_free_perk_is_fine(tmp_path):
    text = '[[perk]]\nslug = "p"\nname = "P"\nprice = 0\n'
    assert load(write(tmp_path / "p.toml", text))[0].price == 0


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        (
            'category = "discounts"\n',
            "category",
            '"discounts" is not a category; use one of general, discount, merchandise,'
            ' experience, digital, access (did you mean "discount"?).',
        ),
        ('active = "yes"\n', "active", "must be true or false, not a string."),
        (
            'description = "a\\u0007b"\n',
            "description",
            ("contains a control character; only newlines and tabs are allowed."),
        ),
        (
            "description = '" + "x" * 2001 + "'\n",
            "description",
            ("is 2,001 characters long; at most 2,000 are allowed."),
        ),
        ("max_supply = -1\n", "max_supply", "is -1, but it must be 0 or more."),
        (
            "max_per_member = -2\n",
            "max_per_member",
            ("is -2, but it must be 0 or more."),
        ),
        (
            'audience = ["gold"]\n',
            "audience",
            ('must be a table, e.g. audience = { tiers = ["gold"] }, not an array.'),
        ),
        (
            'audience = { tags = "vip" }\n',
            "audience.tags",
            ('must be an array of names, e.g. tags = ["gold"], not a string.'),
        ),
    ],
)
def test_plain_field_problems(tmp_path, body, field, message):
    assert one_problem(tmp_path, body) == (5, 1 if "." not in field else 14, field, message)


def test_a_name_is_one_line_of_at_most_200_characters(tmp_path):
    path = write(tmp_path / "p.toml", '[[perk]]\nslug = "p"\nprice = 1\nname = "a\\tb"\n')
    assert problems(path) == [
        ("p.toml", 4, 1, "name", "must be one line of text, without tabs or control characters.")
    ]
    path.write_text(f'[[perk]]\nslug = "p"\nprice = 1\nname = "{"n" * 201}"\n')
    assert problems(path) == [
        ("p.toml", 4, 1, "name", "is 201 characters long; at most 200 are allowed.")
    ]


def test_a_description_may_hold_newlines_and_tabs(tmp_path):
    (spec,) = load(perk(tmp_path, 'description = "a\\n\\tb"\n'))
    assert spec.description == "a\n\tb"


def test_audience_names_are_trimmed_and_deduplicated(tmp_path):
    (spec,) = load(perk(tmp_path, 'audience = { groups = [" students ", "students", "staff"] }\n'))
    assert spec.audience == Audience(groups=("students", "staff"))


# --- dates ---------------------------------------------------------------------------------


def test_dates_and_times_become_utc(tmp_path):
    body = "valid_from = 2026-07-01T09:00:00\nvalid_until = 2026-12-24T18:00:00-05:00\n"
    (spec,) = load(perk(tmp_path, body))
    # a local date-time is read in the program's zone: Amsterdam is UTC+2 in July
    assert spec.valid_from == datetime(2026, 7, 1, 7, 0, tzinfo=UTC)
    assert spec.valid_until == datetime(2026, 12, 24, 23, 0, tzinfo=UTC)


def test_a_date_opens_at_the_start_and_closes_at_the_end_of_its_day(tmp_path):
    (spec,) = load(perk(tmp_path, "valid_from = 2026-07-01\nvalid_until = 2026-07-01\n"))
    assert spec.valid_from == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
    assert spec.valid_until == datetime(2026, 7, 1, 21, 59, 59, 999999, tzinfo=UTC)


def test_a_quoted_date_is_refused(tmp_path):
    assert one_problem(tmp_path, 'valid_from = "2026-12-01"\n') == (
        5,
        1,
        "valid_from",
        "must be a TOML date or datetime without quotes, e.g. 2026-12-01T00:00:00Z, not a string.",
    )


def test_the_window_must_end_after_it_starts(tmp_path):
    body = "valid_from = 2026-12-01T00:00:00Z\nvalid_until = 2026-12-01T00:00:00Z\n"
    assert one_problem(tmp_path, body) == (
        6,
        1,
        "valid_until",
        "is not after valid_from (2026-12-01 00:00 UTC is not after 2026-12-01 00:00 UTC);"
        " the window must end after it starts.",
    )


# --- media ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "mime"),
    [
        ("a.png", PNG, "image/png"),
        ("a.jpg", JPEG, "image/jpeg"),
        ("a.gif", GIF, "image/gif"),
        ("a.webp", WEBP, "image/webp"),
        ("a.mp4", MP4, "video/mp4"),
        ("a.webm", WEBM, "video/webm"),
        ("a.mov", MOV_FTYP, "video/quicktime"),
        ("old.mov", MOV_MOOV, "video/quicktime"),
        ("misnamed.gif", PNG, "image/png"),  # the bytes decide, not the name
    ],
)
def test_local_media_is_typed_by_its_bytes(tmp_path, name, content, mime):
    (spec,) = load(perk(tmp_path, f'media = "m/{name}"\n', **{f"m/{name}": content}))
    path = (tmp_path / "m" / name).resolve()
    assert (spec.media, spec.media_type, spec.media_size) == (str(path), mime, len(content))


def test_media_is_relative_to_its_file_not_the_working_folder(tmp_path, monkeypatch):
    write(tmp_path / "sub" / "m.png", PNG)
    path = write(tmp_path / "sub" / "p.toml", MINIMAL + 'media = "m.png"\n')
    monkeypatch.chdir(tmp_path)
    assert load(Path("sub/p.toml"))[0].media == str((tmp_path / "sub" / "m.png").resolve())
    assert path.parent.name == "sub"


def _sparse(path: Path, head: bytes, size: int) -> None:
    """A file of `size` bytes that takes no disk space beyond its header."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(head)
        handle.truncate(size)


def test_an_image_over_5_mb_is_refused_at_its_size(tmp_path):
    _sparse(tmp_path / "big.png", PNG, 5 * MB + 1)
    line, column, field, message = one_problem(tmp_path, 'media = "big.png"\n')
    assert (line, column, field) == (5, 1, "media")
    assert message == (
        f"{(tmp_path / 'big.png').resolve()} is 5.0 MB (5,242,881 bytes);"
        " an image may be at most 5 MB."
    )


def test_a_video_may_be_10_mb_but_no_more(tmp_path):
    _sparse(tmp_path / "v.mp4", MP4, 10 * MB)
    assert load(perk(tmp_path, 'media = "v.mp4"\n'))[0].media_size == 10 * MB
    _sparse(tmp_path / "v.mp4", MP4, 12 * MB)
    assert one_problem(tmp_path, 'media = "v.mp4"\n')[3] == (
        f"{(tmp_path / 'v.mp4').resolve()} is 12.0 MB (12,582,912 bytes);"
        " a video may be at most 10 MB."
    )


def test_an_image_of_exactly_5_mb_is_fine(tmp_path):
    _sparse(tmp_path / "big.jpg", JPEG, 5 * MB)
    assert load(perk(tmp_path, 'media = "big.jpg"\n'))[0].media_size == 5 * MB


@pytest.mark.parametrize(
    ("body", "files", "message"),
    [
        (
            'media = "fake.png"\n',
            {"fake.png": b"just some text\n"},
            "{dir}/fake.png is not a supported image or video; its content is none of"
            " jpeg, png, webp, gif, mp4, webm or mov.",
        ),
        (
            'media = "a.mkv"\n',
            {"a.mkv": MKV},
            "{dir}/a.mkv is not a supported image or video; its content is none of"
            " jpeg, png, webp, gif, mp4, webm or mov.",
        ),
        (
            'media = "missing.png"\n',
            {},
            "{dir}/missing.png does not exist; a media path is relative to the perk file.",
        ),
        ('media = "."\n', {}, "{dir} is not a file."),
        (
            'media = "http://cdn.example.org/a.png"\n',
            {},
            ("must be https; http:// URLs are not accepted."),
        ),
        (
            'media = "ftp://cdn.example.org/a.png"\n',
            {},
            ("must be https; ftp:// URLs are not accepted."),
        ),
        (
            'media = "https:///a.png"\n',
            {},
            ("is not a valid URL: it has no host, e.g. https://shop.example.org/..."),
        ),
        (
            'media = "https://cdn.example.org/a.txt"\n',
            {},
            (
                "the URL's path must end in .jpg, .jpeg, .png, .webp, .gif, .mp4, .webm or .mov"
                " so its type is known without downloading it."
            ),
        ),
        ('media = ["a.png", "b.png"]\n', {}, "must be one image or video only, not an array."),
        ("media = 3\n", {}, "must be a path or an https URL, not a whole number."),
        ('media = ""\n', {}, "is empty; give a path or an https URL, or leave media out."),
        (
            'media = "a\\u0000.png"\n',
            {},
            ("must be one line of text, without tabs or control characters."),
        ),
    ],
)
def test_media_problems(tmp_path, body, files, message):
    assert one_problem(tmp_path, body, **files) == (
        5,
        1,
        "media",
        message.format(dir=tmp_path.resolve()),
    )


def test_an_https_media_url_is_typed_by_its_extension(tmp_path):
    (spec,) = load(perk(tmp_path, 'media = "https://cdn.example.org/img/Coffee.PNG?v=2"\n'))
    assert (spec.media, spec.media_type, spec.media_size) == (
        "https://cdn.example.org/img/Coffee.PNG?v=2",
        "image/png",
        None,
    )


# --- redemption: secrets ---------------------------------------------------------------------


def test_no_redemption_table_means_type_none(tmp_path):
    (spec,) = load(perk(tmp_path, ""))
    assert (spec.redemption_type, spec.value, spec.single_use) == ("none", None, False)


def test_a_value_may_come_from_the_environment(tmp_path):
    path = perk(tmp_path, "", 'type = "code"\nvalue_env = "COFFEE_CODE"\n')
    assert load(path, env={"COFFEE_CODE": "SECRET-1"})[0].value == "SECRET-1"


@pytest.mark.parametrize("env", [{}, {"COFFEE_CODE": ""}])
def test_an_unset_or_empty_environment_variable_is_a_problem(tmp_path, env):
    assert one_problem(tmp_path, "", 'type = "code"\nvalue_env = "COFFEE_CODE"\n', env=env) == (
        7,
        1,
        "redemption.value_env",
        "the environment variable COFFEE_CODE is not set or is empty; set it before running apply.",
    )


def test_a_value_may_come_from_a_file_next_to_the_perk_file(tmp_path):
    path = perk(
        tmp_path,
        "",
        'type = "webhook"\nwebhook_url = "https://hooks.example.org/x"\n'
        'webhook_secret_file = "secrets/hook.txt"\n',
        **{"secrets/hook.txt": b"s3cret\r\n\n"},
    )
    (spec,) = load(path)
    assert (spec.redemption_type, spec.webhook_secret) == ("webhook", "s3cret")


def test_an_empty_or_missing_value_file_is_a_problem(tmp_path):
    redemption = 'type = "code"\nvalue_file = "code.txt"\n'
    assert one_problem(tmp_path, "", redemption, **{"code.txt": b"\n"}) == (
        7,
        1,
        "redemption.value_file",
        f"the file {tmp_path / 'code.txt'} is empty; leave value out to keep the stored one.",
    )
    (tmp_path / "code.txt").unlink()
    assert one_problem(tmp_path, "", redemption) == (
        7,
        1,
        "redemption.value_file",
        f"cannot read the file {tmp_path / 'code.txt'}: No such file or directory.",
    )


def test_a_secret_is_one_line_and_never_quoted_in_the_message(tmp_path):
    redemption = 'type = "code"\nvalue_file = "code.txt"\n'
    found = one_problem(tmp_path, "", redemption, **{"code.txt": b"TOP\nSECRET\n"})
    assert found == (
        7,
        1,
        "redemption.value_file",
        f"the file {tmp_path / 'code.txt'} must hold one line of text without control characters.",
    )
    found = one_problem(tmp_path, "", f'type = "code"\nvalue = "{"S" * 501}"\n')
    assert found == (7, 1, "redemption.value", "it holds 501 characters; at most 500.")


def test_a_secret_file_name_with_a_nul_byte_is_refused(tmp_path):
    assert one_problem(tmp_path, "", 'type = "code"\nvalue_file = "a\\u0000"\n') == (
        7,
        1,
        "redemption.value_file",
        "must be one line of text, without tabs or control characters.",
    )


def test_only_one_source_of_a_secret(tmp_path):
    redemption = (
        'type = "webhook"\nwebhook_url = "https://h.example.org"\n'
        'value = "A"\nvalue_env = "B"\nwebhook_secret = "x"\nwebhook_secret_file = "f"\n'
    )
    assert problems(perk(tmp_path, "", redemption), env={"B": "b"}) == [
        (
            "perks.toml",
            9,
            1,
            "redemption.value_env",
            "give only one of value, value_env and value_file; this perk gives"
            " value and value_env.",
        ),
        (
            "perks.toml",
            11,
            1,
            "redemption.webhook_secret_file",
            "give only one of webhook_secret, webhook_secret_env and webhook_secret_file;"
            " this perk gives webhook_secret and webhook_secret_file.",
        ),
    ]


# --- redemption: rules by type -----------------------------------------------------------------


def test_a_redemption_table_needs_a_type(tmp_path):
    assert one_problem(tmp_path, "", 'value = "X"\n') == (
        5,
        1,
        "redemption.type",
        "is missing; [perk.redemption] needs a type: code, link, coupon, webhook, none.",
    )


def test_unknown_redemption_key_suggests_the_closest(tmp_path):
    assert one_problem(tmp_path, "", 'type = "code"\nsingle_used = true\n') == (
        7,
        1,
        "redemption.single_used",
        'unknown key "single_used" (did you mean "single_use"?).',
    )


def test_type_none_takes_no_value_nor_iframe(tmp_path):
    redemption = 'type = "none"\nvalue = "X"\niframe = true\nsingle_use = true\n'
    assert problems(perk(tmp_path, "", redemption)) == [
        (
            "perks.toml",
            7,
            1,
            "redemption.value",
            'is not used by type "none", which gives the member nothing to redeem;'
            ' remove it or choose type "code", "link" or "webhook".',
        ),
        ("perks.toml", 8, 1, "redemption.iframe", 'is not used by type "none"; remove it.'),
        (
            "perks.toml",
            9,
            1,
            "redemption.single_use",
            'only works with type "code": a unique suffix is added to the code per claim.',
        ),
    ]


def test_a_link_value_is_an_https_url(tmp_path):
    ok = perk(tmp_path, "", 'type = "link"\nvalue = "https://example.org/gift"\n')
    assert load(ok)[0].value == "https://example.org/gift"
    expected = 'must be an https URL for type "link" (http:// is not accepted).'
    for value in ("not a url", "http://example.org/gift"):
        assert one_problem(tmp_path, "", f'type = "link"\nvalue = "{value}"\n') == (
            7,
            1,
            "redemption.value",
            expected,
        )


def test_a_single_use_code_base_is_at_most_60_characters(tmp_path):
    ok = perk(tmp_path, "", f'type = "code"\nsingle_use = true\nvalue = "{"C" * 60}"\n')
    assert load(ok)[0].value == "C" * 60
    redemption = f'type = "code"\nsingle_use = true\nvalue = "{"C" * 61}"\n'
    assert one_problem(tmp_path, "", redemption) == (
        8,
        1,
        "redemption.value",
        "is 61 characters long; a single-use code may be at most 60 before its suffix.",
    )


def test_single_use_is_only_for_codes(tmp_path):
    redemption = 'type = "link"\nvalue = "https://x.example.org"\nsingle_use = true\n'
    assert one_problem(tmp_path, "", redemption) == (
        8,
        1,
        "redemption.single_use",
        'only works with type "code": a unique suffix is added to the code per claim.',
    )


@pytest.mark.parametrize(
    ("redemption", "line", "field", "message"),
    [
        (
            "iframe = true\n",
            7,
            "redemption.iframe",
            "needs checkout_url, an https URL with {code} where the code goes.",
        ),
        (
            'checkout_url = "https://shop.example.org/c?x={code}"\n',
            7,
            "redemption.checkout_url",
            "is only used with iframe = true; set iframe = true or remove it.",
        ),
        (
            'iframe = true\ncheckout_url = "https://shop.example.org/cart"\n',
            8,
            "redemption.checkout_url",
            "must contain {code}, where the member's code is put in the URL.",
        ),
        (
            'iframe = true\ncheckout_url = "http://shop.example.org/c?x={code}"\n',
            8,
            "redemption.checkout_url",
            "must be a URL starting with https://.",
        ),
    ],
)
def test_iframe_and_checkout_url_go_together(tmp_path, redemption, line, field, message):
    found = one_problem(tmp_path, "", 'type = "code"\nvalue = "C"\n' + redemption)
    assert found == (line + 1, 1, field, message)


@pytest.mark.parametrize(
    "url",
    ["https://hooks.example.org/claim", "http://127.0.0.1:8080/hook", "http://localhost/h"],
)
def test_a_webhook_url_is_https_or_local_http(tmp_path, url):
    (spec,) = load(perk(tmp_path, "", f'type = "webhook"\nwebhook_url = "{url}"\n'))
    assert (spec.redemption_type, spec.webhook_url, spec.webhook_secret) == ("webhook", url, None)


def test_ipv6_loopback_may_use_http_too(tmp_path):
    (spec,) = load(perk(tmp_path, "", 'type = "webhook"\nwebhook_url = "http://[::1]:9000/"\n'))
    assert spec.webhook_url == "http://[::1]:9000/"


@pytest.mark.parametrize(
    ("redemption", "line", "field", "message"),
    [
        (
            'type = "webhook"\n',
            6,
            "redemption.type",
            'type "webhook" needs webhook_url, the https URL each claim is POSTed to.',
        ),
        (
            'type = "webhook"\nwebhook_url = "http://hooks.example.org/x"\n',
            7,
            "redemption.webhook_url",
            "must be a URL starting with https:// (http:// only for 127.0.0.1, localhost or ::1).",
        ),
        (
            'type = "code"\nwebhook_url = "https://hooks.example.org/x"\n',
            7,
            "redemption.webhook_url",
            'is only used with type "webhook".',
        ),
        (
            'type = "code"\nwebhook_secret = "s"\n',
            7,
            "redemption.webhook_secret",
            'is only used with type "webhook".',
        ),
    ],
)
def test_webhook_rules(tmp_path, redemption, line, field, message):
    assert one_problem(tmp_path, "", redemption) == (line, 1, field, message)


# --- media sniffing (pure) -------------------------------------------------------------------


def test_sniff_knows_nothing_else():
    assert [media.sniff(b) for b in (b"", b"RIFF\x00\x00\x00\x00WAVE", MKV, b"%PDF-1.7")] == [
        None,
        None,
        None,
        None,
    ]


def test_type_from_extension_and_limits():
    assert media.type_from_extension("/a/B.JPEG") == "image/jpeg"
    assert media.type_from_extension("/a/b.mov") == "video/quicktime"
    assert media.type_from_extension("/a/b") is None
    assert (media.max_bytes("image/gif"), media.max_bytes("video/webm")) == (5 * MB, 10 * MB)


def test_a_byte_order_mark_is_ignored(tmp_path):
    path = write(tmp_path / "p.toml", b"\xef\xbb\xbf" + MINIMAL.encode())
    assert [(s.slug, s.line) for s in load(path)] == [("p", 1)]


# --- campaigns ---------------------------------------------------------------------------------


def real_png() -> bytes:
    """A complete 1x1 PNG, not only its signature."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


CAMPAIGN = '[[campaign]]\nslug = "c"\nname = "C"\npoints = 10\n'


def campaigns(*paths: Path) -> list[CampaignSpec]:
    return read_program_files(list(paths), env={}, tz=AMS).of("campaign")


def one_campaign_problem(tmp_path: Path, body: str, **files: bytes) -> tuple:
    """(line, column, field, message) of the single problem of CAMPAIGN + `body`."""
    for name, content in files.items():
        write(tmp_path / name, content)
    found = problems(write(tmp_path / "c.toml", CAMPAIGN + body))
    assert len(found) == 1, found
    return found[0][1:]


FULL_CAMPAIGN = """\
# a campaign with every key
[[campaign]]
slug = "summer-2026"
name = " Summer promotion "
description = "Codes printed on summer flyers."
valid_from = 2026-06-01
valid_until = 2026-08-31T18:00:00
points = 100
perks = ["free-coffee", "tote-bag"]
per_member = 1
per_member_daily = 3
audience = { groups = ["students"], tags = ["new"] }
status = "paused"
share = { title = "Summer codes", subtitle = "Redeem by Aug 31", image = "media/share.png" }

[campaign.page]
background = "#0b3d2e"
banner = "media/banner.png"
ratio = 1.5
sections = [{ title = "How", steps = ["scan", "redeem"] }, { hidden = true, order = 2 }]

[[campaign.code]]
code = "SUMMER50"
inventory = 500

[[campaign.code]]
  code = "sun-day 2026"
"""


def test_a_full_campaign_gives_every_field(tmp_path):
    path = write(tmp_path / "c.toml", FULL_CAMPAIGN)
    write(tmp_path / "media" / "share.png", real_png())
    write(tmp_path / "media" / "banner.png", real_png())
    share_png = str((tmp_path / "media" / "share.png").resolve())
    banner_png = str((tmp_path / "media" / "banner.png").resolve())
    program = read_program_files([path], env={}, tz=AMS)
    assert program == ProgramFiles(
        {
            "campaign": [
                CampaignSpec(
                    slug="summer-2026",
                    name="Summer promotion",
                    description="Codes printed on summer flyers.",
                    # a date opens at the start of its day in Amsterdam (UTC+2 in summer)
                    valid_from=datetime(2026, 5, 31, 22, 0, tzinfo=UTC),
                    valid_until=datetime(2026, 8, 31, 16, 0, tzinfo=UTC),
                    points=100,
                    perks=("free-coffee", "tote-bag"),
                    per_member=1,
                    per_member_daily=3,  # above per_member: allowed
                    audience=Audience(groups=("students",), tags=("new",)),
                    status="paused",
                    share={
                        "title": "Summer codes",
                        "subtitle": "Redeem by Aug 31",
                        "image": share_png,
                    },
                    page={
                        "background": "#0b3d2e",
                        "banner": banner_png,
                        "ratio": 1.5,
                        "sections": [
                            {"title": "How", "steps": ["scan", "redeem"]},
                            {"hidden": True, "order": 2},
                        ],
                    },
                    codes=(
                        SharedCodeSpec(code="SUMMER50", inventory=500, line=23, column=1),
                        SharedCodeSpec(code="sun-day 2026", inventory=None, line=27, column=3),
                    ),
                    source=str(path),
                    line=2,
                )
            ]
        }
    )
    (spec,) = program.of("campaign")
    assert spec.positions == {"perks": (9, 1), "status": (13, 1), "code": (22, 1)}
    assert (spec.where("status"), spec.where("code"), spec.where("name")) == (
        (13, 1),
        (22, 1),
        (2, 1),
    )
    assert json.loads(json.dumps(spec.page)) == spec.page  # plain JSON data


def test_a_minimal_campaign_takes_the_defaults(tmp_path):
    path = write(tmp_path / "c.toml", "\n" + CAMPAIGN)
    (spec,) = campaigns(path)
    assert spec == CampaignSpec(slug="c", name="C", points=10, source=str(path), line=2)
    assert (spec.status, spec.share, spec.page, spec.codes, spec.perks) == (
        "active",
        None,
        None,
        (),
        (),
    )
    # no code table: a problem about codes points at the campaign
    assert spec.positions == {"perks": (2, 1), "status": (2, 1), "code": (2, 1)}


def test_perks_and_campaigns_share_a_file_and_a_folder(tmp_path):
    write(
        tmp_path / "a.toml",
        MINIMAL.replace('"p"', '"free-coffee"')
        + '\n[[campaign]]\nslug = "free-coffee"\nname = "Coffee day"\nperks = ["free-coffee"]\n'
        + "\n"
        + MINIMAL.replace('"p"', '"tote-bag"')
        + "\n"
        + CAMPAIGN,
    )
    write(tmp_path / "b.toml", CAMPAIGN.replace('"c"', '"b"') + "\n" + MINIMAL)
    program = read_program_files([tmp_path], env={}, tz=AMS)
    # a campaign may have a perk's slug: they are different kinds
    assert [(s.slug, Path(s.source).name, s.line) for s in program.of("perk")] == [
        ("free-coffee", "a.toml", 1),
        ("tote-bag", "a.toml", 11),
        ("p", "b.toml", 6),
    ]
    assert [(s.slug, Path(s.source).name, s.line, s.perks) for s in program.of("campaign")] == [
        ("free-coffee", "a.toml", 6, ("free-coffee",)),
        ("c", "a.toml", 16, ()),
        ("b", "b.toml", 1, ()),
    ]
    # the perk-only entry point still reads the same files
    assert read_perk_files([tmp_path], env={}, tz=AMS) == program.of("perk")


def test_problems_of_perks_and_campaigns_come_in_one_sorted_list(tmp_path):
    write(tmp_path / "a.toml", CAMPAIGN + "per_member = 0\n\n" + MINIMAL + "max_per_member = -1\n")
    b = MINIMAL.replace('"p"', '"q"') + "\n" + CAMPAIGN.replace('"c"', '"d"')
    write(tmp_path / "b.toml", b.replace("points = 10", "points = 1.5"))
    with pytest.raises(BadInputFile) as caught:
        read_perk_files([tmp_path], env={}, tz=AMS)  # campaigns are validated here too
    assert [(Path(p.file).name, p.line, p.column, p.field) for p in caught.value.problems] == [
        ("a.toml", 5, 1, "per_member"),
        ("a.toml", 11, 1, "max_per_member"),
        ("b.toml", 9, 1, "points"),
    ]


def test_a_campaign_slug_is_unique_across_files(tmp_path):
    write(tmp_path / "a.toml", CAMPAIGN)
    write(tmp_path / "b.toml", MINIMAL.replace('"p"', '"c"') + "\n" + CAMPAIGN)
    assert problems(tmp_path) == [
        (
            "b.toml",
            7,
            1,
            "slug",
            f'"c" is already the slug of the campaign at {tmp_path / "a.toml"}:1.',
        )
    ]


BAD_CAMPAIGN = """\
[[campaign]]
slug = "Summer 2026"
name = 5
description = "x\\u0007"
valid_from = 2026-09-01
valid_until = 2026-08-31
points = -1
perks = ["free-coffee", "Free Coffee", 3, "free-coffee"]
per_member = 0
per_member_daily = 1.5
audience = { tier = ["gold"] }
status = "activ"
share = { title = "T", colour = "red", image = "clip.png" }
page = { banner = "https://cdn.example.org/b.txt", when = 2026-06-01 }
codes = 3

[[campaign.code]]
code = "SUMMER_50"
inventory = 0

[[campaign.code]]
inventry = 5
"""


def test_every_campaign_problem_is_placed(tmp_path):
    path = write(tmp_path / "c.toml", BAD_CAMPAIGN)
    assert problems(path) == [
        (
            "c.toml",
            2,
            1,
            "slug",
            '"Summer 2026" is not a valid slug; use lowercase letters, digits and single'
            ' hyphens, at most 64 characters, e.g. "summer-2026".',
        ),
        ("c.toml", 3, 1, "name", "must be a string, not a whole number."),
        (
            "c.toml",
            4,
            1,
            "description",
            "contains a control character; only newlines and tabs are allowed.",
        ),
        (
            "c.toml",
            6,
            1,
            "valid_until",
            # dates in Amsterdam: 2026-09-01 opens 2026-08-31 22:00 UTC
            "is not after valid_from (2026-08-31 21:59 UTC is not after 2026-08-31 22:00 UTC);"
            " the window must end after it starts.",
        ),
        ("c.toml", 7, 1, "points", "is -1, but it must be 0 or more."),
        (
            "c.toml",
            8,
            25,
            "perks",
            '"Free Coffee" is not a valid perk slug; a slug has lowercase letters, digits and'
            " single hyphens, at most 64 characters.",
        ),
        (
            "c.toml",
            8,
            40,
            "perks",
            "must list each perk by its slug, a string, not a whole number.",
        ),
        ("c.toml", 8, 43, "perks", '"free-coffee" is listed twice; list each prize perk once.'),
        (
            "c.toml",
            9,
            1,
            "per_member",
            "is 0, but it must be at least 1; leave it out for no limit.",
        ),
        ("c.toml", 10, 1, "per_member_daily", "must be a whole number, not a decimal number."),
        ("c.toml", 11, 14, "audience.tier", 'unknown key "tier" (did you mean "tiers"?).'),
        (
            "c.toml",
            12,
            1,
            "status",
            '"activ" is not a status; use one of active, paused, archived'
            ' (did you mean "active"?).',
        ),
        ("c.toml", 13, 24, "share.colour", 'unknown key "colour" (known: title, subtitle, image).'),
        (
            "c.toml",
            13,
            40,
            "share.image",
            f"{tmp_path.resolve() / 'clip.png'} does not exist;"
            " a media path is relative to the campaign file.",
        ),
        (
            "c.toml",
            14,
            10,
            "page.banner",
            "the URL's path must end in .jpg, .jpeg, .png, .webp or .gif so its type is known"
            " without downloading it.",
        ),
        (
            "c.toml",
            14,
            52,
            "page.when",
            "is a date; page values are kept as JSON, which has none: use a string, e.g."
            ' "2026-06-01".',
        ),
        ("c.toml", 15, 1, "codes", 'unknown key "codes" (did you mean "code"?).'),
        (
            "c.toml",
            18,
            1,
            "code.code",
            "may hold only letters A-Z, digits, spaces and dashes.",
        ),
        (
            "c.toml",
            19,
            1,
            "code.inventory",
            "is 0, but it must be at least 1; leave it out for no limit.",
        ),
        ("c.toml", 21, 1, "code", "is missing; every [[campaign.code]] table needs a code."),
        (
            "c.toml",
            22,
            1,
            "code.inventry",
            'unknown key "inventry" (did you mean "inventory"?).',
        ),
    ]


def test_a_campaign_needs_a_slug_and_a_name(tmp_path):
    path = write(tmp_path / "c.toml", "# x\n[[campaign]]\npoints = 5\n")
    assert problems(path) == [
        ("c.toml", 2, 1, "slug", "is missing; every campaign needs a slug."),
        ("c.toml", 2, 1, "name", "is missing; every campaign needs a name."),
    ]


GRANTS = (
    "a campaign must grant points, perks or both; give points above 0 or a list of perk slugs,"
    ' e.g. perks = ["free-coffee"].'
)


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ("", (2, 1, None)),  # nothing written: the campaign's header
        ("points = 0\n", (4, 1, "points")),
        ("perks = []\n", (4, 1, "perks")),
        ("perks = []\npoints = 0\n", (5, 1, "points")),
    ],
)
def test_a_campaign_grants_points_or_perks(tmp_path, body, where):
    path = write(tmp_path / "c.toml", '\n[[campaign]]\nslug = "c"\n' + body + 'name = "C"\n')
    assert problems(path) == [("c.toml", *where, GRANTS)]


@pytest.mark.parametrize(
    ("body", "points", "perks"),
    [
        ("points = 1\n", 1, ()),
        ('perks = ["a"]\n', 0, ("a",)),
        ('points = 0\nperks = ["a", "b"]\n', 0, ("a", "b")),
    ],
)
def test_points_or_perks_alone_are_enough(tmp_path, body, points, perks):
    path = write(tmp_path / "c.toml", '[[campaign]]\nslug = "c"\nname = "C"\n' + body)
    (spec,) = campaigns(path)
    assert (spec.points, spec.perks) == (points, perks)


def test_a_bad_points_value_does_not_also_claim_nothing_is_granted(tmp_path):
    path = write(tmp_path / "c.toml", '[[campaign]]\nslug = "c"\nname = "C"\npoints = "5"\n')
    assert problems(path) == [("c.toml", 4, 1, "points", "must be a whole number, not a string.")]


@pytest.mark.parametrize(
    ("body", "column", "field", "message"),
    [
        (
            'status = "Paused"\n',
            1,
            "status",
            '"Paused" is not a status; use one of active,'
            ' paused, archived (did you mean "paused"?).',
        ),
        ("status = 1\n", 1, "status", "must be a string, not a whole number."),
        (
            'perks = "free-coffee"\n',
            1,
            "perks",
            'must be an array of perk slugs, e.g. perks = ["free-coffee"], not a string.',
        ),
        (
            "per_member_daily = 0\n",
            1,
            "per_member_daily",
            "is 0, but it must be at least 1; leave it out for no limit.",
        ),
        (
            'valid_until = "2026-08-31"\n',
            1,
            "valid_until",
            "must be a TOML date or datetime without quotes, e.g. 2026-12-01T00:00:00Z,"
            " not a string.",
        ),
        (
            "description = '" + "x" * 2001 + "'\n",
            1,
            "description",
            "is 2,001 characters long; at most 2,000 are allowed.",
        ),
        (
            'audience = { tags = "vip" }\n',
            14,
            "audience.tags",
            'must be an array of names, e.g. tags = ["gold"], not a string.',
        ),
        (
            'share = "Summer"\n',
            1,
            "share",
            'must be a table, e.g. share = { title = "Summer codes" }, not a string.',
        ),
        ("share = { title = 3 }\n", 11, "share.title", "must be a string, not a whole number."),
        (
            f'share = {{ subtitle = "{"s" * 201}" }}\n',
            11,
            "share.subtitle",
            "is 201 characters long; at most 200 are allowed.",
        ),
        (
            'share = { image = ["a.png"] }\n',
            11,
            "share.image",
            "must be one image only, not an array.",
        ),
        (
            'share = { image = "" }\n',
            11,
            "share.image",
            "is empty; give a path or an https URL, or leave image out.",
        ),
        (
            'share = { image = "https://cdn.example.org/clip.mp4" }\n',
            11,
            "share.image",
            "must be an image (jpeg, png, webp or gif), not a video.",
        ),
        (
            'page = { banner = "http://cdn.example.org/b.png" }\n',
            10,
            "page.banner",
            "must be https; http:// URLs are not accepted.",
        ),
        (
            "page = { banner = 3 }\n",
            10,
            "page.banner",
            "must be a path or an https URL, not a whole number.",
        ),
        (
            "page = [1]\n",
            1,
            "page",
            'must be a table, e.g. page = { background = "#0b3d2e" }, not an array.',
        ),
        (
            "page = { ratio = nan }\n",
            10,
            "page.ratio",
            "is nan, which JSON cannot hold; use a string or a number.",
        ),
        (
            "page = { opens = 09:30:00 }\n",
            10,
            "page.opens",
            "is a time of day; page values are kept as JSON, which has none: use a string,"
            ' e.g. "09:30:00".',
        ),
    ],
)
def test_campaign_field_problems(tmp_path, body, column, field, message):
    assert one_campaign_problem(tmp_path, body) == (5, column, field, message)


def test_a_datetime_deep_in_the_page_is_placed_at_its_item(tmp_path):
    body = (
        "[campaign.page]\n"
        'title = "Summer"\n'
        "[campaign.page.hero]\n"
        'slides = [{ text = "A" }, { text = "B", at = 2026-06-01T10:00:00Z }]\n'
    )
    found = one_campaign_problem(tmp_path, body)
    assert found == (
        8,
        41,
        "page.hero.slides.at",
        "is a date-time; page values are kept as JSON, which has none: use a string,"
        ' e.g. "2026-06-01T10:00:00+00:00".',
    )
    path = write(tmp_path / "c.toml", CAMPAIGN + "page = { days = [2026-06-01, 2026-06-02] }\n")
    assert [found[1:4] for found in problems(path)] == [(5, 18, "page.days"), (5, 30, "page.days")]


def test_share_and_page_images_are_checked_like_perk_media(tmp_path):
    files = {"m/clip.mp4": MP4, "m/fake.png": b"text", "m/pic.webp": WEBP}
    for name, content in files.items():
        write(tmp_path / name, content)
    _sparse(tmp_path / "m" / "big.png", PNG, 5 * MB + 1)
    m = (tmp_path / "m").resolve()
    body = (
        'share = { image = "m/clip.mp4" }\n'
        '[campaign.page]\nbanner = "m/big.png"\n'
        '[[campaign]]\nslug = "d"\nname = "D"\npoints = 1\n'
        'share.image = "m/fake.png"\n'
        'page.banner = "m/pic.webp"\n'
    )
    assert problems(write(tmp_path / "c.toml", CAMPAIGN + body)) == [
        (
            "c.toml",
            5,
            11,
            "share.image",
            f"{m / 'clip.mp4'} is a video; only an image (jpeg, png, webp or gif) is accepted"
            " here.",
        ),
        (
            "c.toml",
            7,
            1,
            "page.banner",
            f"{m / 'big.png'} is 5.0 MB (5,242,881 bytes); an image may be at most 5 MB.",
        ),
        (
            "c.toml",
            12,
            1,
            "share.image",
            f"{m / 'fake.png'} is not a supported image; its content is none of"
            " jpeg, png, webp or gif.",
        ),
    ]


def test_an_https_image_and_a_page_without_banner_are_kept(tmp_path):
    body = (
        'share = { image = "https://cdn.example.org/s.JPG" }\n'
        'page = { background = "#fff", layout = { columns = 2, wide = false } }\n'
    )
    (spec,) = campaigns(write(tmp_path / "c.toml", CAMPAIGN + body))
    assert spec.share == {"image": "https://cdn.example.org/s.JPG"}
    assert spec.page == {"background": "#fff", "layout": {"columns": 2, "wide": False}}


# --- shared codes ------------------------------------------------------------------------------


SAME = (
    "once case, spaces, dashes and O/0, I/L/1 are ignored; shared codes must differ across"
    " all campaigns."
)


def test_codes_equal_once_normalised_are_refused_across_campaigns_and_files(tmp_path):
    first = write(tmp_path / "a.toml", CAMPAIGN + '\n[[campaign.code]]\ncode = "SUMMER50"\n')
    write(
        tmp_path / "b.toml",
        '[[campaign]]\nslug = "flyer"\nname = "Flyer"\nperks = ["free-coffee"]\n'
        '\n[[campaign.code]]\ncode = "winter"\n'
        '\n[[campaign.code]]\ncode = "summer-5O"\n'
        '\n[[campaign]]\nslug = "other"\nname = "Other"\npoints = 1\n'
        'code = [{ code = "W1NTER" }, { code = "wInteR " }]\n',
    )
    assert problems(tmp_path) == [
        ("b.toml", 10, 1, "code.code", f"is the same code as the one at {first}:7 {SAME}"),
        (
            "b.toml",
            16,
            11,
            "code.code",
            f"is the same code as the one at {tmp_path / 'b.toml'}:7 {SAME}",
        ),
        (
            "b.toml",
            16,
            32,
            "code.code",
            f"is the same code as the one at {tmp_path / 'b.toml'}:7 {SAME}",
        ),
    ]


def test_distinct_codes_of_two_campaigns_map_to_their_own_campaign(tmp_path):
    path = write(
        tmp_path / "c.toml",
        CAMPAIGN
        + '[[campaign.code]]\ncode = "A1"\n'
        + "[campaign.page]\nx = 1\n"
        + '[[campaign.code]]\ncode = "A2"\ninventory = 1\n'
        + CAMPAIGN.replace('"c"', '"d"')
        + '[[campaign.code]]\n   code = "B1"\n'
        + '[campaign.share]\ntitle = "T"\n',
    )
    first, second = campaigns(path)
    assert first.codes == (
        SharedCodeSpec(code="A1", inventory=None, line=6, column=1),
        SharedCodeSpec(code="A2", inventory=1, line=10, column=1),
    )
    assert second.codes == (SharedCodeSpec(code="B1", inventory=None, line=17, column=4),)
    assert (first.where("code"), second.where("code")) == ((5, 1), (16, 1))
    assert (second.line, second.share) == (12, {"title": "T"})


def test_an_inline_array_of_codes_is_placed_too(tmp_path):
    body = 'code = [\n  { code = "A1" },\n  { inventory = 3, code = "A2" },\n]\n'
    (spec,) = campaigns(write(tmp_path / "c.toml", CAMPAIGN + body))
    assert spec.codes == (
        SharedCodeSpec(code="A1", inventory=None, line=6, column=5),
        SharedCodeSpec(code="A2", inventory=3, line=7, column=20),
    )
    assert spec.where("code") == (6, 3)


@pytest.mark.parametrize(
    ("body", "where", "field", "message"),
    [
        (
            '[[campaign.code]]\ncode = "SUMMER50"\ninventroy = 5\n',
            (7, 1),
            "code.inventroy",
            'unknown key "inventroy" (did you mean "inventory"?).',
        ),
        (
            '[[campaign.code]]\ncode = "SÖMMER"\n',
            (6, 1),
            "code.code",
            "may hold only letters A-Z, digits, spaces and dashes.",
        ),
        (
            '[[campaign.code]]\ncode = "A\\tB"\n',
            (6, 1),
            "code.code",
            "may hold only letters A-Z, digits, spaces and dashes.",
        ),
        (
            '[[campaign.code]]\ncode = " - "\n',
            (6, 1),
            "code.code",
            "has no letter or digit; a code needs at least one.",
        ),
        (
            '[[campaign.code]]\ncode = ""\n',
            (6, 1),
            "code.code",
            "has no letter or digit; a code needs at least one.",
        ),
        (
            f'[[campaign.code]]\ncode = "{"A" * 65}"\n',
            (6, 1),
            "code.code",
            "is 65 characters long without its spaces and dashes; at most 64 are allowed.",
        ),
        (
            "[[campaign.code]]\ncode = 50\n",
            (6, 1),
            "code.code",
            "must be a string, not a whole number.",
        ),
        (
            '[[campaign.code]]\ncode = "X"\ninventory = -1\n',
            (7, 1),
            "code.inventory",
            "is -1, but it must be at least 1; leave it out for no limit.",
        ),
        (
            '[[campaign.code]]\ncode = "X"\ninventory = "5"\n',
            (7, 1),
            "code.inventory",
            "must be a whole number, not a string.",
        ),
        (
            'code = "SUMMER50"\n',
            (5, 1),
            "code",
            "must be written as [[campaign.code]] tables (double brackets), one per shared code,"
            " not a string.",
        ),
        (
            '[campaign.code]\ncode = "SUMMER50"\n',
            (5, 1),
            "code",
            "must be written as [[campaign.code]] tables (double brackets), one per shared code,"
            " not [campaign.code].",
        ),
        (
            'code = ["SUMMER50"]\n',
            (5, 9),
            "code",
            "each shared code must be a table: write [[campaign.code]] with code = ...,"
            " not a string.",
        ),
        (
            '[[campaign.code]]\ncode = "A"\n[[campaign.code]]\ncode = "a"\n',
            (8, 1),
            "code.code",
            "is the same code as the one at {path}:6 " + SAME,
        ),
    ],
)
def test_shared_code_problems(tmp_path, body, where, field, message):
    message = message.format(path=tmp_path / "c.toml")
    assert one_campaign_problem(tmp_path, body) == (*where, field, message)


def test_a_long_code_may_be_spaced_out(tmp_path):
    code = "-".join(["ABCD"] * 16)  # 79 characters, 64 once the dashes are gone
    body = f'[[campaign.code]]\ncode = "{code}"\n'
    (spec,) = campaigns(write(tmp_path / "c.toml", CAMPAIGN + body))
    assert spec.codes[0].code == code  # kept as written


def test_points_are_at_most_a_billion(tmp_path):
    path = write(tmp_path / "c.toml", '[[campaign]]\nslug = "c"\nname = "C"\npoints = 1e3\n')
    assert problems(path) == [
        ("c.toml", 4, 1, "points", "must be a whole number, not a decimal number.")
    ]
    path.write_text('[[campaign]]\nslug = "c"\nname = "C"\npoints = 1_000_000_001\n')
    assert problems(path) == [
        ("c.toml", 4, 1, "points", "is 1,000,000,001; it may be at most 1,000,000,000.")
    ]
    path.write_text('[[campaign]]\nslug = "c"\nname = "C"\npoints = 1_000_000_000\n')
    assert campaigns(path)[0].points == 1_000_000_000
