"""Delivery, exactly once: a real SMTP server (aiosmtpd on 127.0.0.1) receives the digest.

Refusals, a server that is down, a crash mid-send and reruns must never lose findings nor send
the same findings twice.
"""

from __future__ import annotations

import email
import socket
from datetime import timedelta
from email import policy
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from sqlmodel import Session, select
from test_digest import (
    BASE_TOTAL,
    HOSTILE_SENTENCE,
    HOSTILE_TITLE,
    T0,
    add_article,
    add_finding,
    add_poll,
    fig,
    make_cfg,
    make_engine,
    seed_coverage,
)

from monitor import clock, delivery
from monitor.digest import send
from monitor.errors import DeliveryError
from monitor.models import Digest, Finding


class Inbox:
    """An aiosmtpd handler that keeps every accepted message; ``refuse`` answers DATA with it."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse: str | None = None
        self.attempts = 0

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001
        self.attempts += 1
        if self.refuse:
            return self.refuse
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 Message accepted for delivery"

    def parsed(self, i: int = -1) -> email.message.EmailMessage:
        return email.message_from_bytes(self.messages[i][2], policy=policy.default)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SMTPServer:
    def __init__(self, password: str | None = None) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.password = password
        self.controller: Controller | None = None

    def _auth(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        ok = auth_data.login == b"digest" and auth_data.password == (self.password or "").encode()
        return AuthResult(success=ok, handled=False)

    def start(self) -> SMTPServer:
        kwargs = {}
        if self.password is not None:
            kwargs = {"authenticator": self._auth, "auth_require_tls": False, "auth_required": True}
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)
        self.controller.start()
        return self

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture()
def smtp():  # noqa: ANN201
    server = SMTPServer().start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def frozen_clock(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    clock.set_now(T0)
    monkeypatch.setattr(delivery, "_sleep", lambda _s: None)
    yield
    clock.set_now(None)


def smtp_cfg(tmp_path: Path, port: int, **smtp: object):  # noqa: ANN201
    return make_cfg(
        tmp_path, smtp={"host": "127.0.0.1", "port": port, "starttls": False, "timeout": 5, **smtp}
    )


def digests(engine) -> list[Digest]:  # noqa: ANN001
    with Session(engine) as s:
        return list(s.exec(select(Digest).order_by(Digest.id)))


def findings(engine) -> list[Finding]:  # noqa: ANN001
    with Session(engine) as s:
        return list(s.exec(select(Finding).order_by(Finding.id)))


def test_digest_arrives_with_both_parts_and_a_rerun_sends_nothing(tmp_path, smtp) -> None:  # noqa: ANN001
    cfg = smtp_cfg(tmp_path, smtp.port)
    engine = make_engine(cfg)
    seed_coverage(engine)
    line = send(cfg, engine)
    assert "sent to desk@example.org" in line
    assert len(smtp.inbox.messages) == 1
    sender, rcpts, _raw = smtp.inbox.messages[0]
    assert sender == "monitor@example.org" and rcpts == ["desk@example.org"]
    msg = smtp.inbox.parsed()
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",)).get_content()
    html = msg.get_body(("html",)).get_content()
    assert "== CONTRADICTIONS (1) ==" in text and "exactly 40" in text
    assert 'id="contradicts"' in html and "Source health" in html and "<style" not in html
    assert msg["Subject"].startswith("1 contradiction, 1 update")
    (d,) = digests(engine)
    assert d.status == "sent" and d.delivered_via == "smtp" and d.sent_at is not None
    assert msg["Message-ID"] == d.message_id and msg["List-Id"]
    assert all(f.digest_id == d.id for f in findings(engine))
    assert d.finding_count == len(findings(engine)) == 8
    # A rerun (same day, nothing new) sends nothing.
    assert send(cfg, engine).startswith("nothing to send")
    assert len(smtp.inbox.messages) == 1 and len(digests(engine)) == 1


def add_revised_toll(engine, found_at) -> None:  # noqa: ANN001
    """A later report: the defence minister's 83, an update of the baseline's total."""
    ids = add_article(engine, "https://ledger.example/83", "Global Ledger", "83 killed")
    add_finding(
        engine,
        ids,
        "updated",
        "killed:total",
        BASE_TOTAL,
        fig(83, 83, "exact"),
        "The defence minister said 83 people were killed.",
        found_at=found_at,
    )


def test_next_digest_covers_only_findings_since_the_previous_one(tmp_path, smtp) -> None:  # noqa: ANN001
    cfg = smtp_cfg(tmp_path, smtp.port)
    engine = make_engine(cfg)
    seed_coverage(engine)
    send(cfg, engine)
    clock.set_now(T0 + timedelta(days=1))
    add_revised_toll(engine, found_at=T0 + timedelta(hours=5))
    send(cfg, engine)
    first, second = digests(engine)
    assert second.finding_count == 1 and second.period_start == first.period_end
    text = smtp.inbox.parsed(1).get_body(("plain",)).get_content()
    assert "83 people were killed" in text and "40 Cuban personnel" not in text
    assert smtp.inbox.parsed(0)["Message-ID"] != smtp.inbox.parsed(1)["Message-ID"]


@pytest.mark.parametrize("refusal", ["451 4.3.0 Try again later", "554 5.7.1 Refused"])
def test_refused_digest_stays_pending_and_is_delivered_once_later(  # noqa: ANN001
    tmp_path, smtp, refusal: str
) -> None:
    cfg = smtp_cfg(tmp_path, smtp.port, retries=2)
    engine = make_engine(cfg)
    seed_coverage(engine)
    smtp.inbox.refuse = refusal
    with pytest.raises(DeliveryError, match="pending, will retry next run"):
        send(cfg, engine)
    # A temporary refusal is retried in the same run; a permanent one is not.
    assert smtp.inbox.attempts == (3 if refusal.startswith("4") else 1)
    (d,) = digests(engine)
    assert d.status == "pending" and refusal.split()[0] in (d.last_error or "")
    assert d.sent_at is None and all(f.digest_id == d.id for f in findings(engine))
    # New findings arrive while it is pending: nothing is lost, nothing is covered twice.
    clock.set_now(T0 + timedelta(hours=2))
    add_revised_toll(engine, found_at=T0 + timedelta(hours=1))
    smtp.inbox.refuse = None
    lines = send(cfg, engine).splitlines()
    assert len(lines) == 2 and len(smtp.inbox.messages) == 2
    first, second = digests(engine)
    assert first.status == second.status == "sent"
    assert smtp.inbox.parsed(0)["Message-ID"] == first.message_id
    assert (first.finding_count, second.finding_count) == (8, 1)
    assert send(cfg, engine).startswith("nothing to send")
    assert len(smtp.inbox.messages) == 2


def test_server_down_then_up_delivers_once(tmp_path) -> None:  # noqa: ANN001
    server = SMTPServer()  # not started: connection refused
    cfg = smtp_cfg(tmp_path, server.port, retries=1)
    engine = make_engine(cfg)
    seed_coverage(engine)
    with pytest.raises(DeliveryError, match="ConnectionRefusedError"):
        send(cfg, engine)
    assert digests(engine)[0].status == "pending" and digests(engine)[0].attempts == 1
    server.start()
    try:
        send(cfg, engine)
        send(cfg, engine)
        assert len(server.inbox.messages) == 1
        (d,) = digests(engine)
        assert d.status == "sent" and d.attempts == 2
    finally:
        server.stop()


def test_crash_mid_send_is_resumed_after_the_lease_with_the_same_message_id(  # noqa: ANN001
    tmp_path, smtp
) -> None:
    cfg = smtp_cfg(tmp_path, smtp.port)
    engine = make_engine(cfg)
    seed_coverage(engine)
    d = delivery.create_digest(cfg, engine, clock.utcnow())
    assert delivery.claim(engine, d.id, clock.utcnow())  # ...and the process dies here
    # While the claim is fresh, another run leaves it alone (it may still be sending).
    assert "being sent by another process" in send(cfg, engine)
    assert smtp.inbox.messages == []
    clock.set_now(T0 + delivery.SENDING_LEASE + timedelta(minutes=1))
    send(cfg, engine)
    assert len(smtp.inbox.messages) == 1
    assert smtp.inbox.parsed()["Message-ID"] == d.message_id
    assert [x.status for x in digests(engine)] == ["sent"]


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_login_uses_the_password_from_the_environment(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    server = SMTPServer(password="s3cret").start()
    try:
        cfg = smtp_cfg(tmp_path, server.port, username="digest")
        engine = make_engine(cfg)
        seed_coverage(engine)
        monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "wrong")
        with pytest.raises(DeliveryError, match="535"):
            send(cfg, engine)
        monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "s3cret")
        send(cfg, engine)
        assert len(server.inbox.messages) == 1
    finally:
        server.stop()


def test_no_smtp_host_writes_eml_and_html_to_the_outbox(tmp_path) -> None:  # noqa: ANN001
    cfg = make_cfg(tmp_path)
    engine = make_engine(cfg)
    seed_coverage(engine)
    line = send(cfg, engine)
    eml = cfg.outbox_dir / "digest-2026-01-08-0001.eml"
    assert str(eml) in line and eml.is_file() and eml.with_suffix(".html").is_file()
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    (d,) = digests(engine)
    assert d.delivered_via == "outbox" and d.location == str(eml)
    send(cfg, engine)
    assert sorted(p.name for p in cfg.outbox_dir.iterdir()) == [
        eml.name,
        eml.with_suffix(".html").name,
    ]


def test_quiet_day_can_be_skipped_but_an_outage_is_always_reported(tmp_path) -> None:  # noqa: ANN001
    cfg = make_cfg(tmp_path, digest={"send_when_quiet": False})
    engine = make_engine(cfg)
    add_poll(engine, "Meridian", "https://meridian.example/rss", "ok", T0 - timedelta(hours=1))
    assert send(cfg, engine) == (
        "nothing to send: no new findings since the last digest (send_when_quiet = false)"
    )
    add_poll(
        engine,
        "Bayside",
        "https://bayside.example/rss",
        "error",
        T0 - timedelta(hours=1),
        error="HTTP 503",
        failing=1,
    )
    assert "No new findings (1 feed failing)" in send(cfg, engine)


def test_quiet_digest_once_per_local_day(tmp_path) -> None:  # noqa: ANN001
    cfg = make_cfg(tmp_path, digest={"timezone": "America/Caracas"})
    engine = make_engine(cfg)
    clock.set_now(T0.replace(hour=3))  # 7 Jan 23:00 in Caracas
    assert "No new findings" in send(cfg, engine)
    clock.set_now(T0.replace(hour=3, minute=30))  # still 7 Jan locally
    assert send(cfg, engine).startswith("nothing to send")
    clock.set_now(T0.replace(hour=5))  # 8 Jan 01:00 in Caracas: a new local day
    assert "No new findings" in send(cfg, engine)
    assert len(digests(engine)) == 2


def test_header_injection_from_feed_text_is_inert(tmp_path, smtp) -> None:  # noqa: ANN001
    cfg = smtp_cfg(tmp_path, smtp.port)
    engine = make_engine(cfg)
    ids = add_article(
        engine, "https://evil.example/x", "Evil\r\nBcc: victim@example.net", HOSTILE_TITLE
    )
    add_finding(
        engine, ids, "updated", "killed:total", BASE_TOTAL, fig(100, 100, "exact"), HOSTILE_SENTENCE
    )
    send(cfg, engine)
    _sender, rcpts, raw = smtp.inbox.messages[0]
    assert rcpts == ["desk@example.org"]
    msg = smtp.inbox.parsed()
    assert msg["Bcc"] is None and "victim" not in str(msg["Subject"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"victim@example.net" not in head
    # The plain-text part shows the title as text; only the HTML part could run markup.
    html = msg.get_body(("html",)).get_content()
    assert "&lt;script&gt;" in html and "<script" not in html
