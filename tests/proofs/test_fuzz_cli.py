"""Every parser fuzzed through the CLI (hypothesis): TOML program files, CSV imports,
JSON lines, carts, codes, certificates, checkpoints and option values. Whatever the
input, the command ends with one of the spec's exit codes and a message — never
"Unexpected", never a traceback — and a refusal changes nothing.

Exit 1 is allowed only where the input is a code or a signed file that may simply be
unknown or invalid (a business refusal: unknown code, invalid certificate). A short
run in CI (FUZZ_EXAMPLES, default 15 per parser and database); a long run:
`FUZZ_EXAMPLES=2000 python -m pytest tests/proofs/test_fuzz_cli.py -p no:xdist`.
"""

from __future__ import annotations

import os
import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cli.helpers import add_member, write
from tests.proofs.program import PROGRAM, state

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "15"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=EXAMPLES <= 15,  # the short CI run is the same every time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# text with what breaks parsers: quotes, brackets, separators, control and wide characters
NASTY = st.text(
    alphabet=st.sampled_from(
        list(string.printable) + ["\x00", "\x1b", "\u202e", "é", "🎉", "\ufeff", "²"]
    ),
    max_size=300,
)


def _mutated(source: str):
    """``source`` with a few characters deleted, repeated or replaced."""

    @st.composite
    def build(draw):
        text = source
        for _ in range(draw(st.integers(1, 4))):
            at = draw(st.integers(0, len(text)))
            piece = draw(st.sampled_from(["[", "]", "{", "}", '"', "=", "\n", ",", "#", "9" * 40]))
            cut = draw(st.integers(0, 3))
            text = text[:at] + piece + text[at + cut :]
        return text

    return build()


def check(result, before: dict, after: dict, allowed=(0, 2, 3, 4)) -> None:
    output = result.stdout + result.stderr
    assert "Unexpected" not in output, output
    assert "Traceback" not in output, output
    assert result.exit_code in allowed, (result.exit_code, output)
    if result.exit_code != 0:
        assert result.stderr.strip(), "a refusal says why"
        if result.exit_code != 3 or "ingest" not in result.stderr:
            assert before == after, "a refusal changed the database"


@pytest.fixture
def club(cli, tmp_path):
    add_member(cli, "C-1", "Ada")
    add_member(cli, "C-F", "To Forget")  # `member forget --reason`: forgotten once, then refused
    assert cli("points", "credit", "C-1", "500", "--reason", "seed").exit_code == 0
    return tmp_path


def _run(cli, url, *args, allowed=(0, 2, 3, 4)):
    before = state(url)
    result = cli(*args)
    check(result, before, state(url), allowed)
    return result


@FUZZ
@given(text=st.one_of(NASTY, _mutated(PROGRAM)))
def test_program_files(cli, club, db_url, text):
    path = write(club / "fuzz" / "program.toml", text)
    _run(cli, db_url, "apply", str(path), "--dry-run")


@FUZZ
@given(text=st.one_of(NASTY, _mutated("member,amount,reason,key\nC-1,10,fuzz,k1\n")))
def test_points_csv(cli, club, db_url, text):
    path = write(club / "fuzz" / "points.csv", text)
    _run(cli, db_url, "points", "import", str(path))


@FUZZ
@given(text=st.one_of(NASTY, _mutated("external_id,name,phone,email,birthday\nC-9,Bo,,,\n")))
def test_members_csv(cli, club, db_url, text):
    path = write(club / "fuzz" / "members.csv", text)
    _run(cli, db_url, "member", "import", str(path))


EVENT = (
    '{"id": "f-1", "type": "order.paid", "at": "2026-01-02T10:00:00Z", "member": "C-1", '
    '"order_id": "o-1", "items": [{"sku": "A", "price": "10.00", "quantity": 2}]}\n'
)


@FUZZ
@given(text=st.one_of(NASTY, _mutated(EVENT)))
def test_event_lines(cli, club, db_url, text):
    path = write(club / "fuzz" / "events.jsonl", text)
    result = cli("events", "ingest", str(path), "--strict")
    check(result, {}, {}, (0, 2, 3, 4))


CART = '{"items": [{"sku": "A", "price": "30.00", "quantity": 1}], "shipping": "4.90"}'


@FUZZ
@given(text=st.one_of(NASTY, _mutated(CART)), code=NASTY)
def test_carts_and_codes(cli, club, db_url, text, code):
    path = write(club / "fuzz" / "cart.json", text)
    _run(cli, db_url, "coupon", "check", code or "X", "--cart", str(path), allowed=(0, 1, 2, 3, 4))
    _run(cli, db_url, "promo", "redeem", code or "X", "--member", "C-1", allowed=(1, 2))


@FUZZ
@given(text=st.one_of(NASTY, _mutated('{"certificate_id": "CT-1", "signature": "AAAA"}')))
def test_certificates_and_checkpoints(cli, club, db_url, text):
    path = write(club / "fuzz" / "file.json", text)
    _run(cli, db_url, "certificate", "verify", str(path), allowed=(1, 2, 3, 4))
    _run(cli, db_url, "audit", "verify", "--checkpoint", str(path), allowed=(1, 2, 3, 4))


OPTIONS = (
    ("points", "credit", "C-1", "{v}", "--reason", "fuzz"),
    ("points", "credit", "C-1", "5", "--reason", "{v}"),
    ("points", "credit", "C-1", "5", "--reason", "fuzz", "--expires-in", "{v}"),
    ("points", "credit", "C-1", "5", "--reason", "fuzz", "--expires", "{v}"),
    ("points", "write-off", "C-1", "{v}", "--reason", "fuzz"),
    ("points", "history", "C-1", "--limit", "{v}"),
    ("member", "add", "{v}", "--name", "Fuzz"),
    ("member", "update", "C-1", "--phone", "{v}"),
    ("member", "update", "C-1", "--email", "{v}"),
    ("member", "update", "C-1", "--birthday", "{v}"),
    ("member", "update", "C-1", "--name", "{v}"),
    ("member", "forget", "{v}", "--reason", "fuzz"),
    ("member", "forget", "C-F", "--reason", "{v}"),
    ("audit", "log", "--since", "{v}"),
    ("maintain", "run", "--now", "{v}", "--dry-run"),
    ("stats", "overview", "--since", "{v}"),
)


@FUZZ
@given(
    command=st.sampled_from(OPTIONS),
    value=st.one_of(NASTY, st.from_regex(r"-?[0-9]{1,40}[dhw]?", fullmatch=True)),
)
def test_option_values(cli, club, db_url, command, value):
    if value.startswith("-"):
        value = " " + value  # an option-looking value is Click's to refuse, not ours
    args = [part.replace("{v}", value) for part in command]
    # a business refusal is possible here: an id taken, more points than the balance, an
    # unknown or already forgotten member
    refusable = command[:2] in (("member", "add"), ("points", "write-off"), ("member", "forget"))
    _run(cli, db_url, *args, allowed=(0, 1, 2, 3, 4) if refusable else (0, 2, 3, 4))
