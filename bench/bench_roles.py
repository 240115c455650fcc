#!/usr/bin/env python
"""What the staff roles (spec §8) cost: start-up, the check before each command, and the
bulk paths under PostgreSQL's row policies.

Not a test: it prints figures, each next to a baseline measured in the same run.

1. Start-up: child processes, taking turns, median of ``--runs``: ``python -c "import
   typer"`` (the baseline), ``loyaltyctl --help``, and ``loyaltyctl points balance C-1
   --json`` on SQLite and on PostgreSQL without staff, and with staff as the owner and
   (PostgreSQL) as an administrator login; with ``--baseline-tree DIR`` also the same
   commands run by the code in DIR (a checkout from before the roles), in the same turns.
2. The check itself, in process: the transaction that reads who runs the command
   (`services.staff.identify`), against a raw-driver transaction of one ``SELECT 1`` on
   the same database, ``--checks`` times each.
3. The hot path (PostgreSQL): ``--hot`` claims and credits in process, one transaction
   each, as the owner (no row policy applies to the tables' owner) and as an
   administrator (policies and counter guards).
4. Bulk writes under row security (PostgreSQL): ``loyaltyctl points import`` of
   ``--rows`` rows as the owner (``COPY`` straight into the tables) and as a manager
   (rows staged with ``COPY``, then ``INSERT ... SELECT`` through the policies), on two
   fresh databases with the same members.

The children may write and use bytecode caches (``PYTHONDONTWRITEBYTECODE`` is left
out of their environment), as an installed package does: compiling every module from
source on each run would time the compiler. Databases: ``bench_roles_<pid>_*`` on
``postgresql://postgres@127.0.0.1:5432`` and SQLite files in a temporary directory;
logins ``bench_roles_<pid>_*`` (created and dropped by the script).

Usage:
    python bench/bench_roles.py
    python bench/bench_roles.py --runs 11 --rows 50000
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    PG_ADMIN_URL,
    PostgresBackend,
    SqliteBackend,
    child_env,
    cleanup_backends,
    code_version,
    remove_workdir,
)

PREFIX = f"bench_roles_{os.getpid()}"


def _admin():
    import psycopg

    return psycopg.connect(PG_ADMIN_URL, autocommit=True)


def _url(login: str, database: str) -> str:
    return f"postgresql://{login}@127.0.0.1:5432/{database}"


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "loyaltyctl", *args]


def _run(cmd: list[str], env: dict, cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, check=True)
    return time.perf_counter() - t0


def _club(env: dict, workdir: Path) -> dict[str, str]:
    """A PostgreSQL club owned by its own login (with CREATEROLE), staffed after init."""
    owner = f"{PREFIX}_owner"
    name = f"{PREFIX}_club"
    with _admin() as conn:
        conn.execute(f'CREATE ROLE "{owner}" LOGIN CREATEROLE')
        conn.execute(f'CREATE DATABASE "{name}" OWNER "{owner}"')
    url = _url(owner, name)
    for args in (("init",), ("member", "add", "C-1", "--name", "Ada")):
        subprocess.run(_cli("--database-url", url, *args), env=env, cwd=workdir, check=True)
    return {"owner": owner, "database": name}


def _baseline_commands(args, env: dict, workdir: Path, sqlite, plain_pg) -> dict[str, list]:
    """The same commands run by the loyaltyctl of ``--baseline-tree`` (a checkout of the
    code before the roles), on databases its own `init` made."""
    if not args.baseline_tree:
        return {}
    old = {**env, "PYTHONPATH": str(Path(args.baseline_tree).resolve())}
    urls = {"SQLite": sqlite.url("before"), "PostgreSQL": plain_pg.url("before")}
    with _admin() as conn:
        conn.execute(f'CREATE DATABASE "{plain_pg.dbname("before")}"')
    plain_pg.created.append(plain_pg.dbname("before"))
    for url in urls.values():
        for step in (("init",), ("member", "add", "C-1", "--name", "Ada")):
            subprocess.run(
                _cli("--database-url", url, *step),
                env=old,
                cwd=workdir,
                check=True,
                capture_output=True,
            )
    commands = {"loyaltyctl --help, before": (_cli("--help"), old)}
    for name, url in urls.items():
        commands[f"points balance, {name}, before"] = (
            _cli("--database-url", url, "points", "balance", "C-1", "--json"),
            old,
        )
    return commands


def startup(args, env: dict, workdir: Path, sqlite: SqliteBackend) -> dict[str, float]:
    plain_pg = PostgresBackend(PREFIX + "_plain")
    try:
        urls = {"sqlite": sqlite.create("plain"), "postgresql": plain_pg.create("db")}
        staffed = sqlite.create("staffed")
        for url in (*urls.values(), staffed):
            subprocess.run(
                _cli("--database-url", url, "member", "add", "C-1", "--name", "Ada"),
                env=env,
                cwd=workdir,
                check=True,
                capture_output=True,
            )
        login = env["LOGNAME"]
        subprocess.run(
            _cli("--database-url", staffed, "staff", "add", login, "--role", "owner"),
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
        )
        club = _club(env, workdir)
        admin = f"{PREFIX}_admin"
        owner_url = _url(club["owner"], club["database"])
        subprocess.run(
            _cli("--database-url", owner_url, "staff", "add", admin, "--role", "administrator"),
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
        )
        balance = ("points", "balance", "C-1", "--json")
        cmds = {
            'python -c "import typer"': [sys.executable, "-c", "import typer"],
            "loyaltyctl --help": _cli("--help"),
            "points balance, SQLite, no staff": _cli("--database-url", urls["sqlite"], *balance),
            "points balance, SQLite, owner": _cli("--database-url", staffed, *balance),
            "points balance, PostgreSQL, no staff": _cli(
                "--database-url", urls["postgresql"], *balance
            ),
            "points balance, PostgreSQL, owner": _cli("--database-url", owner_url, *balance),
            "points balance, PostgreSQL, administrator": _cli(
                "--database-url", _url(admin, club["database"]), *balance
            ),
        }
        runs = {name: (cmd, env) for name, cmd in cmds.items()}
        runs.update(_baseline_commands(args, env, workdir, sqlite, plain_pg))
        times: dict[str, list[float]] = {name: [] for name in runs}
        for cmd, cmd_env in runs.values():  # warm the file caches
            _run(cmd, cmd_env, workdir)
        for _ in range(args.runs):
            for name, (cmd, cmd_env) in runs.items():
                times[name].append(_run(cmd, cmd_env, workdir))
        return {name: statistics.median(values) for name, values in times.items()}
    finally:
        plain_pg.cleanup()


def check_cost(args, url: str, os_login: str) -> tuple[float, float]:
    """(identify, SELECT 1) per transaction, in seconds, on one database."""
    from sqlalchemy import text

    from loyaltyctl.services.staff import identify
    from loyaltyctl.store.db import Database

    db = Database(url)

    def timed(work) -> float:
        db.run(work, write=False, rollback=True, check_schema=False)  # warm
        t0 = time.perf_counter()
        for _ in range(args.checks):
            db.run(work, write=False, rollback=True, check_schema=False)
        return (time.perf_counter() - t0) / args.checks

    try:
        return (
            timed(lambda s: identify(session=s, os_login=os_login)),
            timed(lambda s: s.execute(text("SELECT 1")).scalar()),
        )
    finally:
        db.dispose()


def bulk(args, env: dict, workdir: Path, club: dict[str, str]) -> dict[str, float]:
    """points import as the owner and as a manager, each on a copy of the same club."""
    manager = f"{PREFIX}_manager"
    owner_url = _url(club["owner"], club["database"])
    subprocess.run(
        _cli("--database-url", owner_url, "staff", "add", manager, "--role", "manager"),
        env=env,
        cwd=workdir,
        check=True,
        capture_output=True,
    )
    members = max(1, args.rows // 10)
    csv_path = workdir / "points.csv"
    with csv_path.open("w") as fh:
        fh.write("member,amount,reason,key\n")
        for i in range(args.rows):
            fh.write(f"B-{i % members:06d},{1 + i % 50},bench,{PREFIX}-{i}\n")
    with _admin() as conn:
        for label in ("owner", "manager"):
            conn.execute(
                f'CREATE DATABASE "{club["database"]}_{label}" TEMPLATE "{club["database"]}" '
                f'OWNER "{club["owner"]}"'
            )
    import psycopg

    results = {}
    for label, login in (("owner", club["owner"]), ("manager", manager)):
        database = f"{club['database']}_{label}"
        with psycopg.connect(_url(club["owner"], database), autocommit=True) as conn:
            conn.execute(
                "INSERT INTO member (external_id, name, created_at, updated_at, balance, "
                "pending, ledger_seq, ledger_head, tier_manual, earned) "
                "SELECT 'B-' || lpad(g::text, 6, '0'), 'Bench', now(), now(), 0, 0, 0, "
                "repeat('0', 64), false, 0 FROM generate_series(0, %s) g",
                (members - 1,),
            )
        url = _url(login, database)
        results[label] = _run(
            _cli("--database-url", url, "points", "import", str(csv_path), "--json"),
            env,
            workdir,
        )
    return results


PERK_TOML = """
[[perk]]
slug = "bench-perk"
name = "Bench perk"
price = 1
category = "general"
"""


def hot_path(args, env: dict, workdir: Path, club: dict[str, str]) -> dict[str, tuple]:
    """Claims and credits made in process, one transaction each, as the owner (who owns
    the tables: no row policy applies) and as an administrator (policies and guards)."""
    from loyaltyctl import crypto
    from loyaltyctl.services.claims import claim_perk
    from loyaltyctl.services.ledger import change_points
    from loyaltyctl.store.db import Database

    owner_url = _url(club["owner"], club["database"])
    program = workdir / "bench-perk.toml"
    program.write_text(PERK_TOML)
    for step in (
        ("apply", str(program)),
        ("points", "credit", "C-1", str(10 * args.hot), "--reason", "bench"),
    ):
        subprocess.run(
            _cli("--database-url", owner_url, *step),
            env=env,
            cwd=workdir,
            check=True,
            capture_output=True,
        )
    keys = crypto.load(Path(env["LOYALTYCTL_KEYS_FILE"]))
    figures = {}
    for label, login in (("owner", club["owner"]), ("administrator", f"{PREFIX}_admin")):
        db = Database(_url(login, club["database"]))
        db.run(lambda s: None, write=False, rollback=True)
        t0 = time.perf_counter()
        for _ in range(args.hot):
            db.run(
                lambda s, who=login: claim_perk(
                    session=s, keys=keys, perk_slug="bench-perk", member="C-1", operator=who
                )
            )
        claims = (time.perf_counter() - t0) / args.hot
        t0 = time.perf_counter()
        for i in range(args.hot):
            db.run(
                lambda s, who=login, i=i: change_points(
                    session=s, member="C-1", amount=1, reason=f"b{i}", operator=who
                )
            )
        credits = (time.perf_counter() - t0) / args.hot
        db.dispose()
        figures[label] = (claims, credits)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="start-up runs per command (9)")
    parser.add_argument("--checks", type=int, default=300, help="check repetitions (300)")
    parser.add_argument("--rows", type=int, default=20_000, help="points import rows (20,000)")
    parser.add_argument("--hot", type=int, default=200, help="claims and credits (200)")
    parser.add_argument("--keep", action="store_true", help="keep the SQLite directory")
    parser.add_argument(
        "--baseline-tree",
        help="a checkout of loyaltyctl before the roles (e.g. `git archive 73ed5ee`): its "
        "start-up is timed in the same turns",
    )
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_roles_"))
    env = child_env(workdir, leave_out=("PYTHONDONTWRITEBYTECODE",))
    env.pop("LOYALTYCTL_OPERATOR", None)
    env["LOGNAME"] = env["USER"] = f"{PREFIX}_os"
    env["LOYALTYCTL_KEYS_FILE"] = str(workdir / "keys.toml")
    sqlite = SqliteBackend(workdir)
    try:
        started = startup(args, env, workdir, sqlite)
        club = {"owner": f"{PREFIX}_owner", "database": f"{PREFIX}_club"}
        checks = {
            "SQLite, no staff": check_cost(args, sqlite.url("plain"), env["LOGNAME"]),
            "SQLite, staff": check_cost(args, sqlite.url("staffed"), env["LOGNAME"]),
            "PostgreSQL, staff": check_cost(
                args, _url(club["owner"], club["database"]), env["LOGNAME"]
            ),
        }
        hot = hot_path(args, env, workdir, club)
        imports = bulk(args, env, workdir, club)
    finally:
        with _admin() as conn:
            for suffix in ("", "_owner", "_manager"):
                conn.execute(f'DROP DATABASE IF EXISTS "{PREFIX}_club{suffix}" WITH (FORCE)')
            for (role,) in conn.execute(
                "SELECT rolname FROM pg_roles WHERE rolname LIKE %s", (PREFIX + "%",)
            ).fetchall():
                conn.execute(f'DROP ROLE IF EXISTS "{role}"')
        cleanup_backends([sqlite])
        remove_workdir(workdir, args.keep)
    print(code_version())
    print(f"\nstart-up, child processes, median of {args.runs}:")
    for name, seconds in started.items():
        print(f"  {name:<44} {seconds * 1000:7.0f} ms")
    base = started['python -c "import typer"']
    print(f"  ratio --help / import typer: {started['loyaltyctl --help'] / base:.2f}")
    print(f"\nthe check before each command, in process, mean of {args.checks}:")
    for name, (identify_s, select_s) in checks.items():
        print(
            f"  {name:<20} identify {identify_s * 1000:6.2f} ms   "
            f"SELECT 1 transaction {select_s * 1000:6.2f} ms   ratio {identify_s / select_s:.1f}"
        )
    print(f"\nthe hot path on PostgreSQL, in process, mean of {args.hot} each:")
    for label, (claims, credits) in hot.items():
        print(
            f"  as {label:<14} perk claim {claims * 1000:6.2f} ms   "
            f"points credit {credits * 1000:6.2f} ms"
        )
    ratio = hot["administrator"][0] / hot["owner"][0], hot["administrator"][1] / hot["owner"][1]
    print(f"  ratio administrator / owner: claim {ratio[0]:.2f}, credit {ratio[1]:.2f}")
    print(f"\npoints import of {args.rows:,} rows on PostgreSQL (child process, wall time):")
    print(f"  as the owner (COPY)                         {imports['owner']:7.2f} s")
    print(f"  as a manager (COPY staged, row policies)    {imports['manager']:7.2f} s")
    print(f"  ratio manager / owner: {imports['manager'] / imports['owner']:.2f}")


if __name__ == "__main__":
    main()
