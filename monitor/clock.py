"""The one place that reads the clock, so the demo and tests can move time."""

from __future__ import annotations

from datetime import UTC, datetime

_frozen: datetime | None = None


def utcnow() -> datetime:
    """Aware UTC now (or the frozen time)."""
    return _frozen if _frozen is not None else datetime.now(UTC)


def as_utc(dt: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def set_now(value: datetime | None) -> None:
    """Freeze the clock at ``value``, or unfreeze with None."""
    global _frozen
    _frozen = as_utc(value) if value is not None else None


def iso(dt: datetime | None) -> str | None:
    """ISO 8601 with a Z, as the JSON contracts print times."""
    if dt is None:
        return None
    return as_utc(dt).replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def parse_iso(value: str) -> datetime:
    """Parse an ISO 8601 date or datetime ('2026-01-08', '2026-01-08T10:00:00Z')."""
    v = value.strip()
    if v.endswith("Z") or v.endswith("z"):
        v = v[:-1] + "+00:00"
    return as_utc(datetime.fromisoformat(v))
