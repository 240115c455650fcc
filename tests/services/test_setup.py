"""Set-up through the service: the schema only through migrations, and the key file."""

from __future__ import annotations

import pytest

from loyaltyctl import crypto
from loyaltyctl.domain.errors import KeysExist
from loyaltyctl.services.setup import (
    create_key_file,
    rotate_keys,
    schema_revision,
    set_up,
    upgrade_schema,
)
from loyaltyctl.store.db import SCHEMA_HEAD, Database


@pytest.fixture
def fresh(tmp_path):
    """A SQLite URL whose file does not exist yet."""
    database = Database(f"sqlite:///{tmp_path / 'new.db'}", check_schema=False)
    yield database
    database.dispose()


def test_an_empty_database_is_upgraded_to_the_head_once(fresh):
    assert schema_revision(database=fresh).current is None
    assert schema_revision(database=fresh).up_to_date is False
    first = upgrade_schema(database=fresh)
    assert (first.before, first.after, first.upgraded) == (None, SCHEMA_HEAD, True)
    again = upgrade_schema(database=fresh)
    assert (again.before, again.after, again.upgraded) == (SCHEMA_HEAD, SCHEMA_HEAD, False)
    revision = schema_revision(database=fresh)
    assert (revision.current, revision.head, revision.up_to_date) == (
        SCHEMA_HEAD,
        SCHEMA_HEAD,
        True,
    )
    assert revision.database == fresh.safe_url()


def test_set_up_creates_the_key_file_only_when_missing(fresh, tmp_path):
    path = tmp_path / "keys" / "keys.toml"
    first = set_up(database=fresh, keys_file=path)
    assert (first.upgraded, first.keys_created, first.keys_file) == (True, True, str(path))
    ring = crypto.load(path)
    again = set_up(database=fresh, keys_file=path)
    assert (again.upgraded, again.keys_created) == (False, False)
    assert crypto.load(path).primary == ring.primary


def test_a_key_file_is_created_once(tmp_path):
    path = tmp_path / "keys.toml"
    created = create_key_file(path)
    ring = crypto.load(path)
    assert (created.primary, created.signing_key) == (ring.primary, ring.signing_id)
    with pytest.raises(KeysExist):
        create_key_file(path)
    assert crypto.load(path).primary == ring.primary


def test_rotation_writes_a_new_primary_and_finish_adds_none(db, keys, tmp_path):
    path = tmp_path / "keys" / "keys.toml"  # the `keys` fixture's file
    rotated = rotate_keys(database=db, keys=keys, keys_file=path, operator="t", finish=False)
    assert rotated.added is True and rotated.primary != keys.primary
    assert set(rotated.keys) == {keys.primary, rotated.primary}
    assert crypto.load(path).primary == rotated.primary  # written into the file
    ring = crypto.load(path)
    finished = rotate_keys(database=db, keys=ring, keys_file=path, operator="t", finish=True)
    assert (finished.added, finished.primary, finished.reencrypted) == (False, ring.primary, 0)
    assert crypto.load(path).primary == ring.primary


def test_a_database_at_the_head_is_left_as_it_is(db_url):
    database = Database(db_url, check_schema=False)
    try:
        upgrade = upgrade_schema(database=database)
        revision = schema_revision(database=database)
    finally:
        database.dispose()
    assert (upgrade.before, upgrade.after, upgrade.upgraded) == (SCHEMA_HEAD, SCHEMA_HEAD, False)
    assert (revision.current, revision.up_to_date) == (SCHEMA_HEAD, True)
