"""`monitor run`: the schedule (time zones, DST), the missed-digest catch-up, and a real service
process that polls a loopback feed, keeps a heartbeat and stops cleanly on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlmodel import Session, select
from test_digest import T0, add_poll, make_cfg, make_engine

from monitor import clock
from monitor.delivery import create_digest
from monitor.loopback import LoopbackServer
from monitor.models import Digest, Feed, PollLog, Worker
from monitor.paths import seeds_dir
from monitor.service import (
    build_scheduler,
    digest_missed,
    digest_trigger,
    last_scheduled_time,
)

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _unfrozen():  # noqa: ANN202
    yield
    clock.set_now(None)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("tz", "now", "expected"),
    [
        ("UTC", utc(2026, 1, 8, 6, 59), utc(2026, 1, 7, 7, 0)),
        ("UTC", utc(2026, 1, 8, 7, 0), utc(2026, 1, 8, 7, 0)),
        # London: 07:00 is 07:00 UTC in winter and 06:00 UTC after the clocks go forward.
        ("Europe/London", utc(2026, 3, 28, 12, 0), utc(2026, 3, 28, 7, 0)),
        ("Europe/London", utc(2026, 3, 29, 6, 30), utc(2026, 3, 29, 6, 0)),
        ("Europe/London", utc(2026, 3, 29, 5, 59), utc(2026, 3, 28, 7, 0)),
        # Caracas (UTC-4, no DST): a local day that starts on the previous UTC day.
        ("America/Caracas", utc(2026, 1, 8, 3, 0), utc(2026, 1, 7, 11, 0)),
        # New York in November: back to UTC-5 after the first Sunday.
        ("America/New_York", utc(2026, 11, 1, 12, 30), utc(2026, 11, 1, 12, 0)),
        ("America/New_York", utc(2026, 10, 31, 12, 30), utc(2026, 10, 31, 11, 0)),
    ],
)
def test_last_scheduled_time_is_local(
    tmp_path: Path, tz: str, now: datetime, expected: datetime
) -> None:
    cfg = make_cfg(tmp_path, digest={"timezone": tz, "time": "07:00"})
    assert last_scheduled_time(cfg, now) == expected


def test_digest_trigger_keeps_local_time_across_dst(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, digest={"timezone": "Europe/London", "time": "07:00"})
    trig = digest_trigger(cfg)
    fire = trig.get_next_fire_time(None, utc(2026, 3, 27, 8, 0))
    fires = []
    for _ in range(3):
        fires.append(fire.astimezone(UTC).replace(tzinfo=UTC))
        fire = trig.get_next_fire_time(fire, fire + timedelta(seconds=1))
    assert fires == [utc(2026, 3, 28, 7, 0), utc(2026, 3, 29, 6, 0), utc(2026, 3, 30, 6, 0)]


def test_missed_digest_detection(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path)  # 07:00 UTC
    engine = make_engine(cfg)
    now = T0 + timedelta(hours=3)  # 8 Jan 10:00, the 07:00 digest is due
    assert not digest_missed(cfg, engine, now)  # fresh install: nothing collected yet
    add_poll(engine, "Meridian", "https://m.example/rss", "ok", T0 - timedelta(days=1))
    assert digest_missed(cfg, engine, now)
    clock.set_now(T0 - timedelta(hours=20))  # a digest was made yesterday at 11:00
    create_digest(cfg, engine, clock.utcnow())
    assert digest_missed(cfg, engine, now)
    clock.set_now(T0 + timedelta(minutes=5))  # ...and today's at 07:05
    create_digest(cfg, engine, clock.utcnow())
    assert not digest_missed(cfg, engine, now)


def test_scheduler_jobs(tmp_path: Path) -> None:
    cfg = make_cfg(
        tmp_path,
        poll={"interval_minutes": 15},
        digest={"time": "06:30", "timezone": "Europe/Madrid"},
    )
    engine = make_engine(cfg)
    add_poll(engine, "Meridian", "https://m.example/rss", "ok", utc(2020, 1, 1))
    sched = build_scheduler(cfg, engine, "test-worker")
    jobs = {j.id: j for j in sched.get_jobs()}
    assert set(jobs) == {"poll", "digest", "heartbeat", "digest-catch-up"}
    poll = jobs["poll"]
    assert poll.max_instances == 1 and poll.coalesce is True
    # The job ticks every minute and polls what is due; each feed's own interval is 15 min.
    assert poll.trigger.interval == timedelta(minutes=1)
    digest = jobs["digest"]
    assert str(digest.trigger.timezone) == "Europe/Madrid"
    fields = {f.name: str(f) for f in digest.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("6", "30")


# ----------------------------------------------------------------------------- a real process

EMPTY_RSS = """<?xml version="1.0"?><rss version="2.0"><channel><title>Quiet</title>
<link>http://example.org/</link><description>nothing today</description></channel></rss>"""


def write_config(tmp_path: Path, feed_url: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(
        f"""
[story]
seed = "{(seeds_dir() / "caracas-raid").as_posix()}"
[database]
url = "sqlite:///{(tmp_path / "service.db").as_posix()}"
[network]
allow_private_addresses = true
[poll]
interval_minutes = 60
[digest]
outbox = "{(tmp_path / "outbox").as_posix()}"
time = "00:00"
[[feeds]]
url = "{feed_url}"
name = "Quiet feed"
""",
        encoding="utf-8",
    )
    return path


class Service:
    def __init__(self, config: Path) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "monitor", "--config", str(config), "run"],
            cwd=REPO,
            env=env,
            stderr=subprocess.STDOUT,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        for line in self.proc.stdout:  # type: ignore[union-attr]
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text: str, timeout: float = 60) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if any(text in line for line in self.lines):
                return
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError(f"{text!r} not logged; log so far:\n" + "\n".join(self.lines))

    def stop(self, sig: int) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def _init(config: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(config), "init"],
        cwd=REPO,
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_service_polls_beats_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    with LoopbackServer() as web:
        web.set("/feed.xml", EMPTY_RSS, content_type="application/rss+xml")
        config = write_config(tmp_path, web.url("/feed.xml"))
        _init(config)
        svc = Service(config)
        try:
            svc.wait_for("poll: feeds: 1 ok")
            engine = make_engine(
                make_cfg(tmp_path, database={"url": f"sqlite:///{tmp_path / 'service.db'}"})
            )
            with Session(engine) as s:
                (w,) = s.exec(select(Worker)).all()
                assert w.state == "running" and w.pid == svc.proc.pid
            assert svc.stop(sig) == 0
        finally:
            if svc.proc.poll() is None:
                svc.proc.kill()
        assert any("finishing the work in hand" in line for line in svc.lines)
        assert any("stopped" in line for line in svc.lines)
        assert len(web.hits("/feed.xml")) == 1
        with Session(engine) as s:
            assert s.exec(select(Worker)).one().state == "stopped"
            assert len(s.exec(select(PollLog)).all()) == 1


def test_service_catches_up_a_digest_missed_while_down(tmp_path: Path) -> None:
    with LoopbackServer() as web:
        web.set("/feed.xml", EMPTY_RSS, content_type="application/rss+xml")
        config = write_config(tmp_path, web.url("/feed.xml"))
        _init(config)
        engine = make_engine(
            make_cfg(tmp_path, database={"url": f"sqlite:///{tmp_path / 'service.db'}"})
        )
        from monitor.db import session_scope

        with session_scope(engine) as s:
            feed = s.exec(select(Feed)).one()
            two_days = datetime.now(UTC) - timedelta(days=2)
            s.add(PollLog(feed_id=feed.id, started_at=two_days, finished_at=two_days, status="ok"))
        svc = Service(config)
        try:
            svc.wait_for("digest: digest 1 written to")
            assert svc.stop(signal.SIGTERM) == 0
        finally:
            if svc.proc.poll() is None:
                svc.proc.kill()
        assert any("was missed while stopped" in line for line in svc.lines)
        with Session(engine) as s:
            (d,) = s.exec(select(Digest)).all()
            assert d.status == "sent" and d.delivered_via == "outbox"
        assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1
