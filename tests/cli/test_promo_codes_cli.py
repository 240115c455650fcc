"""`promo generate` and `promo export` through the CLI, on SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
import json
import re
import stat

import pytest

from loyaltyctl.domain.promo import has_valid_check, normalize

CODE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{3}$")


@pytest.fixture
def promo(cli, keys):
    """cli("promo", ...) with a campaign `spring` holding a shared code."""
    created = cli("promo", "create", "spring", "--name", "Spring", "--points", "50",
                  "--code", "SPRING 25", "--inventory", "5")  # fmt: skip
    assert created.exit_code == 0, created.stderr
    return lambda *args: cli("promo", *args)


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_generate_writes_the_codes_only_to_a_private_file(promo, tmp_path):
    out = tmp_path / "codes.csv"
    result = promo("generate", "spring", "--count", 3000, "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    doc = result.json
    assert (doc["campaign"], doc["count"]) == ("spring", 3000)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = read_csv(out)
    assert list(rows[0]) == ["code", "batch_id", "uses_allowed"]
    assert len(rows) == len({r["code"] for r in rows}) == 3000
    assert all(CODE.match(r["code"]) and has_valid_check(normalize(r["code"])) for r in rows)
    assert {(r["batch_id"], r["uses_allowed"]) for r in rows} == {(doc["batch_id"], "1")}
    assert not [r for r in rows if r["code"] in result.stdout + result.stderr]

    # finishing a complete batch appends nothing
    again = promo("generate", "spring", "--batch", doc["batch_id"], "--out", out)
    assert again.exit_code == 0, again.stderr
    assert "Nothing left to generate" in " ".join(again.stderr.split() + again.stdout.split())
    assert len(read_csv(out)) == 3000


def test_without_out_the_human_output_says_how_to_get_the_codes(promo):
    result = promo("generate", "spring", "--count", 5)
    assert result.exit_code == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert "Generated 5 codes" in text and "promo export spring --batch" in text


def test_a_refused_batch_names_the_numbers_and_writes_nothing(promo, tmp_path):
    out = tmp_path / "codes.csv"
    result = promo("generate", "spring", "--count", 2000, "--length", 6, "--out", out, "--json")
    assert result.exit_code == 1
    error = result.json["error"]
    assert error["code"] == "too_many_codes"
    assert (error["count"], error["length"], error["max_live"], error["suggested_length"]) == (
        2000,
        6,
        1073,
        7,
    )
    message = " ".join(result.stderr.split())
    assert "2,000" in message and "1,073" in message and "--length 7" in message
    assert not out.exists()


def test_usage_errors(promo):
    assert promo("generate", "spring").exit_code == 2  # no --count for a new batch
    assert promo("generate", "spring", "--count", 5, "--prefix", "SUM!").exit_code == 2
    assert promo("generate", "spring", "--count", 5, "--length", 40).exit_code == 2
    assert promo("generate", "spring", "--count", 0).exit_code == 2
    assert promo("generate", "nope", "--count", 5).exit_code == 1
    assert promo("generate", "spring", "--batch", "BXXXX").exit_code == 1


def test_usage_errors_name_the_flags(promo):
    missing = promo("generate", "spring", "--json")
    assert (missing.exit_code, missing.json["error"]["message"]) == (
        2,
        "--count is required for a new batch (or give --batch ID).",
    )
    bad = promo("generate", "spring", "--count", 5, "--prefix", "u!")
    assert " ".join(bad.stderr.split()) == (
        "error: --prefix 'u!' has '!': use letters A-Z and digits. See the command's --help."
    )
    batch = promo("generate", "spring", "--count", 5, "--json").json["batch_id"]
    changed = promo("generate", "spring", "--batch", batch, "--uses-per-code", 2, "--json")
    assert changed.json["error"]["message"] == (
        f"Batch {batch} was started with --uses-per-code 1; leave --uses-per-code out to "
        "finish it as it began."
    )


def test_ctrl_c_keeps_the_chunks_done_says_how_to_finish_and_exits_130(
    promo, tmp_path, monkeypatch
):
    from loyaltyctl.cli.promo_codes import _GeneratedCodes
    from loyaltyctl.services import promo_codes

    monkeypatch.setattr(promo_codes, "CHUNK_SIZES", {"sqlite": 5, "postgresql": 5})
    add = _GeneratedCodes.add

    def add_then_interrupt(self, batch, codes):
        add(self, batch, codes)
        raise KeyboardInterrupt

    monkeypatch.setattr(_GeneratedCodes, "add", add_then_interrupt)
    out = tmp_path / "codes.csv"
    result = promo("generate", "spring", "--count", 12, "--out", out, "--json")
    assert (result.exit_code, result.stdout) == (130, "")
    (batch,) = re.findall(r"--batch (B\w+)", result.stderr)
    assert f"Batch {batch} has 5 of 12 codes; finish it with: loyaltyctl promo generate " in (
        " ".join(result.stderr.split())
    )
    assert len(read_csv(out)) == 5
    monkeypatch.setattr(_GeneratedCodes, "add", add)
    done = promo("generate", "spring", "--batch", batch, "--out", out, "--json")
    assert (done.exit_code, done.json["count"]) == (0, 12), done.stderr
    assert len(read_csv(out)) == 12


def test_export_round_trips_the_codes_with_uses_and_status(promo, tmp_path):
    made = tmp_path / "made.csv"
    doc = promo("generate", "spring", "--count", 40, "--out", made, "--json").json
    out = tmp_path / "export.csv"
    result = promo("export", "spring", "--out", out, "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json["count"] == 41 and result.json["out"] == str(out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    rows = read_csv(out)
    assert list(rows[0]) == ["code", "batch_id", "uses_allowed", "uses", "status"]
    # the shared code as written (a code cannot start with a formula character)
    assert rows[0] == {
        "code": "SPRING 25",
        "batch_id": "",
        "uses_allowed": "5",
        "uses": "0",
        "status": "available",
    }
    assert [r["code"] for r in rows[1:]] == [r["code"] for r in read_csv(made)]
    assert {(r["batch_id"], r["status"]) for r in rows[1:]} == {(doc["batch_id"], "available")}

    # one batch, to stdout: no shared code
    listing = promo("export", "spring", "--batch", doc["batch_id"])
    assert listing.exit_code == 0, listing.stderr
    streamed = list(csv.DictReader(io.StringIO(listing.stdout)))
    assert [r["code"] for r in streamed] == [r["code"] for r in rows[1:]]

    as_json = promo("export", "spring", "--json")
    assert as_json.exit_code == 0, as_json.stderr
    document = json.loads(as_json.stdout)
    assert document["count"] == 41 and len(document["codes"]) == 41
    assert document["codes"][0]["code"] == "SPRING 25"


def test_export_needs_the_key_file(promo, monkeypatch, tmp_path):
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(tmp_path / "missing.toml"))
    result = promo("export", "spring")
    assert result.exit_code == 4
