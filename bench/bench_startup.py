"""Benchmark the start-up of one counter command, as a child process, against
``python -c "import typer"`` (the floor of any Typer CLI) in the same run.

The children may write and use bytecode caches, as an installed package has them
(``PYTHONDONTWRITEBYTECODE`` is left out of their environment: with it, and no
``__pycache__`` in a source checkout, every run compiled each of our modules it imported,
~0.2-0.3 s of a claim's start-up that no installed copy pays); the warm-up round writes
them.

Not a test: prints figures. See bench/README.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import PostgresBackend, child_env, cleanup_backends, code_version, load_average

TARGET_RATIO = 4.0
CART = Path(__file__).resolve().parent.parent / "fixtures" / "cart.json"


def loyaltyctl(*args: str) -> list[str]:
    script = Path(sys.executable).with_name("loyaltyctl")
    if script.exists():
        return [str(script), *args]
    return [sys.executable, "-m", "loyaltyctl", *args]


def prepare(url: str, env: dict, cwd: Path) -> dict:
    """The demo's program on ``url`` (perks, members, a coupon of each kind), a member
    with points for every claim the timing makes and one coupon code in clear."""

    def run(*args: str) -> dict:
        done = subprocess.run(
            loyaltyctl("--database-url", url, *args, "--json"),
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed: {done.stderr.strip()}")
        return json.loads(done.stdout)

    run("demo")
    run("points", "credit", "C-1006", "1000000", "--reason", "bench")
    claim = run("perk", "claim", "free-shipping-coupon", "--member", "C-1006")
    return {"member": "C-1006", "code": claim["redemption"]["value"]}


def commands(url: str, facts: dict) -> dict[str, list[str]]:
    db = ("--database-url", url)
    return {
        "import typer": [sys.executable, "-c", "import typer"],
        "loyaltyctl --help": loyaltyctl("--help"),
        "points balance": loyaltyctl(*db, "points", "balance", facts["member"]),
        "member find": loyaltyctl(*db, "member", "find", "1006"),
        "perk claim": loyaltyctl(
            *db, "perk", "claim", "free-shipping-coupon", "--member", facts["member"]
        ),
        "coupon check": loyaltyctl(
            *db, "coupon", "check", facts["code"], "--cart", str(CART), "--member", facts["member"]
        ),
        "quote": loyaltyctl(
            *db,
            "quote",
            "--member",
            facts["member"],
            "--cart",
            str(CART),
            "--coupon",
            facts["code"],
        ),
    }


def time_commands(cmds: dict[str, list[str]], env: dict, cwd: Path, runs: int) -> dict:
    """Median wall seconds of each; the commands take turns after one warm-up round."""
    times: dict[str, list[float]] = {name: [] for name in cmds}
    for round_ in range(runs + 1):
        for name, cmd in cmds.items():
            t0 = time.perf_counter()
            done = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
            elapsed = time.perf_counter() - t0
            if done.returncode != 0:
                raise SystemExit(f"{name} exited {done.returncode}: {done.stderr.strip()}")
            if round_:
                times[name].append(elapsed)
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=7, help="timed rounds (7)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="bench_startup_"))
    env = child_env(workdir, workdir / "keys.json", leave_out=("PYTHONDONTWRITEBYTECODE",))
    backends = []
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    load_before = load_average()
    results = {}
    try:
        names = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
        for name in names:
            if name == "sqlite":
                url = f"sqlite:///{workdir / 'startup.db'}"
            else:
                pg = PostgresBackend(f"bench_startup_{os.getpid()}")
                backends.append(pg)
                url = pg.url("db")
                pg._create_empty("db")
            print(f"  [{name}] building the demo program", file=sys.stderr)
            facts = prepare(url, env, workdir)
            print(f"  [{name}] timing ({args.runs} rounds)", file=sys.stderr)
            results[name] = time_commands(commands(url, facts), env, workdir, args.runs)
    finally:
        cleanup_backends(backends)
        if not args.keep:
            import shutil

            shutil.rmtree(workdir, ignore_errors=True)
    print()
    print(f"{code_version()}; measured {started} to {time.strftime('%H:%M:%S')}")
    print(f"load average before {load_before}, after {load_average()} (2 cpus shared)")
    print(f"one child process per command, median of {args.runs} rounds taking turns:")
    print(f"{'command':<20} " + " ".join(f"{n + ' ms':>14} {'ratio':>6}" for n in results))
    for command in next(iter(results.values())):
        cells = []
        for figures in results.values():
            ratio = figures[command] / figures["import typer"]
            cells.append(f"{figures[command] * 1000:14.0f} {ratio:6.2f}")
        print(f"{command:<20} " + " ".join(cells))
    print(f"target: every command <= {TARGET_RATIO:g} x import typer")


if __name__ == "__main__":
    main()
