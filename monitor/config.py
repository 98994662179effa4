"""The editor's TOML config: loaded, validated (one clear line per problem), and typed.

Every key is declared once in ``SCHEMA``; unknown keys and bad values are refused at start.
Relative paths (seed folder, SQLite file, outbox) are taken from the working directory, then
from the config file's project folder (the parent of ``config/``), so both
``monitor --config elsewhere/monitor.toml`` and a checkout work.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.errors import ConfigError
from monitor.paths import default_config_path, seeds_dir

Validator = Callable[[str, Any], Any]


def _str(key: str, v: Any) -> str:
    if not isinstance(v, str):
        raise ConfigError(f"{key}: expected a string, got {type(v).__name__}")
    return v


def _bool(key: str, v: Any) -> bool:
    if not isinstance(v, bool):
        raise ConfigError(f"{key}: expected true or false, got {v!r}")
    return v


def _int(lo: int, hi: int) -> Validator:
    def check(key: str, v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ConfigError(f"{key}: expected a whole number from {lo} to {hi}, got {v!r}")
        return v

    return check


def _number(lo: float, hi: float) -> Validator:
    def check(key: str, v: Any) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo <= v <= hi:
            raise ConfigError(f"{key}: expected a number from {lo} to {hi}, got {v!r}")
        return float(v)

    return check


def http_url(key: str, v: Any) -> str:
    v = _str(key, v).strip()
    parts = urlsplit(v)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{key}: {v!r} is not an http(s) URL")
    return v


def _db_url(key: str, v: Any) -> str:
    v = _str(key, v)
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", v):
        raise ConfigError(f"{key}: {v!r} must start with sqlite:/// or postgresql+psycopg://")
    return v


def _time(key: str, v: Any) -> str:
    v = _str(key, v)
    m = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", v)
    if not m:
        raise ConfigError(f"{key}: {v!r} is not a time of day as HH:MM (24-hour)")
    return f"{int(m.group(1)):02d}:{m.group(2)}"


def _timezone(key: str, v: Any) -> str:
    v = _str(key, v)
    try:
        ZoneInfo(v)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{key}: {v!r} is not an IANA time zone (e.g. Europe/London)") from None
    return v


def _email(key: str, v: Any) -> str:
    v = _str(key, v).strip()
    if not re.fullmatch(r"[^@\s<>,;\"]+@[^@\s<>,;\"]+\.[^@\s<>,;\"]+", v):
        raise ConfigError(f"{key}: {v!r} is not an email address")
    return v


def _emails(key: str, v: Any) -> list[str]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise ConfigError(f"{key}: expected a list of email addresses")
    return [_email(f"{key}[{i}]", item) for i, item in enumerate(v)]


def _hours_list(key: str, v: Any) -> list[float]:
    if not isinstance(v, list) or not v:
        raise ConfigError(f"{key}: expected a list of hours, e.g. [1, 6, 24, 72]")
    out = [_number(0.01, 24 * 365)(f"{key}[{i}]", x) for i, x in enumerate(v)]
    if out != sorted(out):
        raise ConfigError(f"{key}: hours must be in increasing order")
    return out


SCHEMA: dict[str, dict[str, tuple[Validator, Any]]] = {
    "story": {"seed": (_str, "seeds/caracas-raid")},
    "database": {"url": (_db_url, "sqlite:///data/monitor.db")},
    "network": {
        "allow_private_addresses": (_bool, False),
        "timeout": (_number(0.5, 300), 20.0),
        "max_bytes": (_int(1024, 200 * 1024 * 1024), 15 * 1024 * 1024),
        "max_redirects": (_int(0, 20), 5),
        "concurrency": (_int(1, 1000), 32),
        "per_host": (_int(1, 100), 4),
        "user_agent": (_str, "newsroom-discrepancy-monitor/0.1 (+feeds; contact the desk)"),
    },
    "poll": {
        "interval_minutes": (_int(1, 24 * 60), 30),
        "refetch_hours": (_hours_list, [1.0, 6.0, 24.0, 72.0]),
        "full_fetch_hours": (_number(0.1, 24 * 7), 12.0),
        "max_backoff_hours": (_number(0.1, 24 * 30), 24.0),
        "disable_after_failures": (_int(0, 10000), 0),
        # How long a claimed feed or article stays a worker's without renewal: a worker that
        # dies mid-cycle hands its work back to the others after this long.
        "lease_seconds": (_number(1, 3600), 120.0),
    },
    "digest": {
        "to": (_emails, ["desk@example.org"]),
        "sender": (_email, "monitor@example.org"),
        "time": (_time, "07:00"),
        "timezone": (_timezone, "UTC"),
        "outbox": (_str, "outbox"),
        "send_when_quiet": (_bool, True),
        "max_items": (_int(1, 10000), 200),
    },
    "smtp": {
        "host": (_str, ""),
        "port": (_int(1, 65535), 25),
        "starttls": (_bool, False),
        "ssl": (_bool, False),
        "username": (_str, ""),
        "timeout": (_number(0.5, 300), 30.0),
        "retries": (_int(0, 20), 3),
    },
}
FEED_KEYS: dict[str, tuple[Validator, Any]] = {
    "url": (http_url, None),
    "name": (_str, ""),
    "enabled": (_bool, True),
}


@dataclass
class FeedConfig:
    url: str
    name: str = ""
    enabled: bool = True


@dataclass
class Config:
    path: Path | None
    sections: dict[str, dict[str, Any]]
    feeds: list[FeedConfig] = field(default_factory=list)
    story_folder: Path = Path("seeds/caracas-raid")
    base_dir: Path = Path(".")

    def __getitem__(self, section: str) -> dict[str, Any]:
        return self.sections[section]

    @property
    def database_url(self) -> str:
        url = self.sections["database"]["url"]
        # A relative SQLite path is resolved like the other paths, so the file lands in one place.
        m = re.match(r"^(sqlite(?:\+\w+)?:///)(?!/)(.+)$", url)
        if m and m.group(2) != ":memory:":
            return m.group(1) + str(self.resolve(m.group(2)))
        return url

    @property
    def outbox_dir(self) -> Path:
        return self.resolve(self.sections["digest"]["outbox"])

    @property
    def smtp_password(self) -> str:
        return os.environ.get("MONITOR_SMTP_PASSWORD", "")

    def resolve(self, value: str | Path) -> Path:
        p = Path(value)
        if p.is_absolute():
            return p
        return self.base_dir / p


def _check_table(name: str, table: Any, schema: dict[str, tuple[Validator, Any]]) -> dict:
    if not isinstance(table, dict):
        raise ConfigError(f"{name}: expected a table ([{name}])")
    unknown = sorted(set(table) - set(schema))
    if unknown:
        raise ConfigError(
            f"{name}.{unknown[0]}: unknown key (known keys: {', '.join(sorted(schema))})"
        )
    out = {}
    for key, (validate, default) in schema.items():
        if key in table:
            out[key] = validate(f"{name}.{key}", table[key])
        elif default is None:
            raise ConfigError(f"{name}.{key}: missing (required)")
        else:
            out[key] = default
    return out


def _base_dir(path: Path | None, seed: str) -> Path:
    """The folder relative paths hang from: cwd if the seed is there, else the config's project."""
    if Path(seed).is_absolute() or (Path.cwd() / seed).is_dir() or path is None:
        return Path.cwd()
    cfg_dir = path.resolve().parent
    for cand in (cfg_dir, cfg_dir.parent):
        if (cand / seed).is_dir():
            return cand
    return Path.cwd()


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    """Validate a parsed TOML document."""
    unknown = sorted(set(data) - set(SCHEMA) - {"feeds"})
    if unknown:
        raise ConfigError(
            f"{unknown[0]}: unknown section (known: {', '.join(sorted([*SCHEMA, 'feeds']))})"
        )
    sections = {name: _check_table(name, data.get(name, {}), s) for name, s in SCHEMA.items()}
    feeds_raw = data.get("feeds", [])
    if not isinstance(feeds_raw, list):
        raise ConfigError("feeds: expected [[feeds]] entries")
    feeds, seen = [], set()
    for i, raw in enumerate(feeds_raw):
        f = _check_table(f"feeds[{i}]", raw, FEED_KEYS)
        if f["url"] in seen:
            raise ConfigError(f"feeds[{i}].url: {f['url']} is listed twice")
        seen.add(f["url"])
        feeds.append(FeedConfig(**f))
    seed = sections["story"]["seed"]
    base = _base_dir(path, seed)
    story_folder = Path(seed) if Path(seed).is_absolute() else base / seed
    if not story_folder.is_dir():
        bundled = seeds_dir() / Path(seed).name
        if seed.startswith("seeds/") and bundled.is_dir():
            story_folder = bundled
        else:
            raise ConfigError(f"story.seed: folder {seed!r} does not exist")
    if not (story_folder / "story.toml").is_file():
        raise ConfigError(f"story.seed: {seed!r} has no story.toml")
    return Config(
        path=path, sections=sections, feeds=feeds, story_folder=story_folder, base_dir=base
    )


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit)
    env = os.environ.get("MONITOR_CONFIG")
    return Path(env) if env else default_config_path()


def load_config(path: str | Path | None = None) -> Config:
    """Load and validate the config; ConfigError carries one line naming the bad key."""
    p = config_path(path)
    if not p.is_file():
        raise ConfigError(f"config: {p} not found (pass --config PATH or set MONITOR_CONFIG)")
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config: {p} is not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config: {p} is not UTF-8 text") from None
    return parse_config(data, p)


def default_story_folder() -> Path:
    """The default config's story folder, or the bundled seed when there is no usable config."""
    try:
        return load_config().story_folder
    except ConfigError:
        return seeds_dir() / "caracas-raid"
