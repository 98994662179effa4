"""Delivering digests exactly once: the outbox state machine, SMTP and the outbox folder.

States of a ``Digest`` row::

    (findings with digest_id NULL) --create--> pending --claim--> sending --accepted--> sent
                                                  ^                  |
                                                  +---- failure -----+   (retried next run)

* ``create`` inserts the Digest row and points the uncovered findings at it in **one
  transaction**, so a finding belongs to exactly one digest; the UPDATE only takes findings
  still unassigned, so two racing processes cannot both cover the same finding. The
  transaction starts by locking the story row, so workers racing at the digest time build
  one digest between them (a quiet day's digest included).
* ``claim`` moves pending -> sending with a conditional UPDATE: only one process sends a given
  digest. A ``sending`` row whose claim is older than ``SENDING_LEASE`` (a crash mid-send) is
  claimed again, with the same Message-ID, so a duplicate is at least recognisable.
* ``sent`` is written only after the SMTP server accepted the message (or the outbox files
  are on disk). A failure goes back to pending with the error and is retried at the next run.
* While a digest is pending, no new one is built: new findings wait and go into the next one,
  so nothing is lost and nothing is sent twice.
* At most one *quiet* digest (no findings) per local day, so rerunning ``--send`` on a quiet
  day sends nothing new.
"""

from __future__ import annotations

import os
import smtplib
import ssl
import time
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import and_, func, or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from monitor.clock import as_utc, utcnow
from monitor.config import Config
from monitor.db import session_scope
from monitor.errors import DeliveryError
from monitor.models import Digest, Finding
from monitor.models import Story as StoryRow
from monitor.story import load_story

SENDING_LEASE = timedelta(minutes=15)
_sleep = time.sleep  # tests replace this to keep retries instant


# ----------------------------------------------------------------------------- queries


def pending_digests(engine: Engine, story_key: str) -> list[Digest]:
    with Session(engine) as s:
        return list(
            s.exec(
                select(Digest)
                .where(Digest.story_key == story_key, Digest.status != "sent")
                .order_by(Digest.period_end)
            )
        )


def last_period_end(engine: Engine, story_key: str) -> datetime | None:
    with Session(engine) as s:
        return s.exec(
            select(func.max(Digest.period_end)).where(Digest.story_key == story_key)
        ).one()


def _local_day(dt: datetime, tz: ZoneInfo) -> str:
    return as_utc(dt).astimezone(tz).date().isoformat()


# ----------------------------------------------------------------------------- state machine


def create_digest(cfg: Config, engine: Engine, now: datetime) -> Digest | None:
    """Create the next digest covering every uncovered finding; None when nothing is due.

    Nothing is due when there are no new findings and either quiet digests are off (and no
    feed failed — an outage is always reported) or today's digest has already been made.
    """
    story_key = load_story(cfg.story_folder).key
    tz = ZoneInfo(cfg["digest"]["timezone"])
    domain = cfg["digest"]["sender"].rsplit("@", 1)[-1]
    with session_scope(engine) as s:
        # One process at a time builds a story's digest, however many workers run: the story
        # row is the lock (an UPDATE that changes nothing still takes it, on PostgreSQL and
        # on SQLite), and what follows reads what the process before it committed.
        s.execute(update(StoryRow).where(StoryRow.key == story_key).values(key=StoryRow.key))
        ids = list(
            s.exec(
                select(Finding.id).where(
                    Finding.story_key == story_key, Finding.digest_id.is_(None)
                )
            )
        )
        previous = s.exec(
            select(Digest)
            .where(Digest.story_key == story_key)
            .order_by(
                Digest.period_end.desc()  # type: ignore[union-attr]
            )
        ).first()
        if not ids and not _quiet_digest_due(cfg, s, previous, now, tz):
            return None
        if previous is not None and as_utc(previous.period_end) >= as_utc(now):
            return None  # the clock has not moved past the last digest
        digest = Digest(
            story_key=story_key,
            period_start=previous.period_end if previous else None,
            period_end=now,
            created_at=now,
            status="pending",
            recipients=list(cfg["digest"]["to"]),
        )
        s.add(digest)
        s.flush()
        digest.message_id = (
            f"<digest.{story_key}.{as_utc(now):%Y%m%dT%H%M%SZ}.{digest.id}@{domain}>"
        )
        covered = 0
        if ids:
            res = s.execute(
                update(Finding)
                .where(Finding.id.in_(ids), Finding.digest_id.is_(None))
                .values(digest_id=digest.id)
            )
            covered = res.rowcount or 0
            if covered == 0:
                raise DeliveryError("another process took these findings; nothing to do")
        digest.finding_count = covered
        s.add(digest)
    return digest


def _quiet_digest_due(
    cfg: Config, s: Session, previous: Digest | None, now: datetime, tz: ZoneInfo
) -> bool:
    if previous is not None and _local_day(previous.period_end, tz) == _local_day(now, tz):
        return False
    if cfg["digest"]["send_when_quiet"]:
        return True
    from monitor.digest import feed_health

    problems, _polls, _ok = feed_health(s, previous.period_end if previous else None, now, tz)
    return bool(problems)


def claim(engine: Engine, digest_id: int, now: datetime) -> bool:
    """pending -> sending (or a stale sending claim from a crash); True if we own it now."""
    with session_scope(engine) as s:
        res = s.execute(
            update(Digest)
            .where(
                Digest.id == digest_id,
                or_(
                    Digest.status == "pending",
                    and_(Digest.status == "sending", Digest.last_attempt_at < now - SENDING_LEASE),
                ),
            )
            .values(status="sending", last_attempt_at=now, attempts=Digest.attempts + 1)
        )
        return (res.rowcount or 0) == 1


def mark_sent(
    engine: Engine, digest_id: int, via: str, location: str, subject: str, note: str | None = None
) -> None:
    with session_scope(engine) as s:
        d = s.get(Digest, digest_id)
        if d is None:
            return
        d.status, d.sent_at, d.delivered_via, d.location = "sent", utcnow(), via, location
        d.subject, d.last_error = subject, note
        s.add(d)


def mark_failed(engine: Engine, digest_id: int, error: str) -> None:
    with session_scope(engine) as s:
        d = s.get(Digest, digest_id)
        if d is None or d.status == "sent":
            return
        d.status, d.last_error = "pending", error[:2000]
        s.add(d)


# ----------------------------------------------------------------------------- message


def _header(value: str) -> str:
    """No header value may carry a line break, whatever produced it."""
    return " ".join(str(value).replace("\r", " ").replace("\n", " ").split())


def build_message(cfg: Config, digest: Digest, subject: str, text: str, html: str) -> EmailMessage:
    sender = cfg["digest"]["sender"]
    domain = sender.rsplit("@", 1)[-1]
    msg = EmailMessage()
    msg["From"] = _header(sender)
    msg["To"] = ", ".join(_header(r) for r in (digest.recipients or cfg["digest"]["to"]))
    msg["Subject"] = _header(subject)
    # Date and Message-ID come from the digest row, so every retry is the same message.
    msg["Date"] = format_datetime(as_utc(digest.created_at))
    msg["Message-ID"] = _header(digest.message_id)
    msg["List-Id"] = f"<{digest.story_key}.digest.{domain}>"
    msg["List-Unsubscribe"] = f"<mailto:{sender}?subject=unsubscribe>"
    msg["X-Monitor-Digest"] = f"{digest.story_key}/{digest.id}"
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(text, subtype="plain", charset="utf-8")
    msg.add_alternative(html, subtype="html", charset="utf-8")
    return msg


# ----------------------------------------------------------------------------- transports


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_outbox(cfg: Config, digest: Digest, msg: EmailMessage, html: str) -> Path:
    """The .eml (the whole message) and the .html beside it; a rerun overwrites, never adds."""
    folder = cfg.outbox_dir
    folder.mkdir(parents=True, exist_ok=True)
    tz = ZoneInfo(cfg["digest"]["timezone"])
    stem = f"digest-{_local_day(digest.period_end, tz)}-{digest.id:04d}"
    eml = folder / f"{stem}.eml"
    _atomic_write(folder / f"{stem}.html", html.encode("utf-8"))
    _atomic_write(eml, msg.as_bytes())
    return eml


def _permanent(exc: Exception) -> bool:
    code = getattr(exc, "smtp_code", None)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(500 <= c for c, _m in exc.recipients.values())
    return isinstance(code, int) and 500 <= code < 600


def smtp_send(cfg: Config, msg: EmailMessage, recipients: list[str]) -> str:
    """Send with retries; returns the server's acceptance note; DeliveryError if it never did."""
    c = cfg["smtp"]
    attempts = c["retries"] + 1
    last: Exception | None = None
    for attempt in range(attempts):
        try:
            refused = _smtp_once(cfg, msg, recipients)
            note = f"accepted by {c['host']}:{c['port']}"
            if refused:
                note += "; refused: " + ", ".join(sorted(refused))
            return note
        except (OSError, smtplib.SMTPException) as exc:
            last = exc
            if _permanent(exc) or attempt == attempts - 1:
                break
            _sleep(min(2**attempt, 30))
    raise DeliveryError(f"SMTP {c['host']}:{c['port']} did not accept the digest: {_why(last)}")


def _smtp_once(cfg: Config, msg: EmailMessage, recipients: list[str]) -> dict:
    c = cfg["smtp"]
    context = ssl.create_default_context()
    if c["ssl"]:
        client: smtplib.SMTP = smtplib.SMTP_SSL(
            c["host"], c["port"], timeout=c["timeout"], context=context
        )
    else:
        client = smtplib.SMTP(c["host"], c["port"], timeout=c["timeout"])
    with client:
        client.ehlo()
        if c["starttls"] and not c["ssl"]:
            client.starttls(context=context)
            client.ehlo()
        if c["username"]:
            client.login(c["username"], cfg.smtp_password)
        return client.send_message(msg, from_addr=cfg["digest"]["sender"], to_addrs=recipients)


def _why(exc: Exception | None) -> str:
    if exc is None:
        return "unknown error"
    if isinstance(exc, smtplib.SMTPResponseException):
        err = (
            exc.smtp_error.decode("utf-8", "replace")
            if isinstance(exc.smtp_error, bytes)
            else str(exc.smtp_error)
        )
        return f"{exc.smtp_code} {err}".strip()
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "all recipients refused"
    return f"{type(exc).__name__}: {exc}".strip()


# ----------------------------------------------------------------------------- orchestration


def deliver(cfg: Config, engine: Engine, digest: Digest) -> str:
    """Claim, render, send or write, then mark. Raises DeliveryError (digest stays pending)."""
    from monitor.digest import render_digest

    if not claim(engine, digest.id or 0, utcnow()):
        return f"digest {digest.id} is being sent by another process; skipped"
    try:
        rendered = render_digest(cfg, engine, digest)
        msg = build_message(cfg, digest, rendered.subject, rendered.text, rendered.html)
        if cfg["smtp"]["host"]:
            note = smtp_send(cfg, msg, list(digest.recipients or cfg["digest"]["to"]))
            refused = note if "refused:" in note else None
            mark_sent(engine, digest.id or 0, "smtp", note, rendered.subject, refused)
            where = f"sent to {', '.join(digest.recipients)} ({note})"
        else:
            path = write_outbox(cfg, digest, msg, rendered.html)
            mark_sent(engine, digest.id or 0, "outbox", str(path), rendered.subject)
            where = f"written to {path} (and {path.with_suffix('.html').name})"
    except BaseException as exc:
        # Anything short of acceptance, including an interrupt, leaves the digest pending.
        mark_failed(
            engine, digest.id or 0, _why(exc) if isinstance(exc, Exception) else type(exc).__name__
        )
        if isinstance(exc, DeliveryError):
            raise DeliveryError(f"digest {digest.id} pending, will retry next run: {exc}") from None
        raise
    return f"digest {digest.id} {where}: {rendered.subject} [{digest.finding_count} findings]"


def send_due(cfg: Config, engine: Engine) -> str:
    """Deliver pending digests oldest first, then the due one; one line per digest."""
    story_key = load_story(cfg.story_folder).key
    lines = [deliver(cfg, engine, d) for d in pending_digests(engine, story_key)]
    # New findings wait while an older digest is still in flight elsewhere.
    digest = None if pending_digests(engine, story_key) else create_digest(cfg, engine, utcnow())
    if digest is not None:
        lines.append(deliver(cfg, engine, digest))
    if not lines:
        quiet = "" if cfg["digest"]["send_when_quiet"] else " (send_when_quiet = false)"
        return f"nothing to send: no new findings since the last digest{quiet}"
    return "\n".join(lines)
