"""`monitor feeds list | add | remove`: health from the database, config edited in place."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import load_config
from monitor.cycle import run_cycle
from monitor.errors import ConfigError
from monitor.feeds import add_feed, list_lines, remove_feed
from monitor.setup import sync_feeds

REPO = Path(__file__).resolve().parent.parent
FIX = Path(__file__).parent / "fixtures" / "collection"


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_list_without_a_database_shows_the_config(make_config, tmp_path) -> None:
    cfg = make_config(tmp_path, feeds=[{"url": "https://feeds.example.org/a.xml", "name": "A"}])
    lines = list_lines(cfg)
    assert lines[0].startswith("never polled") and "https://feeds.example.org/a.xml" in lines[0]
    assert "last success never" in lines[1] and "items seen 0" in lines[1]
    if cfg.database_url.startswith("sqlite"):  # listing never creates a database
        assert not Path(cfg.database_url.removeprefix("sqlite:///")).exists()


def test_list_shows_health_after_a_poll(make_config, tmp_path, engine, loopback) -> None:
    body = (FIX / "rss10.rdf").read_bytes().replace(b"{BASE}", loopback.base_url.encode())
    loopback.set("/good.rdf", body, content_type="application/rdf+xml")
    loopback.set("/bad.xml", "oops", status=503, headers={"Retry-After": "60"})
    cfg = make_config(
        tmp_path,
        feeds=[
            {"url": loopback.url("/good.rdf"), "name": "Good"},
            {"url": loopback.url("/bad.xml"), "name": "Bad"},
        ],
    )
    sync_feeds(cfg, engine)
    run_cycle(cfg, engine, articles=False)
    records = [json.loads(line) for line in list_lines(cfg, as_json=True)]
    good, bad = records
    assert good["health"] == "ok" and good["items_seen"] == 1 and good["last_success_at"]
    assert good["last_error"] is None and good["consecutive_failures"] == 0
    assert bad["health"] == "backing off" and "HTTP 503" in bad["last_error"]
    assert bad["consecutive_failures"] == 1 and bad["next_poll_at"] and not bad["last_success_at"]
    text = "\n".join(list_lines(cfg))
    assert "ok           Good" in text and "backing off  Bad" in text
    assert "items seen 1" in text and "failures 1" in text


def test_cli_feeds_list(make_config, tmp_path) -> None:
    cfg = make_config(tmp_path, feeds=["https://feeds.example.org/a.xml"])
    code, out = run("--config", str(cfg.path), "feeds", "list", "--json")
    assert code == 0 and json.loads(out.splitlines()[0])["url"] == "https://feeds.example.org/a.xml"


@pytest.fixture
def editor_config(tmp_path) -> Path:
    """The shipped config (with its comments) copied next to a story folder."""
    shutil.copytree(REPO / "seeds", tmp_path / "seeds")
    (tmp_path / "config").mkdir()
    path = tmp_path / "config" / "monitor.toml"
    shutil.copy(REPO / "config" / "monitor.toml", path)
    return path


def test_add_keeps_comments_and_layout(editor_config: Path) -> None:
    before = editor_config.read_text()
    cfg = load_config(editor_config)
    msg = add_feed(cfg, "https://news.example.org/rss", "Example desk")
    assert msg.startswith("added https://news.example.org/rss")
    after = editor_config.read_text()
    assert after.startswith(before.rstrip("\n"))  # everything before is untouched
    assert after.count("[[feeds]]") == before.count("[[feeds]]") + 1
    reloaded = load_config(editor_config)
    assert reloaded.feeds[-1].url == "https://news.example.org/rss"
    assert reloaded.feeds[-1].name == "Example desk"


@pytest.mark.parametrize("url", ["ftp://x.org/feed", "file:///etc/passwd", "not a url", ""])
def test_add_refuses_non_http(editor_config: Path, url: str) -> None:
    with pytest.raises(ConfigError, match="not an http"):
        add_feed(load_config(editor_config), url, "")


def test_add_refuses_a_duplicate(editor_config: Path) -> None:
    cfg = load_config(editor_config)
    existing = cfg.feeds[0].url
    with pytest.raises(ConfigError, match="already watched"):
        add_feed(cfg, existing + "/", "")


@pytest.mark.parametrize("index", [0, 1, 9, -1])  # 9 sits right above a section comment
def test_remove_keeps_the_rest(editor_config: Path, index: int) -> None:
    cfg = load_config(editor_config)
    victim = cfg.feeds[index].url
    before = editor_config.read_text()
    msg = remove_feed(cfg, victim)
    assert "removed" in msg
    after = editor_config.read_text()
    reloaded = load_config(editor_config)
    assert [f.url for f in reloaded.feeds] == [f.url for f in cfg.feeds if f.url != victim]
    assert victim not in after
    # Comments outside the removed table survive.
    for line in before.splitlines():
        if line.startswith("#"):
            assert line in after


def test_remove_refuses_an_unknown_url(editor_config: Path) -> None:
    with pytest.raises(ConfigError, match="is not in"):
        remove_feed(load_config(editor_config), "https://nowhere.example.org/rss")


def test_cli_add_and_remove(editor_config: Path) -> None:
    code, out = run(
        "--config", str(editor_config), "feeds", "add", "https://n.example.org/f", "--name", "N"
    )
    assert code == 0 and "added" in out
    code, out = run("--config", str(editor_config), "feeds", "add", "https://n.example.org/f")
    assert code == 2 and "already watched" in out
    code, out = run("--config", str(editor_config), "feeds", "remove", "https://n.example.org/f")
    assert code == 0 and "removed" in out
    code, out = run("--config", str(editor_config), "feeds", "remove", "https://n.example.org/f")
    assert code == 2 and "is not in" in out
