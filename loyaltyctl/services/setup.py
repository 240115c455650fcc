"""Set-up: the database schema (only through the migrations) and the key file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from loyaltyctl import crash, crypto
from loyaltyctl.crypto import KeyRing
from loyaltyctl.services.secrets import reencrypt_secrets
from loyaltyctl.store import migrate
from loyaltyctl.store.db import SCHEMA_HEAD, Database


@dataclass(frozen=True)
class SchemaUpgrade:
    database: str  # the URL without its password
    before: str | None  # None: the database had no schema
    after: str | None
    upgraded: bool


@dataclass(frozen=True)
class SchemaRevision:
    database: str
    current: str | None
    head: str  # the revision this loyaltyctl needs
    up_to_date: bool


@dataclass(frozen=True)
class SetUp:
    """`init`: the schema brought to the head revision, and the key file."""

    database: str
    before: str | None
    after: str | None
    upgraded: bool
    keys_file: str
    keys_created: bool


@dataclass(frozen=True)
class KeyFile:
    keys_file: str
    primary: str  # the encryption key new secrets are sealed with
    signing_key: str  # the id of the key that signs certificates


@dataclass(frozen=True)
class KeyRotation:
    keys_file: str
    primary: str
    keys: tuple[str, ...]
    added: bool  # False: --finish, no new key
    reencrypted: int


def upgrade_schema(*, database: Database) -> SchemaUpgrade:
    """Apply the pending migrations (creating a SQLite file if there is none)."""
    before, after = migrate.upgrade(database)
    return SchemaUpgrade(database.safe_url(), before, after, before != after)


def schema_revision(*, database: Database) -> SchemaRevision:
    revision = migrate.current(database)
    return SchemaRevision(database.safe_url(), revision, SCHEMA_HEAD, revision == SCHEMA_HEAD)


def key_ring(keys_file: Path) -> tuple[KeyRing, bool]:
    """The key ring of ``keys_file``, which is created when missing; (ring, created)."""
    return crypto.create(keys_file, exist_ok=True)


def create_key_file(keys_file: Path) -> KeyFile:
    """A new key file (mode 0600); refused when one exists (KeysExist)."""
    ring, _created = crypto.create(keys_file, exist_ok=False)
    return KeyFile(str(keys_file), ring.primary, ring.signing_id)


def set_up(*, database: Database, keys_file: Path) -> SetUp:
    """Create or upgrade the schema, then create the key file if missing. Idempotent."""
    schema = upgrade_schema(database=database)
    _ring, created = key_ring(keys_file)
    return SetUp(
        schema.database, schema.before, schema.after, schema.upgraded, str(keys_file), created
    )


def rotate_keys(
    *, database: Database, keys: KeyRing, keys_file: Path, operator: str, finish: bool
) -> KeyRotation:
    """A new primary key written into the key file first (the old keys stay in it), then
    every stored secret re-encrypted under the primary in one transaction. ``finish``
    adds no key: it completes an interrupted rotation. ``keys``: the key file's ring."""
    ring = keys if finish else keys.with_new_primary()
    if not finish:
        crypto.save(ring, keys_file)
        crash.reached("rotate-after-key-file")
    count = database.run(lambda s: reencrypt_secrets(session=s, keys=ring, operator=operator))
    return KeyRotation(
        str(keys_file), ring.primary, tuple(sorted(ring.encryption)), not finish, count
    )
