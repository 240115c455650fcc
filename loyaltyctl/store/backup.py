"""`db backup` on SQLite: the online backup API, while other processes keep writing."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path


def backup_sqlite(source: Path, target: Path) -> int:
    """Copy the database at ``source`` into a new file ``target`` (mode 0600) in one step
    of SQLite's online backup: it reads one snapshot (WAL: writers go on meanwhile) and
    the copy is whole. Returns the copy's size in pages."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.close(os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            src.backup(dst, pages=-1)  # one step: one consistent snapshot
            dst.execute("PRAGMA journal_mode=DELETE")  # a single file, nothing beside it
            problems = dst.execute("PRAGMA quick_check").fetchone()[0]
            if problems != "ok":  # pragma: no cover - a failing disk
                raise sqlite3.DatabaseError(f"the copy does not check: {problems}")
            return dst.execute("PRAGMA page_count").fetchone()[0]
        finally:
            dst.close()
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        src.close()
