"""Set-up: schema upgrades and revisions, the key file."""

from __future__ import annotations


def upgrade_text(result) -> str:
    if not result.upgraded:
        return f"Schema of {result.database} is up to date (revision {result.after})."
    start = result.before or "empty"
    return f"Upgraded {result.database}: {start} → {result.after}."


def set_up_text(result) -> str:
    created = (
        f" Created the key file {result.keys_file} (mode 0600); back it up."
        if result.keys_created
        else ""
    )
    return upgrade_text(result) + created


def revision_text(result) -> str:
    return f"{result.database}: revision {result.current or 'none'} (needed: {result.head})" + (
        "" if result.up_to_date else " — run `loyaltyctl db upgrade`"
    )


def key_file_created(result) -> str:
    return (
        f"Created {result.keys_file} (mode 0600). "
        "Back it up: stored secrets cannot be read without it."
    )


def rotation_text(result) -> str:
    what = "New primary encryption key" if result.added else "Primary encryption key"
    return (
        f"{what} {result.primary} in {result.keys_file}; "
        f"re-encrypted {result.reencrypted:,} stored secret(s)."
    )
