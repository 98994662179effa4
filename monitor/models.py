"""Database tables. Each row is one arrow's result in the data flow, so any step can be re-run
and every finding traced back to an article version, a sentence and a time.

Times are aware UTC in Python and stored as UTC (``UTCTime``); use ``monitor.clock.utcnow``.
Schema changes go through Alembic (``monitor/migrations``): add a revision, never edit one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from monitor.sqltypes import UTCTime


def when(*, index: bool = False, nullable: bool = True) -> Any:
    """A datetime column (aware UTC)."""
    return Field(default=None, sa_column=Column(UTCTime(), index=index, nullable=nullable))


class Story(SQLModel, table=True):
    __tablename__ = "story"
    key: str = Field(primary_key=True, max_length=100)
    title: str = ""
    seed_sha256: str = ""
    baseline: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    loaded_at: datetime | None = when()


class Feed(SQLModel, table=True):
    __tablename__ = "feed"
    id: int | None = Field(default=None, primary_key=True)
    url: str = Field(sa_column=Column(Text, unique=True, nullable=False))
    # A permanent redirect moves the feed; the configured URL stays the identity.
    current_url: str | None = Field(default=None, sa_column=Column(Text))
    name: str = ""
    enabled: bool = True
    etag: str | None = None
    last_modified: str | None = None
    last_polled_at: datetime | None = when()
    last_full_fetch_at: datetime | None = when()
    last_success_at: datetime | None = when()
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_error_at: datetime | None = when()
    consecutive_failures: int = 0
    next_poll_at: datetime | None = when(index=True)
    items_seen: int = 0
    body_sha256: str | None = None
    lease_owner: str | None = None
    lease_until: datetime | None = when()
    created_at: datetime | None = when()
    # Where it is fetched from now (politeness is per host; see ``HostLease``).
    host: str | None = Field(default=None, sa_column=Column(Text, index=True))


class PollLog(SQLModel, table=True):
    __tablename__ = "poll_log"
    __table_args__ = (Index("ix_poll_log_feed_started", "feed_id", "started_at"),)
    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id")
    started_at: datetime = when(index=True, nullable=False)
    finished_at: datetime | None = when()
    # ok | not_modified | error | skipped
    status: str = Field(max_length=20)
    http_status: int | None = None
    error: str | None = Field(default=None, sa_column=Column(Text))
    entries: int = 0
    new_entries: int = 0
    bytes: int = 0
    duration_ms: int = 0


class Article(SQLModel, table=True):
    __tablename__ = "article"
    __table_args__ = (UniqueConstraint("story_key", "url", name="uq_article_story_url"),)
    id: int | None = Field(default=None, primary_key=True)
    story_key: str = Field(max_length=100, index=True)
    url: str = Field(sa_column=Column(Text, nullable=False))  # canonical URL
    outlet: str = ""
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    published_at: datetime | None = when(index=True)
    first_seen_at: datetime | None = when()
    last_fetched_at: datetime | None = when()
    next_fetch_at: datetime | None = when(index=True)
    fetch_count: int = 0
    # Strict relevance of the latest text: only relevant articles' claims are compared.
    relevance_score: float | None = None
    relevant: bool | None = None
    relevance_reasons: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    lease_owner: str | None = None
    lease_until: datetime | None = when()
    host: str | None = Field(default=None, sa_column=Column(Text, index=True))


class Entry(SQLModel, table=True):
    """One item of one feed. One article reached through two feeds: two entries, one article."""

    __tablename__ = "entry"
    __table_args__ = (UniqueConstraint("feed_id", "entry_key", name="uq_entry_feed_key"),)
    id: int | None = Field(default=None, primary_key=True)
    feed_id: int = Field(foreign_key="feed.id", index=True)
    entry_key: str = Field(sa_column=Column(Text, nullable=False))
    article_id: int | None = Field(default=None, foreign_key="article.id", index=True)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    link: str | None = Field(default=None, sa_column=Column(Text))
    summary: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = when()
    updated_at: datetime | None = when()
    content_sha256: str | None = None
    relevance_score: float | None = None
    relevant: bool | None = None
    first_seen_at: datetime | None = when()
    last_seen_at: datetime | None = when()


class ArticleVersion(SQLModel, table=True):
    """A new row only when the normalised main text changed: versions are append-only."""

    __tablename__ = "article_version"
    __table_args__ = (
        UniqueConstraint("article_id", "version", name="uq_version_article_n"),
        UniqueConstraint("article_id", "text_sha256", name="uq_version_article_text"),
    )
    id: int | None = Field(default=None, primary_key=True)
    article_id: int = Field(foreign_key="article.id", index=True)
    version: int
    text_sha256: str = Field(max_length=64)
    title: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    text: str = Field(sa_column=Column(Text, nullable=False))
    source: str = "page"  # page | feed (the feed's own content when the page failed)
    extractor: str = ""
    http_status: int | None = None
    fetched_at: datetime = when(index=True, nullable=False)
    raw_html: bytes | None = Field(default=None, sa_column=Column(LargeBinary))  # zlib
    relevance_score: float | None = None
    relevant: bool | None = None


class Claim(SQLModel, table=True):
    __tablename__ = "claim"
    __table_args__ = (Index("ix_claim_version_type", "version_id", "type"),)
    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="article_version.id")
    type: str = Field(max_length=20)  # figure | statement
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    metric: str | None = None
    group_key: str | None = None
    speaker_key: str | None = None
    sentence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    start: int = 0
    end: int = 0
    on_story: bool = True


class Digest(SQLModel, table=True):
    """One digest per period; the findings it covers point at it. Sent only once accepted."""

    __tablename__ = "digest"
    __table_args__ = (UniqueConstraint("story_key", "period_end", name="uq_digest_period"),)
    id: int | None = Field(default=None, primary_key=True)
    story_key: str = Field(max_length=100, index=True)
    period_start: datetime | None = when()
    period_end: datetime = when(nullable=False)
    created_at: datetime = when(nullable=False)
    status: str = Field(default="pending", max_length=20, index=True)  # pending | sent
    subject: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    message_id: str = ""
    recipients: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    finding_count: int = 0
    attempts: int = 0
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    last_attempt_at: datetime | None = when()
    sent_at: datetime | None = when()
    delivered_via: str | None = None  # smtp | outbox
    location: str | None = Field(default=None, sa_column=Column(Text))


class Finding(SQLModel, table=True):
    """Append-only history: one row per (article version, baseline item, claim)."""

    __tablename__ = "finding"
    __table_args__ = (
        UniqueConstraint("version_id", "dedup_key", name="uq_finding_version_key"),
        Index("ix_finding_story_found", "story_key", "found_at"),
        Index("ix_finding_baseline_key", "baseline_key"),
        Index("ix_finding_relation", "relation"),
    )
    id: int | None = Field(default=None, primary_key=True)
    story_key: str = Field(max_length=100)
    relation: str = Field(max_length=30)
    baseline_key: str | None = Field(default=None, max_length=200)
    baseline: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    observed: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    article_id: int = Field(foreign_key="article.id", index=True)
    version_id: int = Field(foreign_key="article_version.id")
    claim_id: int | None = Field(default=None, foreign_key="claim.id")
    dedup_key: str = Field(max_length=64)
    sentence: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    found_at: datetime = when(nullable=False)
    # The article as it was when the finding was made (a later fetch may rename the outlet).
    outlet: str | None = Field(default=None, sa_column=Column(Text))
    title: str | None = Field(default=None, sa_column=Column(Text))
    published_at: datetime | None = when()
    digest_id: int | None = Field(default=None, foreign_key="digest.id", index=True)


class HostLease(SQLModel, table=True):
    """A host being fetched from by one worker: the per-host limit then holds across workers."""

    __tablename__ = "host_lease"
    host: str = Field(sa_column=Column(Text, primary_key=True))
    owner: str = Field(sa_column=Column(Text, nullable=False))
    lease_until: datetime = when(nullable=False)


class Worker(SQLModel, table=True):
    """Heartbeat of each running worker, for ``monitor status``."""

    __tablename__ = "worker"
    id: str = Field(primary_key=True, max_length=200)
    host: str = ""
    pid: int = 0
    started_at: datetime = when(nullable=False)
    last_seen_at: datetime = when(nullable=False)
    state: str = "running"
