"""The key file and what it protects: secrets bound to their row, lookup hashes, signatures."""

import base64
import stat

import pytest
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from loyaltyctl import crypto
from loyaltyctl.domain.errors import EnvironmentProblem, KeysExist, KeysInvalid, KeysMissing


@pytest.fixture
def ring_file(tmp_path):
    path = tmp_path / "keys" / "keys.toml"
    crypto.create(path, exist_ok=False)
    return path


def test_the_key_file_is_private_and_reloads(ring_file):
    assert stat.S_IMODE(ring_file.stat().st_mode) == 0o600
    ring = crypto.load(ring_file)
    assert crypto.load(ring_file) == ring


def test_a_secret_decrypts_only_for_the_row_it_is_bound_to(ring_file):
    ring = crypto.load(ring_file)
    token = ring.encrypt("COFFEE-2026", bound_to="perk:free-coffee")
    assert "COFFEE-2026" not in token
    assert ring.decrypt(token, bound_to="perk:free-coffee") == "COFFEE-2026"
    with pytest.raises(KeysInvalid):
        ring.decrypt(token, bound_to="perk:other")
    key_id, nonce, sealed = token.split(":")
    flipped = bytearray(base64.b64decode(sealed))
    flipped[0] ^= 1
    with pytest.raises(KeysInvalid):
        ring.decrypt(
            f"{key_id}:{nonce}:{base64.b64encode(bytes(flipped)).decode()}",
            bound_to="perk:free-coffee",
        )


def test_rotation_adds_a_primary_and_keeps_old_secrets_readable(ring_file):
    old = crypto.load(ring_file)
    token = old.encrypt("v", bound_to="x")
    rotated = old.with_new_primary()
    crypto.save(rotated, ring_file)
    again = crypto.load(ring_file)
    assert again.primary != old.primary and old.primary in again.encryption
    assert again.decrypt(token, bound_to="x") == "v"
    assert again.encrypt("v", bound_to="x").startswith(again.primary + ":")


def test_lookup_hashes_are_keyed(tmp_path):
    a, _ = crypto.create(tmp_path / "a.toml", exist_ok=False)
    b, _ = crypto.create(tmp_path / "b.toml", exist_ok=False)
    assert a.lookup_hash("SUMMER50") == a.lookup_hash("SUMMER50") != b.lookup_hash("SUMMER50")


def test_signatures_verify_with_the_public_key_only(ring_file):
    ring = crypto.load(ring_file)
    public = load_pem_public_key(ring.public_key_pem().encode())
    signature = base64.b64decode(ring.sign(b"claim 1"))
    public.verify(signature, b"claim 1")
    with pytest.raises(Exception):  # noqa: B017 - cryptography raises InvalidSignature
        public.verify(signature, b"claim 2")


def test_missing_and_damaged_key_files_are_environment_problems(tmp_path):
    with pytest.raises(KeysMissing) as missing:
        crypto.load(tmp_path / "none.toml")
    assert isinstance(missing.value, EnvironmentProblem)  # exit 4 (tests/cli/test_errors.py)
    bad = tmp_path / "bad.toml"
    bad.write_text('[lookup]\nkey = "c2hvcnQ="\n')
    with pytest.raises(KeysInvalid):
        crypto.load(bad)
    with pytest.raises(KeysExist):
        crypto.create(bad, exist_ok=False)
