"""``monitor feeds list | add | remove``: the watched feeds and their health.

``add`` and ``remove`` edit the config file in place with tomlkit, so the editor's comments
and layout stay as they were. ``list`` reads health from the database when there is one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomlkit
from sqlalchemy.engine import make_url

from monitor.clock import iso, utcnow
from monitor.config import Config, http_url
from monitor.errors import ConfigError


def _health_rows(cfg: Config) -> dict[str, Any]:
    """Feed rows by configured URL, or {} when there is no usable database yet."""
    url = cfg.database_url
    try:
        parsed = make_url(url)
    except Exception:  # noqa: BLE001
        return {}
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        if not Path(parsed.database).is_file():
            return {}  # never create a database just to list feeds
    from sqlmodel import Session, select

    from monitor.db import get_engine
    from monitor.models import Feed

    try:
        with Session(get_engine(url)) as s:
            return {f.url: f for f in s.exec(select(Feed)).all()}
    except Exception:  # noqa: BLE001 - no schema yet, server down: list the config alone
        return {}


def health(row: Any, disable_after: int = 0) -> str:
    """never polled | ok | failing | backing off | disabled (too many failures)"""
    if row is None or row.last_polled_at is None:
        return "never polled"
    if row.consecutive_failures == 0:
        return "ok"
    if disable_after and row.consecutive_failures >= disable_after:
        return "disabled"
    if row.next_poll_at is not None and row.next_poll_at > utcnow():
        return "backing off"
    return "failing"


def _record(fc: Any, row: Any, disable_after: int) -> dict[str, Any]:
    return {
        "url": fc.url,
        "name": fc.name,
        "enabled": fc.enabled,
        "health": health(row, disable_after) if fc.enabled else "disabled in config",
        "current_url": getattr(row, "current_url", None),
        "last_polled_at": iso(getattr(row, "last_polled_at", None)),
        "last_success_at": iso(getattr(row, "last_success_at", None)),
        "last_error": getattr(row, "last_error", None),
        "last_error_at": iso(getattr(row, "last_error_at", None)),
        "items_seen": getattr(row, "items_seen", 0) if row else 0,
        "consecutive_failures": getattr(row, "consecutive_failures", 0) if row else 0,
        "next_poll_at": iso(getattr(row, "next_poll_at", None)),
    }


def list_lines(cfg: Config, as_json: bool = False) -> list[str]:
    """One line (or JSON object) per configured feed, with its health."""
    rows = _health_rows(cfg)
    disable_after = cfg["poll"]["disable_after_failures"]
    records = [_record(fc, rows.get(fc.url), disable_after) for fc in cfg.feeds]
    if as_json:
        return [json.dumps(r, ensure_ascii=False) for r in records]
    if not records:
        return ["no feeds configured (add one with `monitor feeds add URL --name N`)"]
    lines = []
    for r in records:
        lines.append(f"{r['health']:<12} {r['name'] or '(no name)'}  {r['url']}")
        moved = f"; moved to {r['current_url']}" if r["current_url"] else ""
        error = f"{r['last_error']} ({r['last_error_at']})" if r["last_error"] else "none"
        lines.append(
            f"             last success {r['last_success_at'] or 'never'}; last error {error}; "
            f"items seen {r['items_seen']}; failures {r['consecutive_failures']}; "
            f"next try {r['next_poll_at'] or 'next poll'}{moved}"
        )
    return lines


def _load_doc(cfg: Config) -> tuple[Path, tomlkit.TOMLDocument]:
    if cfg.path is None:
        raise ConfigError("feeds: no config file to edit (pass --config PATH)")
    path = Path(cfg.path)
    return path, tomlkit.parse(path.read_text(encoding="utf-8"))


def _same(a: str, b: str) -> bool:
    return a.strip().rstrip("/") == b.strip().rstrip("/")


def add_feed(cfg: Config, url: str, name: str = "") -> str:
    """Append a [[feeds]] table; refuses a non-http(s) URL or one already listed."""
    url = http_url("feeds.url", url)
    path, doc = _load_doc(cfg)
    feeds = doc.get("feeds")
    if feeds is None:
        feeds = tomlkit.aot()
        doc.append("feeds", feeds)
    for t in feeds:
        if _same(str(t.get("url", "")), url):
            raise ConfigError(f"feeds.url: {url} is already watched")
    table = tomlkit.table()
    table.add("url", url)
    table.add("name", name or "")
    feeds.append(table)
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")
    return f"added {url}" + (f" ({name})" if name else "") + f" to {path}"


def _trailing_trivia(table: Any) -> list[Any]:
    """Comments and blank lines after a table's last key: tomlkit files them under that
    table, though they introduce whatever comes next."""
    body = table.value.body
    j = len(body)
    while j > 0 and body[j - 1][0] is None:
        j -= 1
    return body[j:]


def remove_feed(cfg: Config, url: str) -> str:
    """Drop the [[feeds]] table with this URL; its history stays in the database."""
    path, doc = _load_doc(cfg)
    feeds = doc.get("feeds") or []
    for i, t in enumerate(feeds):
        if _same(str(t.get("url", "")), url):
            trailing = _trailing_trivia(t)
            del feeds[i]
            if trailing and i > 0:  # a comment heading the next feed stays with it
                feeds[i - 1].value.body.extend(trailing)
            path.write_text(tomlkit.dumps(doc), encoding="utf-8")
            return f"removed {url} from {path} (its history stays in the database)"
    raise ConfigError(f"feeds.url: {url} is not in {path}")
