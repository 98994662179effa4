"""Fixtures shared by the whole suite: a database, a migrated engine, a loopback HTTP server and
a config written to a real TOML file.

The database is a fresh SQLite file per test; set MONITOR_TEST_DATABASE_URL to a
``postgresql+psycopg://`` URL to run the same tests on PostgreSQL (each test gets a database of
its own on that server, dropped afterwards).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from monitor.config import Config, load_config
from monitor.loopback import LoopbackServer

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "caracas-raid"
PG_ENV = "MONITOR_TEST_DATABASE_URL"


def _pg_database(url: str) -> Iterator[str]:
    """Create a uniquely named database on the server of ``url``; drop it afterwards."""
    import psycopg
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"monitor_test_{uuid.uuid4().hex[:12]}"
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def db_url(tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database for this test (SQLite file, or PostgreSQL when configured)."""
    pg = os.environ.get(PG_ENV, "").strip()
    if pg:
        yield from _pg_database(pg)
    else:
        yield f"sqlite:///{tmp_path / 'monitor.db'}"


@pytest.fixture
def engine(db_url: str) -> Iterator[Any]:
    """The test database, migrated to the newest schema."""
    from monitor.db import get_engine, upgrade

    eng = get_engine(db_url)
    upgrade(eng)
    yield eng
    eng.dispose()
    get_engine.cache_clear()


@pytest.fixture
def loopback() -> Iterator[LoopbackServer]:
    """A real HTTP server on 127.0.0.1 (routes set per test)."""
    server = LoopbackServer().start()
    yield server
    server.stop()


def _feed_table(feed: str | dict[str, Any]) -> dict[str, Any]:
    return {"url": feed} if isinstance(feed, str) else dict(feed)


@pytest.fixture
def make_config(db_url: str) -> Callable[..., Config]:
    """``make_config(tmp_path, feeds=[url or {url, name}], network={...}, poll={...})``.

    Writes ``tmp_path/monitor.toml`` (story = the repo's caracas-raid seed, private addresses
    allowed for loopback, outbox and database from the fixtures) and loads it like the CLI does.
    Keyword overrides are merged per section.
    """

    def make(
        tmp_path: Path, feeds: list[str | dict[str, Any]] | None = None, **overrides: dict[str, Any]
    ) -> Config:
        data: dict[str, Any] = {
            "story": {"seed": str(SEED)},
            "database": {"url": db_url},
            "network": {"allow_private_addresses": True, "timeout": 5},
            "digest": {"outbox": str(tmp_path / "outbox")},
        }
        for section, values in overrides.items():
            data.setdefault(section, {}).update(values)
        data["feeds"] = [_feed_table(f) for f in feeds or []]
        path = tmp_path / "monitor.toml"
        path.write_text(tomlkit.dumps(data), encoding="utf-8")
        return load_config(path)

    return make
