"""What the benchmark scripts share: temporary databases with the loyaltyctl schema,
the environment of the loyaltyctl child processes, clean-up, and the code measured.

Not a benchmark itself; ``bench/bench_import.py`` and ``bench/bench_claims.py`` import
it (``python bench/x.py`` puts ``bench/`` first on ``sys.path``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
GENESIS = "0" * 64


# --- databases -------------------------------------------------------------------


class Backend:
    name: str

    def url(self, label: str) -> str:
        raise NotImplementedError

    def create(self, label: str) -> str:
        """A fresh database with the loyaltyctl schema; returns its URL."""
        from loyaltyctl.store.db import Database
        from loyaltyctl.store.migrate import upgrade

        url = self._create_empty(label)
        db = Database(url, check_schema=False)
        try:
            upgrade(db)
        finally:
            db.dispose()
        return url

    def _create_empty(self, label: str) -> str:
        raise NotImplementedError

    def drop(self, label: str) -> None:
        raise NotImplementedError

    def progress(self, label: str) -> int | None:
        """Rows an import running in another process has reached, when visible."""
        return None

    def cleanup(self) -> None:
        pass


class SqliteBackend(Backend):
    """Database files ``<label>.db`` in ``workdir`` (removed with it)."""

    name = "sqlite"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir

    def path(self, label: str) -> Path:
        return self.workdir / f"{label}.db"

    def url(self, label: str) -> str:
        return f"sqlite:///{self.path(label)}"  # the path is absolute: sqlite:////...

    def _create_empty(self, label: str) -> str:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{self.path(label)}{suffix}").unlink(missing_ok=True)
        return self.url(label)

    def drop(self, label: str) -> None:
        self._create_empty(label)


class PostgresBackend(Backend):
    """Databases ``<prefix>_<label>``, created and dropped through ``PG_ADMIN_URL``."""

    name = "postgresql"

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.created: list[str] = []

    def dbname(self, label: str) -> str:
        return f"{self.prefix}_{label}"

    def url(self, label: str) -> str:
        return f"postgresql://postgres@127.0.0.1:5432/{self.dbname(label)}"

    def _admin(self):
        import psycopg

        return psycopg.connect(PG_ADMIN_URL, autocommit=True)

    def _create_empty(self, label: str) -> str:
        name = self.dbname(label)
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url(label)

    def drop(self, label: str) -> None:
        name = self.dbname(label)
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.created:
            self.created.remove(name)

    def cleanup(self) -> None:
        with self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


def cleanup_backends(backends: list[Backend]) -> None:
    """Drop what each backend still holds; a failure is reported and the rest go on."""
    for backend in backends:
        try:
            backend.cleanup()
        except Exception as exc:  # noqa: BLE001 - report and go on cleaning up
            print(f"cleanup of {backend.name} failed: {exc}", file=sys.stderr)


def remove_workdir(workdir: Path, keep: bool) -> None:
    if keep:
        print(f"kept {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)


# --- child processes -------------------------------------------------------------


def child_env(
    workdir: Path, keys_file: Path | None = None, *, leave_out: tuple[str, ...] = ()
) -> dict:
    """The environment of a loyaltyctl child: none of the caller's LOYALTYCTL_ settings
    (nor the ``leave_out`` variables), no user config file, no colour."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("LOYALTYCTL_") and k not in leave_out
    }
    env["LOYALTYCTL_OPERATOR"] = "bench"
    if keys_file is not None:
        env["LOYALTYCTL_KEYS_FILE"] = str(keys_file)
    env.update(
        XDG_CONFIG_HOME=str(workdir / "xdg-config"),  # no user config file
        XDG_DATA_HOME=str(workdir / "xdg-data"),
        NO_COLOR="1",
    )
    return env


# --- the code measured -----------------------------------------------------------


def code_version() -> str:
    """The commit the measured loyaltyctl comes from, and whether its tree had edits."""
    import loyaltyctl

    root = Path(loyaltyctl.__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(root), "status", "--porcelain", "--", "loyaltyctl"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return f"loyaltyctl {loyaltyctl.__version__} (not a git checkout)"
    return f"loyaltyctl at {head}" + (" with uncommitted edits" if dirty else "")


def load_average() -> str:
    """The machine's 1, 5 and 15 minute load averages (others share it: say how busy)."""
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"
