"""Config validation: every bad case gives one line naming the key, and a non-zero exit."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from monitor.cli import cli
from monitor.config import load_config

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "caracas-raid"

GOOD = f"""
[story]
seed = "{SEED}"
[database]
url = "sqlite:///data/monitor.db"
[digest]
to = ["desk@example.org"]
time = "07:00"
timezone = "Europe/London"
[[feeds]]
url = "https://example.org/world.xml"
name = "World"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_good_config_loads(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, GOOD))
    assert cfg.feeds[0].url == "https://example.org/world.xml"
    assert cfg["digest"]["timezone"] == "Europe/London"
    assert cfg["network"]["allow_private_addresses"] is False
    assert cfg.story_folder == SEED


def test_shipped_default_config_is_valid() -> None:
    cfg = load_config(REPO / "config" / "monitor.toml")
    assert len(cfg.feeds) >= 8
    assert all(f.name for f in cfg.feeds)
    assert cfg.database_url.startswith("sqlite:///")


BAD = [
    ("unknown top-level section", GOOD + "\n[colour]\nx = 1\n", "colour: unknown section"),
    ("unknown key", GOOD.replace('time = "07:00"', 'tiem = "07:00"'), "digest.tiem: unknown key"),
    ("bad time", GOOD.replace('"07:00"', '"7 am"'), "digest.time"),
    ("hour out of range", GOOD.replace('"07:00"', '"25:00"'), "digest.time"),
    ("bad timezone", GOOD.replace("Europe/London", "Mars/Olympus"), "digest.timezone"),
    ("missing seed folder", GOOD.replace(str(SEED), "/nonexistent/story"), "story.seed"),
    (
        "feed not http",
        GOOD.replace("https://example.org/world.xml", "ftp://x.org/a"),
        "feeds[0].url",
    ),
    (
        "feed url garbage",
        GOOD.replace("https://example.org/world.xml", "not a url"),
        "feeds[0].url",
    ),
    (
        "unknown feed key",
        GOOD.replace('name = "World"', 'name = "World"\ncolor = "red"'),
        "feeds[0].color: unknown key",
    ),
    (
        "duplicate feed",
        GOOD + '\n[[feeds]]\nurl = "https://example.org/world.xml"\n',
        "feeds[1].url",
    ),
    ("bad database url", GOOD.replace("sqlite:///data/monitor.db", "mysql://x"), "database.url"),
    ("bad recipient", GOOD.replace("desk@example.org", "desk at example"), "digest.to[0]"),
    (
        "wrong type",
        GOOD + '\n[network]\nallow_private_addresses = "yes"\n',
        "network.allow_private_addresses",
    ),
    ("port out of range", GOOD + "\n[smtp]\nport = 70000\n", "smtp.port"),
    ("not toml", "[story\nseed=", "not valid TOML"),
]


@pytest.mark.parametrize("label,text,needle", BAD, ids=[b[0] for b in BAD])
def test_bad_config_one_clear_line(tmp_path: Path, label: str, text: str, needle: str) -> None:
    path = write(tmp_path, text)
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 2, result.output
    lines = [ln for ln in result.output.strip().splitlines() if ln]
    assert len(lines) == 1, result.output
    assert needle in lines[0]
    assert "Traceback" not in result.output


def test_missing_config_file_names_it(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--config", str(tmp_path / "nope.toml"), "status"])
    assert result.exit_code == 2
    assert "nope.toml not found" in result.output


def test_env_var_selects_config(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('"07:00"', '"99:00"'))
    result = CliRunner().invoke(cli, ["status"], env={"MONITOR_CONFIG": str(path)})
    assert result.exit_code == 2 and "digest.time" in result.output


def test_real_process_prints_no_traceback(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("Europe/London", "Nowhere/Town"))
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "--config", str(path), "init"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: digest.timezone")
    assert "Traceback" not in proc.stderr


def test_smtp_password_only_from_environment(tmp_path: Path, monkeypatch) -> None:
    path = write(tmp_path, GOOD + '\n[smtp]\npassword = "hunter2"\n')
    result = CliRunner().invoke(cli, ["--config", str(path), "status"])
    assert result.exit_code == 2 and "smtp.password: unknown key" in result.output
    monkeypatch.setenv("MONITOR_SMTP_PASSWORD", "s3cret")
    assert load_config(write(tmp_path, GOOD)).smtp_password == "s3cret"
