"""The baseline file: drafted from the seed, validated on load, never overwritten when edited."""

from __future__ import annotations

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest

from monitor.baseline import (
    draft_baseline,
    draft_command,
    ensure_baseline,
    load_baseline,
    write_baseline,
)
from monitor.errors import ConfigError
from monitor.story import load_story

REPO = Path(__file__).resolve().parent.parent
SEED = REPO / "seeds" / "caracas-raid"


@pytest.fixture
def story_dir(tmp_path: Path) -> Path:
    """A copy of the seed folder without its baseline file."""
    folder = tmp_path / "caracas-raid"
    folder.mkdir()
    for name in ("story.toml", "article.txt"):
        shutil.copy(SEED / name, folder / name)
    return folder


def cfg_for(folder: Path) -> SimpleNamespace:
    return SimpleNamespace(story_folder=folder)


def test_draft_holds_the_seed_figures_and_every_quote(story_dir: Path) -> None:
    data = draft_baseline(load_story(story_dir))
    cubans = data["figures"]["killed:cuban_personnel"]
    assert (cubans["low"], cubans["high"], cubans["qualifier"]) == (32, 32, "exact")
    assert "Cuban government" in cubans["attribution"]
    assert cubans["expected_to_rise"] is False
    total = data["figures"]["killed:total"]
    assert (total["low"], total["high"], total["qualifier"]) == (80, None, "at_least")
    assert (
        "New York Times" in total["attribution"] and "Venezuelan official" in total["attribution"]
    )
    assert total["expected_to_rise"] is True
    assert set(data["figures"]) == {"killed:cuban_personnel", "killed:total"}
    quotes = {k: (v["speaker_key"], v["quote"]) for k, v in data["statements"].items()}
    assert quotes["quote:diaz_canel:1"] == (
        "diaz_canel",
        "at the request of the Venezuelan government.",
    )
    assert quotes["quote:cuban_government:1"] == (
        "cuban_government",
        "Our compatriots fulfilled their duty with dignity and heroism",
    )
    assert quotes["quote:cuban_government:2"][1].startswith("They fell, after fierce resistance")
    assert quotes["quote:trump:1"] == ("trump", "I don’t think we need any action")
    assert quotes["quote:trump:2"] == (
        "trump",
        "Cuba is ready to fall. It’s going down for the count.",
    )
    assert quotes["quote:rubio:1"] == ("rubio", "disaster")
    assert quotes["quote:rubio:2"] == ("rubio", "incompetent, senile men")
    assert {v[0] for v in quotes.values()} <= {
        "diaz_canel",
        "cuban_government",
        "trump",
        "rubio",
        "us_official",
    }


def test_the_committed_baseline_is_the_seed_drafted_and_loads() -> None:
    b = load_baseline(load_story(SEED))
    assert b.figures["killed:cuban_personnel"]["low"] == 32
    assert b.figures["killed:total"]["qualifier"] == "at_least"
    assert len(b.statements) >= 7


def test_file_round_trips_and_is_unedited(story_dir: Path) -> None:
    story = load_story(story_dir)
    data = draft_baseline(story)
    write_baseline(story, data)
    text = story.baseline_path.read_text(encoding="utf-8")
    assert text.startswith("# Baseline of the tracked story")
    assert "hand-edit freely" in text and "drafted_sha256" in text
    b = load_baseline(story)
    assert b.figures == data["figures"] and b.statements == data["statements"]
    assert b.edited is False


def test_ensure_drafts_once_then_only_loads(story_dir: Path) -> None:
    story = load_story(story_dir)
    data, note = ensure_baseline(story)
    assert "drafted" in note and data["figures"]["killed:total"]["low"] == 80
    edited = story.baseline_path.read_text(encoding="utf-8").replace("low = 80", "low = 81")
    story.baseline_path.write_text(edited, encoding="utf-8")
    data, note = ensure_baseline(story)
    assert "loaded" in note and "edited by hand" in note
    assert data["figures"]["killed:total"]["low"] == 81
    assert "low = 81" in story.baseline_path.read_text(encoding="utf-8")


def test_baseline_command_drafts_redrafts_and_guards_edits(story_dir: Path) -> None:
    cfg = cfg_for(story_dir)
    path = story_dir / "baseline.toml"
    assert "drafted" in draft_command(cfg)
    before = path.read_bytes()
    assert "already matches" in draft_command(cfg)  # unedited, and the seed gives the same
    assert path.read_bytes() == before  # not even drafted_at moves
    # Comments are not edits (and are kept); items are.
    path.write_text(path.read_text(encoding="utf-8") + "# reviewed\n", "utf-8")
    assert "already matches" in draft_command(cfg)
    assert path.read_text(encoding="utf-8").endswith("# reviewed\n")
    text = path.read_text(encoding="utf-8").replace("low = 32\nhigh = 32", "low = 33\nhigh = 33")
    path.write_text(text, "utf-8")
    with pytest.raises(ConfigError, match="edited by hand.*--force"):
        draft_command(cfg)
    assert "low = 33" in path.read_text(encoding="utf-8")
    out = draft_command(cfg, force=True)
    backups = list(story_dir.glob("baseline.toml.bak-*"))
    assert len(backups) == 1 and "low = 33" in backups[0].read_text(encoding="utf-8")
    assert backups[0].name in out
    assert "low = 32" in path.read_text(encoding="utf-8")


def test_redraft_reports_what_changed(story_dir: Path) -> None:
    cfg = cfg_for(story_dir)
    draft_command(cfg)
    story = load_story(story_dir)
    # Simulate a seed whose draft differs: drop one item and keep the hash consistent.
    b = load_baseline(story)
    del b.statements["quote:rubio:1"]
    write_baseline(story, {"figures": b.figures, "statements": b.statements})
    out = draft_command(cfg)
    assert "+ quote:rubio:1" in out


def test_a_broken_file_is_kept_without_force(story_dir: Path) -> None:
    path = story_dir / "baseline.toml"
    path.write_text("[figures\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="does not load"):
        draft_command(cfg_for(story_dir))
    assert path.read_text(encoding="utf-8") == "[figures\n"


BAD_EDITS = [
    ("[figures\n", "not valid TOML"),
    ('[figures."killed:martians"]\nlow = 3\n', "group_key one of"),
    ('[figures."killed:total"]\nlow = "eighty"\n', "low must be a whole number"),
    ('[figures."killed:total"]\nqualifier = "roughly"\nlow = 80\n', "qualifier"),
    ('[figures."killed:total"]\nlow = 80\nhigh = 70\nqualifier = "range"\n', "below low"),
    ('[figures."killed:total"]\nlow = 80\ncolour = "red"\n', "colour: unknown field"),
    ('[figures."killed:total"]\nqualifier = "at_least"\n', "low is missing"),
    ('[statements."quote:obama:1"]\nquote = "x"\n', "speaker_key one of"),
    ('[statements."quote:trump:1"]\nquote = ""\n', "quote is missing or empty"),
    ('[statements."quote:trump:1"]\nspeaker_key = "rubio"\nquote = "x"\n', "the key says"),
    ("[other]\nx = 1\n", "unknown table"),
]


@pytest.mark.parametrize(("text", "message"), BAD_EDITS)
def test_bad_hand_edits_are_one_line_errors(story_dir: Path, text: str, message: str) -> None:
    (story_dir / "baseline.toml").write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_baseline(load_story(story_dir))
    assert message in str(err.value)
    assert "\n" not in str(err.value) and str(err.value).startswith("baseline.toml:")


def test_missing_file_names_the_command(story_dir: Path) -> None:
    with pytest.raises(ConfigError, match="monitor baseline"):
        load_baseline(load_story(story_dir))
