"""An installed wheel (not only a checkout) carries the templates, seeds and migrations."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    src = tmp_path_factory.mktemp("src") / "project"
    # Build from a copy of the tracked files only, as a release would.
    files = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True)
    if files.returncode != 0:
        pytest.skip("not a git checkout")
    for name in files.stdout.splitlines():
        if (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        pytest.fail(f"wheel build failed: {proc.stderr.strip().splitlines()[-1:]}")
    return zipfile.ZipFile(next(out.glob("*.whl")))


def test_wheel_ships_templates_seeds_and_migrations(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    assert "monitor/_bundled/seeds/caracas-raid/article.txt" in names
    assert "monitor/_bundled/seeds/caracas-raid/story.toml" in names
    assert any(n.startswith("monitor/_bundled/templates/digest") for n in names)
    assert any(n.startswith("monitor/migrations/versions/") for n in names)
    assert "monitor/migrations/env.py" in names


def test_wheel_seed_is_the_given_article(wheel: zipfile.ZipFile) -> None:
    shipped = wheel.read("monitor/_bundled/seeds/caracas-raid/article.txt")
    assert shipped == (REPO / "seeds" / "caracas-raid" / "article.txt").read_bytes()


def test_installed_layout_finds_bundled_folders(tmp_path: Path, monkeypatch) -> None:
    import monitor.paths as paths

    pkg = tmp_path / "site" / "monitor"
    (pkg / "_bundled" / "templates").mkdir(parents=True)
    (pkg / "_bundled" / "seeds").mkdir(parents=True)
    monkeypatch.setattr(paths, "PACKAGE_DIR", pkg)
    monkeypatch.setattr(paths, "PROJECT_DIR", pkg.parent)
    assert paths.templates_dir() == pkg / "_bundled" / "templates"
    assert paths.seeds_dir() == pkg / "_bundled" / "seeds"
