"""How a database failure reads to the user (exit 4 or a refusal), for `Database`:
a full disk, a read-only database, a login the server refuses, a server out of reach."""

from __future__ import annotations

import os
from pathlib import Path

from loyaltyctl.domain.errors import (
    DatabaseReadOnly,
    DatabaseUnavailable,
    DiskFull,
    LoyaltyError,
    NotPermitted,
)


class FailureWords:
    """Mixed into `Database` (which gives ``url``, ``is_sqlite``, ``backend``,
    ``sqlite_path``, ``safe_url`` and ``url_login``)."""

    url: str
    is_sqlite: bool
    backend: str
    sqlite_path: Path | None

    def storage_problem(self, exc: BaseException) -> LoyaltyError | None:
        """A full disk or a read-only database as the environment problem it is (exit 4),
        or None for any other error."""
        orig = getattr(exc, "orig", None) or exc
        sqlstate = getattr(orig, "sqlstate", None)
        message = str(orig).lower()
        where = self.sqlite_path or self.safe_url()
        if sqlstate in ("53100", "53200") or any(
            words in message for words in ("database or disk is full", "no space left on device")
        ):
            return DiskFull(
                f"The disk is full: the database at {where} could not grow, and the change "
                "in progress was not made."
            )
        cannot_open = "unable to open database" in message or "disk i/o error" in message
        if (
            sqlstate == "25006"
            or "readonly database" in message
            or (cannot_open and self._on_read_only_fs())
        ):
            return DatabaseReadOnly(
                f"The database at {where} is read-only "
                + (
                    "(its file, folder or file system cannot be written)."
                    if self.is_sqlite
                    else "(a read-only server or transaction)."
                ),
                backend=self.backend,
            )
        return None

    def _on_read_only_fs(self) -> bool:
        """SQLite on a read-only file system cannot even open (WAL writes beside the file)."""
        path = self.sqlite_path
        if path is None or not path.exists():
            return False
        try:
            return bool(os.statvfs(path).f_flag & os.ST_RDONLY) or not os.access(
                path.parent, os.W_OK
            )
        except OSError:
            return False

    def _not_opened(self, exc: BaseException) -> Exception:
        """What a failed connection is to the user: a full disk or a read-only database
        (exit 4), refused, or unavailable."""
        storage = self.storage_problem(exc)
        if storage is not None:
            return storage
        refused = _login_refused(exc)
        if refused:  # the server knows the login but lets it no further (spec §8)
            return NotPermitted(
                f"The database at {self.safe_url()} refused the login: {refused}.",
                operator=self.url_login(),
                role=None,
            )
        return DatabaseUnavailable(
            f"Cannot open the database at {self.safe_url()}: {first_line(exc)}.",
            backend=self.backend,
        )


# what PostgreSQL says when it knows the login but does not let it in: no CONNECT on the
# database (staff enforced and the login is not staff) or a disabled login (removed)
_REFUSALS = ("does not have connect privilege", "is not permitted to log in")


def _login_refused(exc: BaseException) -> str | None:
    text = str(getattr(exc, "orig", None) or exc)
    for line in text.splitlines():
        if any(phrase in line.lower() for phrase in _REFUSALS):
            return line.split("FATAL:", 1)[-1].split("DETAIL:", 1)[-1].strip().rstrip(".")
    return None


def first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return (
        str(orig).strip().splitlines()[0].rstrip(".") if str(orig).strip() else type(orig).__name__
    )
