"""Engine, sessions and migrations for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event
from sqlalchemy.engine import Engine, make_url
from sqlmodel import Session, create_engine

from monitor.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def _sqlite_pragmas(dbapi_conn, _record) -> None:  # noqa: ANN001
    cur = dbapi_conn.cursor()
    # WAL lets `monitor status` read while a poll writes; busy_timeout rides out short locks.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


@lru_cache(maxsize=16)
def get_engine(url: str) -> Engine:
    """One engine per URL; SQLite files get their folder created."""
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001 - sqlalchemy raises several kinds
        raise ConfigError(f"database.url: {url!r} is not a database URL") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error (nothing half-written)."""
    session = Session(engine, expire_on_commit=False)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _alembic_config(engine: Engine) -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    return cfg


def upgrade(engine: Engine) -> tuple[str | None, str | None]:
    """Bring the schema to the newest revision; returns (before, after). Safe to repeat."""
    before = current_revision(engine)
    command.upgrade(_alembic_config(engine), "head")
    return before, current_revision(engine)


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision() -> str | None:
    return ScriptDirectory.from_config(_alembic_config(None)).get_current_head()  # type: ignore[arg-type]


def require_schema(engine: Engine) -> None:
    """Refuse to work on a database that `monitor init` has not prepared (or that is behind)."""
    if current_revision(engine) != head_revision():
        raise ConfigError("database: schema is missing or out of date; run `monitor init` first")
