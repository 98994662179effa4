"""The HTML digest in a real browser (Debian's chromium, headless): the DOM the browser reports
has every section, hostile feed text stays text, and a screenshot is kept in tests/artifacts/.

Skips when chromium is missing, except under CI (env CI set), where it must run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from test_digest import (
    BASE_TOTAL,
    T0,
    add_article,
    add_finding,
    add_poll,
    fig,
    make_cfg,
    make_engine,
    seed_coverage,
)

from monitor import clock
from monitor.digest import preview

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
PWN = "<img src=x onerror=\"document.body.setAttribute('data-pwned', '1')\">"


def chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is required under CI (apt-get install -y chromium)")
        pytest.skip("chromium not installed")
    return exe


def run_chromium(exe: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cmd = [
        exe,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        *args,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def digest_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("browser")
    clock.set_now(T0)
    try:
        cfg = make_cfg(tmp)
        engine = make_engine(cfg)
        seed_coverage(engine)
        ids = add_article(
            engine,
            "https://evil.example/x",
            "Evil Outlet",
            f"Toll {PWN}<script>document.body.setAttribute('data-pwned','2')</script>",
        )
        add_finding(
            engine,
            ids,
            "contradicts",
            "killed:total",
            BASE_TOTAL,
            fig(70, 70, "exact"),
            f"Only 70 died, the agency said. {PWN}",
            n=9,
        )
        add_poll(engine, "Meridian", "https://meridian.example/rss", "ok", T0 - timedelta(hours=2))
        add_poll(
            engine,
            "Bayside Chronicle",
            "https://bayside.example/rss",
            "error",
            T0 - timedelta(hours=2),
            error="HTTP 503 Service Unavailable",
            failing=3,
        )
        out = tmp / "digest.html"
        preview(cfg, engine, out)
        return out
    finally:
        clock.set_now(None)


def test_browser_dom_has_every_section_and_no_injected_markup(
    digest_html: Path, tmp_path: Path
) -> None:
    exe = chromium()
    res = run_chromium(exe, tmp_path / "profile", "--dump-dom", digest_html.as_uri())
    assert res.returncode == 0, res.stderr[-2000:]
    dom = res.stdout
    for section in (
        "contradicts",
        "updated",
        "qualifier_changed",
        "reattributed",
        "silent_edit",
        "confirms",
        "figures",
        "source-health",
        "health-warning",
    ):
        assert f'id="{section}"' in dom, section
    assert "Same wire text from 2 outlets" in dom
    assert "Bayside Chronicle" in dom and "still failing" in dom
    # The hostile markup ran nowhere: no attribute set, no element created, text visible.
    assert "data-pwned" not in dom.split("<body", 1)[1].split(">", 1)[0]
    assert "<img" not in dom and "&lt;img src=x" in dom
    assert (
        dom.index('id="contradicts"') < dom.index('id="updated"') < dom.index('id="source-health"')
    )


def test_browser_screenshot_is_kept_as_an_artefact(digest_html: Path, tmp_path: Path) -> None:
    exe = chromium()
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "digest.png"
    shot.unlink(missing_ok=True)
    res = run_chromium(
        exe,
        tmp_path / "profile",
        "--window-size=760,2300",
        "--hide-scrollbars",
        f"--screenshot={shot}",
        digest_html.as_uri(),
    )
    assert res.returncode == 0, res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000
    shutil.copy(digest_html, ARTIFACTS / "digest.html")
