"""`monitor demo`: the whole product offline on the bundled coverage."""

from __future__ import annotations

import email
import io
import re
from email import policy
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlmodel import Session, select

from monitor import clock
from monitor.cli import cli
from monitor.db import get_engine
from monitor.demo import load_coverage, run_demo
from monitor.models import Article, Digest, Finding


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    workdir = tmp_path_factory.mktemp("demo")
    out = io.StringIO()
    assert run_demo(workdir, out=out) == 0
    return workdir, out.getvalue()


def test_coverage_is_shaped_like_real_follow_ups() -> None:
    cov = load_coverage()
    assert 10 <= len(cov.articles) <= 14 and cov.days == 5
    assert len({a.feed for a in cov.articles}) >= 5
    wire = [a for a in cov.articles if "(Harbor Wire)" in a.text]
    assert len({a.feed for a in wire}) == 2
    assert any(a.revised_text for a in cov.articles)
    assert any("cubanos" in a.text for a in cov.articles)  # the Spanish piece
    on_story = [a for a in cov.articles if "Maduro" in a.text]
    assert len(on_story) >= 9


def test_demo_writes_the_digest_and_prints_where(demo: tuple[Path, str]) -> None:
    workdir, out = demo
    eml = workdir / "outbox" / "digest-2026-01-10-0001.eml"
    assert f"Open the digest: {eml.with_suffix('.html')}" in out
    msg = email.message_from_bytes(eml.read_bytes(), policy=policy.default)
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Subject"].endswith("— Caracas raid coverage, 10 Jan")
    html = eml.with_suffix(".html").read_text()
    assert "Same wire text from 2 outlets" in html
    assert "Bayside Chronicle" in html and "still failing" in html
    assert clock._frozen is None  # the demo gives the clock back


def test_demo_findings(demo: tuple[Path, str]) -> None:
    workdir, out = demo
    engine = get_engine(f"sqlite:///{workdir / 'demo.db'}")
    with Session(engine) as s:
        rows = s.exec(select(Finding, Article).join(Article, Article.id == Finding.article_id))
        by_title: dict[str, set[str]] = {}
        for f, a in rows:
            by_title.setdefault(a.title, set()).add(f.relation)
        (d,) = s.exec(select(Digest)).all()
        assert d.status == "sent" and d.finding_count == len(s.exec(select(Finding)).all())
        titles = {a.title for a in s.exec(select(Article))}
    relations = set().union(*by_title.values())
    assert {"contradicts", "updated", "qualifier_changed", "silent_edit", "confirms"} <= relations
    # The off-story article and the other casualty event produce nothing.
    off = [t for t in titles if "cocoa" in t or "Floods" in t]
    assert len(off) == 2 and not any(t in by_title for t in off)
    assert "silent_edit" in by_title["Death toll from Caracas raid rises as families seek answers"]
    assert re.search(r"findings: \d+ from \d+ of 12 articles fetched", out)
    assert re.search(r"contradicts\s+Atlantic Courier\s+killed:cuban_personnel", out)


def test_cli_demo_reruns_from_scratch(tmp_path: Path) -> None:
    runner = CliRunner()
    for _ in range(2):
        res = runner.invoke(cli, ["demo", "--workdir", str(tmp_path / "w")])
        assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "w" / "outbox").iterdir()) == [
        "digest-2026-01-10-0001.eml",
        "digest-2026-01-10-0001.html",
    ]
