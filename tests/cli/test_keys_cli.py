import stat
from pathlib import Path


def test_init_creates_the_key_file_once_and_keeps_it(cli, tmp_path):
    first = cli("init", "--json")
    assert first.exit_code == 0, first.stderr
    path = Path(first.json["keys_file"])
    assert first.json["keys_created"] is True
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    content = path.read_text()
    again = cli("init", "--json")
    assert again.json["keys_created"] is False and path.read_text() == content


def test_keys_init_refuses_to_replace_a_key_file(cli):
    assert cli("keys", "init").exit_code == 0
    again = cli("keys", "init", "--json")
    assert again.exit_code == 1
    assert again.json["error"]["code"] == "keys_exist"


def test_rotate_then_public(cli):
    created = cli("keys", "init", "--json").json
    rotated = cli("keys", "rotate", "--json")
    assert rotated.exit_code == 0
    assert rotated.json["primary"] != created["primary"]
    assert created["primary"] in rotated.json["keys"]
    public = cli("keys", "public")
    assert public.stdout.startswith("-----BEGIN PUBLIC KEY-----")
    assert "PRIVATE" not in public.stdout


def test_a_missing_key_file_exits_4_with_what_to_do(cli, monkeypatch, tmp_path):
    monkeypatch.setenv("LOYALTYCTL_KEYS_FILE", str(tmp_path / "nowhere.toml"))
    result = cli("keys", "public", "--json")
    assert result.exit_code == 4
    assert result.json["error"]["code"] == "keys_missing"
    assert "keys init" in result.stderr
