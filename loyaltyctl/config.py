"""Settings, resolved as the spec says: flag > LOYALTYCTL_* environment > config file > default.

Kept free of heavy imports: `loyaltyctl --help` must stay fast.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from loyaltyctl.domain.errors import ConfigProblem

APP = "loyaltyctl"

# setting name -> (environment variable, documented default)
SETTINGS = {
    "database_url": "LOYALTYCTL_DATABASE_URL",
    "read_url": "LOYALTYCTL_READ_URL",
    "operator": "LOYALTYCTL_OPERATOR",
    "timezone": "LOYALTYCTL_TIMEZONE",
    "keys_file": "LOYALTYCTL_KEYS_FILE",
    "expiring_soon_days": "LOYALTYCTL_EXPIRING_SOON_DAYS",
    # `maintain run` writes a signed audit checkpoint into this folder when the last one
    # is older than checkpoint_every_hours (no folder: no scheduled checkpoints)
    "checkpoint_dir": "LOYALTYCTL_CHECKPOINT_DIR",
    "checkpoint_every_hours": "LOYALTYCTL_CHECKPOINT_EVERY_HOURS",
}


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / APP


def default_database_url() -> str:
    return f"sqlite:///{data_dir() / 'loyalty.db'}"


def demo_database_path() -> Path:
    """`demo`'s own SQLite file: a club's real database never gets its sample data."""
    return data_dir() / "demo.db"


@dataclass(frozen=True)
class Settings:
    database_url: str
    operator: str
    timezone: str
    keys_file: Path
    expiring_soon_days: int = 30
    checkpoint_dir: Path | None = None
    checkpoint_every_hours: int = 24
    read_url: str | None = None  # a read replica for the read-only commands (cli/_routing.py)
    config_file: Path | None = None
    sources: dict[str, str] = field(default_factory=dict)  # setting -> where it came from

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


def find_config_file(flag: str | None) -> Path | None:
    """`--config`, then LOYALTYCTL_CONFIG, then ./loyaltyctl.toml, then the XDG config file."""
    explicit = flag or os.environ.get("LOYALTYCTL_CONFIG")
    if explicit:
        path = Path(explicit).expanduser()
        if not path.is_file():
            raise ConfigProblem(f"The config file {path} does not exist.")
        return path
    for candidate in (Path("loyaltyctl.toml"), config_dir() / "config.toml"):
        if candidate.is_file():
            return candidate
    return None


def _read_config(path: Path | None) -> dict:
    if path is None:
        return {}
    import tomllib  # only when there is a file to read (start-up)

    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigProblem(f"The config file {path} is not valid TOML: {exc}.") from exc
    unknown = sorted(set(data) - set(SETTINGS))
    if unknown:
        raise ConfigProblem(
            f"The config file {path} has unknown settings: {', '.join(unknown)} "
            f"(known: {', '.join(SETTINGS)})."
        )
    return data


def os_login() -> str:
    """The OS login as Python's getpass reports it (the operator on SQLite once staff
    exist, spec §8)."""
    return _os_login()


def _os_login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def load_settings(
    *,
    database_url: str | None = None,
    config: str | None = None,
    operator: str | None = None,
    read_url: str | None = None,
) -> Settings:
    """Resolve every setting; flags are the keyword arguments."""
    config_file = find_config_file(config)
    from_file = _read_config(config_file)
    flags = {"database_url": database_url, "operator": operator, "read_url": read_url}
    defaults = {
        "database_url": default_database_url,
        "read_url": lambda: None,
        "operator": _os_login,
        "timezone": lambda: "UTC",
        "keys_file": lambda: str(config_dir() / "keys.toml"),
        "expiring_soon_days": lambda: 30,
        "checkpoint_dir": lambda: "",
        "checkpoint_every_hours": lambda: 24,
    }
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    for name, env in SETTINGS.items():
        if flags.get(name) or (name == "read_url" and flags[name] == ""):
            # `--read-url ''` reads the primary whatever the environment says
            values[name], sources[name] = flags[name], "flag"
        elif os.environ.get(env):
            values[name], sources[name] = os.environ[env], f"environment {env}"
        elif name in from_file:
            values[name], sources[name] = from_file[name], f"config file {config_file}"
        else:
            values[name], sources[name] = defaults[name](), "default"

    timezone = str(values["timezone"])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigProblem(
            f"Unknown time zone {timezone!r} (from {sources['timezone']}); "
            "use an IANA name such as Europe/Berlin."
        ) from None
    try:
        soon = int(values["expiring_soon_days"])
        if soon < 1:
            raise ValueError
    except (TypeError, ValueError):
        raise ConfigProblem(
            f"expiring_soon_days must be a whole number of days (from "
            f"{sources['expiring_soon_days']})."
        ) from None
    every = _whole_hours(values["checkpoint_every_hours"], sources["checkpoint_every_hours"])
    return Settings(
        checkpoint_dir=Path(str(values["checkpoint_dir"])).expanduser()
        if values["checkpoint_dir"]
        else None,
        checkpoint_every_hours=every,
        database_url=str(values["database_url"]),
        operator=str(values["operator"]).strip() or "unknown",
        timezone=timezone,
        keys_file=Path(str(values["keys_file"])).expanduser(),
        expiring_soon_days=soon,
        read_url=str(values["read_url"]).strip() or None if values["read_url"] else None,
        config_file=config_file,
        sources=sources,
    )


def _whole_hours(value: object, source: str) -> int:
    text = str(value).strip()
    if not text.isascii() or not text.isdigit() or not 1 <= len(text) <= 6 or int(text) < 1:
        raise ConfigProblem(
            f"checkpoint_every_hours must be a whole number of hours, at least 1 (from {source})."
        )
    return int(text)
