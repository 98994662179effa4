"""The replay benchmark as a test: invented follow-up coverage (benchmarks/replay_data/), eight
days of polls through the contract commands, scored against the hand labels.

Runs the commands through click in this process (the same code the subprocesses run) to stay
fast; ``python benchmarks/replay.py`` runs them as real subprocesses.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def replay():  # noqa: ANN201
    spec = importlib.util.spec_from_file_location("replay", ROOT / "benchmarks" / "replay.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["replay"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def scored(replay, tmp_path_factory):  # noqa: ANN001, ANN201
    cov = replay.load()
    result = replay.run(tmp_path_factory.mktemp("replay"), cov, in_process=True)
    assert result.digest_path.is_file() and result.digest_path.stat().st_size > 0
    return replay.score(cov, result.findings), replay


def test_labels_cover_every_article(replay) -> None:
    cov = replay.load()
    assert len(cov.articles) >= 55
    off = [a for a in cov.articles if not cov.labels[a.slug].on_story]
    assert len(off) >= 12


def test_no_finding_from_off_story_articles(scored) -> None:
    s, replay = scored
    assert s.off_story == [], replay.report(s)


def test_relation_recall(scored) -> None:
    s, replay = scored
    assert s.recall >= 0.85, replay.report(s)


def test_alarm_precision(scored) -> None:
    s, replay = scored
    assert s.alarm_precision >= 0.90, replay.report(s)


def test_no_unlabelled_new_statement(scored) -> None:
    # Trump on tariffs inside a raid article is not a statement of the story.
    s, replay = scored
    assert not [t for t in s.extra if t[1] == "new_statement"], replay.report(s)
