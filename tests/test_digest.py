"""The digest: sections in the desk's order, wire copy folded, escaping, charts, feed health.

The factories at the top are shared by the delivery, service, status and browser tests
(``from test_digest import ...``): they write real rows through the models, the way the
comparison step does, so the digest is tested against the database and not against mocks.
"""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select

from monitor import clock
from monitor.config import Config, parse_config
from monitor.db import get_engine, session_scope, upgrade
from monitor.digest import (
    build_model,
    describe_figure,
    preview,
    render,
    subject_for,
)
from monitor.models import Article, ArticleVersion, Digest, Feed, Finding, PollLog
from monitor.paths import seeds_dir

STORY = "caracas-raid"
T0 = datetime(2026, 1, 8, 7, 0, tzinfo=UTC)
HOSTILE_TITLE = 'Raid toll <script>alert("x")</script>\r\nBcc: victim@example.net'
HOSTILE_SENTENCE = (
    'At least 100 were killed <img src=x onerror="alert(1)"> '
    "</td></tr></table><b>injected</b>, the minister said."
)


# ----------------------------------------------------------------------------- factories


def make_cfg(
    tmp_path: Path, digest: dict | None = None, smtp: dict | None = None, **extra: Any
) -> Config:
    data: dict[str, Any] = {
        "story": {"seed": str(seeds_dir() / STORY)},
        "database": {"url": f"sqlite:///{tmp_path / 'monitor.db'}"},
        "digest": {
            "outbox": str(tmp_path / "outbox"),
            "to": ["desk@example.org"],
            "sender": "monitor@example.org",
            **(digest or {}),
        },
        "smtp": {"host": "", "retries": 0, **(smtp or {})},
        **extra,
    }
    return parse_config(data, None)


def make_engine(cfg: Config):  # noqa: ANN201
    engine = get_engine(cfg.database_url)
    upgrade(engine)
    return engine


def add_article(
    engine,
    url: str,
    outlet: str,
    title: str = "A title",  # noqa: ANN001
    published: datetime = T0 - timedelta(hours=5),
    version: int = 1,
) -> tuple[int, int]:
    with session_scope(engine) as s:
        art = s.exec(select(Article).where(Article.url == url)).first()
        if art is None:
            art = Article(
                story_key=STORY,
                url=url,
                outlet=outlet,
                title=title,
                published_at=published,
                first_seen_at=published,
                relevant=True,
            )
            s.add(art)
            s.flush()
        ver = ArticleVersion(
            article_id=art.id,
            version=version,
            text_sha256=f"{url}-{version}",
            title=title,
            text="text",
            fetched_at=published,
        )
        s.add(ver)
        s.flush()
        return art.id, ver.id


def add_finding(
    engine,
    ids: tuple[int, int],
    relation: str,
    key: str,  # noqa: ANN001
    baseline: dict | None,
    observed: dict,
    sentence: str,
    found_at: datetime = T0 - timedelta(hours=4),
    n: int = 0,
) -> int:
    with session_scope(engine) as s:
        f = Finding(
            story_key=STORY,
            relation=relation,
            baseline_key=key,
            baseline=baseline,
            observed=observed,
            article_id=ids[0],
            version_id=ids[1],
            dedup_key=f"{key}:{n}:{relation}",
            sentence=sentence,
            found_at=found_at,
        )
        s.add(f)
        s.flush()
        return f.id


def fig(low: int | None, high: int | None, q: str, **more: Any) -> dict:
    return {"low": low, "high": high, "qualifier": q, **more}


BASE_TOTAL = fig(80, None, "at_least")
BASE_CUBANS = fig(32, 32, "exact")


def seed_coverage(engine) -> None:  # noqa: ANN001
    """A day of coverage: a contradiction, an update, a hedge change carried by wire copy,
    confirmations, a reattributed quote and a silent edit."""
    a = add_article(
        engine,
        "https://meridian.example/cuba-mourns",
        "The Daily Meridian",
        "Cuba mourns 32 officers",
    )
    add_finding(
        engine,
        a,
        "confirms",
        "killed:cuban_personnel",
        BASE_CUBANS,
        fig(
            32,
            32,
            "exact",
            metric="killed",
            group_key="cuban_personnel",
            attribution="the Cuban government",
        ),
        "The Cuban government said 32 Cuban nationals were killed in the raid.",
    )
    add_finding(
        engine,
        a,
        "confirms",
        "killed:total",
        BASE_TOTAL,
        fig(80, None, "at_least", metric="killed", group_key="total"),
        "At least 80 people were killed in Saturday's raid.",
        n=1,
    )
    wire = "CARACAS (Harbor Wire) — At least 32 Cuban officers were killed in the US operation."
    for url, outlet in (
        ("https://northgate.example/wire", "Northgate Post"),
        ("https://courier.example/wire", "Atlantic Courier"),
    ):
        ids = add_article(engine, url, outlet, "Toll climbs (Harbor Wire)")
        add_finding(
            engine,
            ids,
            "qualifier_changed",
            "killed:cuban_personnel",
            BASE_CUBANS,
            fig(32, None, "at_least", metric="killed", group_key="cuban_personnel"),
            wire,
        )
    c = add_article(
        engine, "https://courier.example/disputed", "Atlantic Courier", "Cuban toll disputed"
    )
    add_finding(
        engine,
        c,
        "contradicts",
        "killed:cuban_personnel",
        BASE_CUBANS,
        fig(
            40,
            40,
            "exact",
            metric="killed",
            group_key="cuban_personnel",
            attribution="a Latin American head of state",
        ),
        "A head of state wrote that 40 Cuban personnel were killed.",
    )
    ledger = add_article(
        engine,
        "https://ledger.example/100",
        "Global Ledger",
        "Venezuela says 100 killed",
        published=T0 - timedelta(hours=20),
    )
    add_finding(
        engine,
        ledger,
        "updated",
        "killed:total",
        BASE_TOTAL,
        fig(
            100,
            100,
            "exact",
            metric="killed",
            group_key="total",
            attribution="Venezuela's interior minister",
        ),
        "The death toll had risen to 100, the interior minister said.",
    )
    add_finding(
        engine,
        ledger,
        "reattributed",
        "quote:cuban_government:1",
        {
            "speaker_key": "cuban_government",
            "quote": "Our compatriots fulfilled their duty with dignity and heroism",
        },
        {
            "speaker_key": "diaz_canel",
            "speaker": "Cuban President Miguel Díaz-Canel",
            "quote": "Our compatriots fulfilled their duty with dignity and heroism",
        },
        '"Our compatriots fulfilled their duty with dignity and heroism," Díaz-Canel said.',
        n=2,
    )
    edited = add_article(
        engine, "https://meridian.example/toll", "The Daily Meridian", "Death toll rises", version=2
    )
    add_finding(
        engine,
        edited,
        "silent_edit",
        "killed:total",
        fig(80, None, "at_least"),
        fig(95, None, "at_least", metric="killed", group_key="total"),
        "At least 95 people were killed in Saturday's raid.",
        n=3,
    )


def add_poll(
    engine,
    name: str,
    url: str,
    status: str,
    at: datetime,  # noqa: ANN001
    error: str | None = None,
    failing: int = 0,
) -> None:
    with session_scope(engine) as s:
        feed = s.exec(select(Feed).where(Feed.url == url)).first()
        if feed is None:
            feed = Feed(url=url, name=name, created_at=at)
            s.add(feed)
            s.flush()
        feed.consecutive_failures = failing
        if status == "error":
            feed.last_error, feed.last_error_at = error, at
        else:
            feed.last_success_at = at
        s.add(PollLog(feed_id=feed.id, started_at=at, finished_at=at, status=status, error=error))


@pytest.fixture()
def cfg(tmp_path: Path) -> Config:
    return make_cfg(tmp_path)


@pytest.fixture()
def engine(cfg: Config):  # noqa: ANN201
    return make_engine(cfg)


@pytest.fixture(autouse=True)
def frozen_clock():  # noqa: ANN201
    clock.set_now(T0)
    yield
    clock.set_now(None)


def model_for(cfg: Config, engine) -> Any:  # noqa: ANN001
    with Session(engine) as s:
        found = list(s.exec(select(Finding)))
        return build_model(cfg, s, found, T0 - timedelta(days=1), T0)


# ----------------------------------------------------------------------------- tests


def test_sections_follow_the_desk_order(cfg: Config, engine) -> None:  # noqa: ANN001
    seed_coverage(engine)
    m = model_for(cfg, engine)
    assert [s.relation for s in m.sections] == [
        "contradicts",
        "updated",
        "qualifier_changed",
        "reattributed",
        "silent_edit",
    ]
    assert m.subject.startswith("1 contradiction, 1 update, 1 hedge change, 2 more kinds")
    assert m.subject.endswith("— Caracas raid coverage, 8 Jan")


def test_wire_copy_is_one_item_listing_both_outlets(cfg: Config, engine) -> None:  # noqa: ANN001
    seed_coverage(engine)
    m = model_for(cfg, engine)
    hedge = next(s for s in m.sections if s.relation == "qualifier_changed")
    assert len(hedge.items) == 1
    item = hedge.items[0]
    assert item.syndicated and item.outlets == "Northgate Post, Atlantic Courier"
    assert len(item.finding_ids) == 2
    text = render(m).text
    assert "Same wire text from several outlets" in text


def test_each_item_carries_outlet_link_time_sentence_and_both_values(cfg, engine) -> None:  # noqa: ANN001
    seed_coverage(engine)
    r = render(model_for(cfg, engine))
    contra = r.text.split("== CONTRADICTIONS (1) ==")[1].split("==")[0]
    assert "Atlantic Courier: Cuban toll disputed" in contra
    assert "https://courier.example/disputed" in contra
    assert "published 8 Jan 02:00 UTC" in contra
    assert "Baseline: exactly 32" in contra
    assert "Reported: exactly 40 (per a Latin American head of state)" in contra
    assert "40 Cuban personnel were killed" in contra
    assert 'href="https://courier.example/disputed"' in r.html
    # Contradictions come before updates in both parts.
    assert r.html.index('id="contradicts"') < r.html.index('id="updated"')
    assert r.text.index("CONTRADICTIONS") < r.text.index("UPDATES")


def test_confirmations_are_summarised_by_outlet(cfg: Config, engine) -> None:  # noqa: ANN001
    seed_coverage(engine)
    m = model_for(cfg, engine)
    assert [(c.outlet, c.count) for c in m.confirmations] == [("The Daily Meridian", 2)]
    assert "Confirmations by outlet" in render(m).html


def test_chart_is_inline_html_against_the_baseline(cfg: Config, engine) -> None:  # noqa: ANN001
    seed_coverage(engine)
    m = model_for(cfg, engine)
    charts = {c.label: c for c in m.charts}
    total = charts["Killed — overall toll"]
    assert total.bars[0].date == "baseline" and total.baseline == "at least 80"
    assert [b.label for b in total.bars[1:]] == ["exactly 100", "at least 80", "at least 95"]
    assert max(b.width for b in total.bars) == 220
    cubans = charts["Killed — cuban personnel"]
    # The two wire copies are one bar naming both outlets.
    wire = [b for b in cubans.bars if b.label == "at least 32"]
    assert len(wire) == 1 and "Northgate Post" in wire[0].outlets
    html = render(m).html
    assert not {"img", "script", "svg"} & {t for t, _a in parsed_tags(html)}
    assert "background-color: #2f6db5" in html


def test_hostile_feed_text_is_inert(cfg: Config, engine) -> None:  # noqa: ANN001
    ids = add_article(engine, "javascript:alert(1)", "Evil <b>Outlet</b>", HOSTILE_TITLE)
    add_finding(
        engine,
        ids,
        "updated",
        "killed:total",
        BASE_TOTAL,
        fig(100, 100, "exact", attribution='<a href="http://phish.example">x</a>'),
        HOSTILE_SENTENCE,
    )
    r = render(model_for(cfg, engine))
    tags = parsed_tags(r.html)
    assert not {"script", "img", "b", "iframe"} & {t for t, _a in tags}
    assert not [a for _t, attrs in tags for a, _v in attrs if a.startswith("on")]
    hrefs = [v for t, attrs in tags if t == "a" for a, v in attrs if a == "href"]
    assert all(h.startswith("#") or h.startswith("https://") for h in hrefs), hrefs
    # The hostile text is still there, as text the reader can see.
    assert "&lt;script&gt;" in r.html and "&lt;img src=x" in r.html
    assert "\n" not in r.subject and "Bcc" not in r.subject


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, list[tuple[str, str | None]]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, attrs))


def parsed_tags(html: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    p = _Tags()
    p.feed(html)
    return p.tags


def test_quiet_day_says_so_in_one_line(cfg: Config, engine) -> None:  # noqa: ANN001
    add_poll(engine, "Meridian", "https://meridian.example/rss", "ok", T0 - timedelta(hours=2))
    m = model_for(cfg, engine)
    r = render(m)
    assert m.quiet and m.subject == "No new findings — Caracas raid coverage, 8 Jan"
    assert r.text.count("Quiet day:") == 1 and 'id="quiet"' in r.html
    assert "All 1 feed answered" in r.text


def test_source_health_lists_failures_since_the_last_digest(cfg: Config, engine) -> None:  # noqa: ANN001
    add_poll(engine, "Meridian", "https://meridian.example/rss", "ok", T0 - timedelta(hours=3))
    add_poll(
        engine,
        "Bayside",
        "https://bayside.example/rss",
        "error",
        T0 - timedelta(hours=3),
        error="HTTP 503",
        failing=2,
    )
    add_poll(
        engine,
        "Bayside",
        "https://bayside.example/rss",
        "error",
        T0 - timedelta(hours=1),
        error="HTTP 503",
        failing=2,
    )
    # A failure before the period is not this digest's news (the feed has since recovered).
    add_poll(
        engine, "Old", "https://old.example/rss", "error", T0 - timedelta(days=3), error="timeout"
    )
    m = model_for(cfg, engine)
    assert [(p.name, p.failures, p.still_failing) for p in m.feed_problems] == [
        ("Bayside", 2, True)
    ]
    assert "(1 feed failing)" in m.subject
    r = render(m)
    assert "Bayside (https://bayside.example/rss): 2 failures, still failing" in r.text
    assert 'id="health-warning"' in r.html


def test_no_polls_at_all_is_not_a_quiet_day(cfg: Config, engine) -> None:  # noqa: ANN001
    r = render(model_for(cfg, engine))
    assert "No feed was polled since the last digest" in r.html


def test_css_is_inlined_for_email_clients(cfg: Config, engine) -> None:  # noqa: ANN001
    seed_coverage(engine)
    html = render(model_for(cfg, engine)).html
    assert "<style" not in html
    assert 'style="' in html and "border-left: 5px solid #b83a3a" in html


def test_preview_writes_html_and_marks_nothing(cfg: Config, engine, tmp_path: Path) -> None:  # noqa: ANN001
    seed_coverage(engine)
    out = tmp_path / "p" / "digest.html"
    line = preview(cfg, engine, out)
    assert out.is_file() and "Contradictions" in out.read_text()
    assert "preview written" in line
    with Session(engine) as s:
        assert s.exec(select(Digest)).all() == []
        assert all(f.digest_id is None for f in s.exec(select(Finding)))
    assert not cfg.outbox_dir.exists()


@pytest.mark.parametrize(
    ("d", "text"),
    [
        (fig(32, 32, "exact"), "exactly 32"),
        (fig(81, None, "more_than"), "more than 80"),
        (fig(1, 30, "up_to"), "up to 30"),
        (fig(1, 9, "fewer_than"), "fewer than 10"),
        (fig(100, 120, "range"), "100–120"),
        (fig(50, 50, "about"), "about 50"),
    ],
)
def test_figures_read_as_reported(d: dict, text: str) -> None:
    assert describe_figure(d) == text


def test_subject_counts_only_changes() -> None:
    assert (
        subject_for(
            {"contradicts": 3, "updated": 2, "confirms": 9}, "Caracas raid coverage", "24 Nov", 0
        )
        == "3 contradictions, 2 updates — Caracas raid coverage, 24 Nov"
    )
    assert subject_for({"confirms": 1}, "T", "1 Jan", 0) == "1 confirmation, no changes — T, 1 Jan"


def test_message_parts_parse_back(cfg: Config, engine) -> None:  # noqa: ANN001
    from monitor.delivery import build_message

    seed_coverage(engine)
    r = render(model_for(cfg, engine))
    d = Digest(
        id=1,
        story_key=STORY,
        period_end=T0,
        created_at=T0,
        message_id="<a@b>",
        recipients=["desk@example.org"],
    )
    raw = build_message(cfg, d, r.subject, r.text, r.html).as_bytes()
    msg = email.message_from_bytes(raw, policy=policy.default)
    assert msg.get_content_type() == "multipart/alternative"
    types = [p.get_content_type() for p in msg.iter_parts()]
    assert types == ["text/plain", "text/html"]


def test_long_days_are_capped_not_split(tmp_path: Path) -> None:
    cfg = make_cfg(tmp_path, digest={"max_items": 3})
    engine = make_engine(cfg)
    seed_coverage(engine)
    m = model_for(cfg, engine)
    assert sum(len(s.items) for s in m.sections) == 3 and m.omitted == 2
    assert [s.relation for s in m.sections] == ["contradicts", "updated", "qualifier_changed"]
    assert m.counts["silent_edit"] == 1  # the subject still counts everything
    assert "2 more items not shown" in render(m).text
