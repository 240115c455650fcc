"""`audit checkpoint --out FILE` and `audit verify --checkpoint FILE`: a cut that leaves
the database consistent (a chain's tail removed and its head rolled back, a whole chain
removed with its head row, ledger entries removed with the member row set back) passes
a plain verify and is named with the checkpoint; a changed checkpoint file is refused."""

from __future__ import annotations

import json

from tests.cli.helpers import add_member, credit, flat
from tests.proofs.program import build


def _checkpoint(cli, tmp_path):
    path = tmp_path / "checkpoints" / "cp.json"
    path.parent.mkdir()
    made = cli("audit", "checkpoint", "--out", str(path), "--json")
    assert made.exit_code == 0, made.stderr
    assert made.json["out"] == str(path)
    return path, made.json


def _fails_with(cli, path, *words):
    result = cli("audit", "verify", "--checkpoint", str(path), "--json")
    assert result.exit_code == 1, result.stdout
    problems = " | ".join(result.json["error"]["problems"])
    for word in words:
        assert word in problems, problems


def test_a_checkpoint_verifies_and_later_changes_keep_it_valid(cli, tmp_path):
    build(cli, tmp_path)
    path, made = _checkpoint(cli, tmp_path)
    assert made["chains"] > 0 and made["ledger_entries"] > 0
    document = json.loads(path.read_text())
    assert document["counts"]["ledger_entries"] == made["ledger_entries"]
    assert "signature" in document
    credit(cli, "C-1", 5, "after the checkpoint")
    assert cli("member", "update", "C-2", "--email", "alan@example.org").exit_code == 0
    result = cli("audit", "verify", "--checkpoint", str(path))
    assert result.exit_code == 0, result.stderr
    log = cli("audit", "log", "--json").json
    assert any(r["action"] == "audit.checkpoint" for r in log)


def test_a_consistent_undo_passes_verify_but_not_the_checkpoint(cli, tmp_path, tamper):
    add_member(cli, "C-1", "Ada")
    credit(cli, "C-1", 100, "first")
    credit(cli, "C-1", 50, "second")
    path, _ = _checkpoint(cli, tmp_path)
    # the last ledger entry removed and the member row set back as it was before it
    tamper(
        "DELETE FROM ledger_entry WHERE seq = 2",
        "UPDATE member SET balance = 100, ledger_seq = 1, "
        "ledger_head = (SELECT hash FROM ledger_entry WHERE seq = 1)",
        "UPDATE ledger_summary SET points = points - 50, entries = entries - 1 "
        "WHERE points >= 50 AND kind = 'credit'",
    )
    assert cli("audit", "verify").exit_code == 0  # nothing in the database disagrees
    _fails_with(cli, path, "ledger of member C-1: entry #2, recorded by the checkpoint, is gone")


def test_a_cut_audit_chain_is_named_with_the_checkpoint(cli, tmp_path, tamper):
    add_member(cli, "C-1", "Ada")
    assert cli("member", "update", "C-1", "--add-tag", "vip").exit_code == 0
    path, _ = _checkpoint(cli, tmp_path)
    tamper(
        "DELETE FROM audit_event WHERE subject = 'member:C-1' AND seq = 2",
        "UPDATE audit_chain SET seq = 1, head = (SELECT hash FROM audit_event "
        "WHERE subject = 'member:C-1' AND seq = 1) WHERE subject = 'member:C-1'",
    )
    _fails_with(cli, path, "audit chain member:C-1: event #2, recorded by the checkpoint, is gone")


def test_a_changed_checkpoint_file_is_refused(cli, tmp_path):
    add_member(cli, "C-1", "Ada")
    path, _ = _checkpoint(cli, tmp_path)
    document = json.loads(path.read_text())
    document["counts"]["members"] = 0
    path.write_text(json.dumps(document))
    result = cli("audit", "verify", "--checkpoint", str(path), "--json")
    assert result.exit_code == 1
    assert result.json["error"]["code"] == "bad_checkpoint"
    path.write_text("not json {")
    refused = cli("audit", "verify", "--checkpoint", str(path))
    assert refused.exit_code == 1
    assert "not an audit checkpoint" in flat(refused.stderr)


def test_maintain_run_writes_a_checkpoint_on_a_schedule(cli, tmp_path, monkeypatch):
    add_member(cli, "C-1", "Ada")
    folder = tmp_path / "scheduled"
    monkeypatch.setenv("LOYALTYCTL_CHECKPOINT_DIR", str(folder))
    monkeypatch.setenv("LOYALTYCTL_CHECKPOINT_EVERY_HOURS", "24")
    assert cli("maintain", "run").exit_code == 0
    assert cli("maintain", "run").exit_code == 0  # not due again within 24 hours
    written = sorted(folder.glob("checkpoint-*.json"))
    assert len(written) == 1
    assert cli("audit", "verify", "--checkpoint", str(written[0])).exit_code == 0
    monkeypatch.setenv("LOYALTYCTL_CHECKPOINT_EVERY_HOURS", "soon")
    assert cli("maintain", "run").exit_code == 4
