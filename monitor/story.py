"""The tracked story: seed article, vocabulary (group and speaker aliases), relevance terms.

A story lives in a folder (``seeds/<key>/``) holding ``story.toml`` and the seed article.
Everything story-specific is data in that file; code only knows the contract keys.
"""

from __future__ import annotations

import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from monitor.errors import ConfigError

GROUP_KEYS = (
    "total",
    "cuban_personnel",
    "venezuelan_military",
    "venezuelan_civilians",
    "us_forces",
    "maduro_security",
)
SPEAKER_KEYS = (
    "diaz_canel",
    "cuban_government",
    "trump",
    "rubio",
    "venezuelan_official",
    "us_official",
)


def fold(text: str) -> str:
    """Lower-case, strip accents and normalise apostrophes, so aliases match any spelling."""
    text = text.replace("\u2019", "'").replace("\u2018", "'").replace("\u00a0", " ")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _alias_pattern(aliases: list[str]) -> re.Pattern[str]:
    # Longest first so "venezuelan soldiers" wins over "soldiers" at the same position.
    alts = sorted({fold(a) for a in aliases if a.strip()}, key=len, reverse=True)
    body = "|".join(re.escape(a) for a in alts) or r"(?!x)x"
    return re.compile(rf"(?<![\w-])(?:{body})(?![\w-])")


@dataclass(frozen=True)
class Vocabulary:
    """Aliases per contract key; ``key_for`` returns the key whose alias best matches."""

    aliases: dict[str, tuple[str, ...]]
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        for key, names in self.aliases.items():
            self._patterns[key] = _alias_pattern(list(names))

    def matches(self, text: str) -> list[tuple[str, int, int]]:
        """All (key, alias length, position) hits in ``text``, best first."""
        folded = fold(text)
        hits = []
        for key, pattern in self._patterns.items():
            for m in pattern.finditer(folded):
                hits.append((key, m.end() - m.start(), m.start()))
        hits.sort(key=lambda h: (-h[1], h[2]))
        return hits

    def key_for(self, text: str | None, default: str = "other") -> str:
        """The key of the longest alias found in ``text`` (ties: the earliest), else ``default``."""
        if not text:
            return default
        hits = self.matches(text)
        return hits[0][0] if hits else default


@dataclass(frozen=True)
class Relevance:
    anchors: tuple[str, ...] = ()
    event_terms: tuple[str, ...] = ()
    context_terms: tuple[str, ...] = ()
    off_topic_terms: tuple[str, ...] = ()


@dataclass(frozen=True)
class Story:
    key: str
    title: str
    folder: Path
    seed_path: Path
    baseline_path: Path
    outlet: str
    published_at: str
    groups: Vocabulary
    speakers: Vocabulary
    relevance: Relevance
    # [quotes] synonyms: groups of words and phrases that translations of one statement use
    # for each other ("fulfilled" / "carried out", "dignity" / "honour"). Optional.
    quote_synonyms: tuple[tuple[str, ...], ...] = ()
    # [quotes] generic_speakers: speaker phrases that name no one in particular ("the
    # government", "the statement"): such a quote takes the speaker of the baseline quote whose
    # words it repeats. Optional.
    generic_speakers: tuple[str, ...] = ()

    @property
    def seed_text(self) -> str:
        return self.seed_path.read_text(encoding="utf-8")

    def group_key(self, group_words: str | None) -> str:
        return self.groups.key_for(group_words)

    def speaker_key(self, speaker: str | None) -> str:
        return self.speakers.key_for(speaker)


def _strings(data: dict, key: str, where: str) -> tuple[str, ...]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}.{key}: must be a list of strings")
    return tuple(value)


def _vocabulary(data: dict, section: str, keys: tuple[str, ...], path: Path) -> Vocabulary:
    table = data.get(section, {})
    unknown = set(table) - set(keys)
    if unknown:
        raise ConfigError(
            f"{path}: [{section}.{sorted(unknown)[0]}] is not a contract key "
            f"(use one of: {', '.join(keys)})"
        )
    return Vocabulary({k: _strings(table.get(k, {}), "aliases", f"{section}.{k}") for k in keys})


def _synonym_groups(data: dict, path: Path) -> tuple[tuple[str, ...], ...]:
    groups = data.get("quotes", {}).get("synonyms", [])
    if not isinstance(groups, list) or not all(
        isinstance(g, list) and all(isinstance(w, str) for w in g) for g in groups
    ):
        raise ConfigError(f"{path}: quotes.synonyms: must be a list of lists of strings")
    return tuple(tuple(g) for g in groups if len(g) > 1)


def load_story(folder: str | Path) -> Story:
    """Load ``folder/story.toml``; raise ConfigError with one line naming what is wrong."""
    folder = Path(folder)
    path = folder / "story.toml"
    if not folder.is_dir():
        raise ConfigError(f"story.seed: folder {folder} does not exist")
    if not path.is_file():
        raise ConfigError(f"story.seed: {path} is missing (each story folder needs a story.toml)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc})") from None
    meta = data.get("story", {})
    seed_path = folder / meta.get("seed", "article.txt")
    if not seed_path.is_file():
        raise ConfigError(f"story.seed: seed article {seed_path} is missing")
    rel = data.get("relevance", {})
    return Story(
        key=meta.get("key", folder.name),
        title=meta.get("title", folder.name),
        folder=folder,
        seed_path=seed_path,
        baseline_path=folder / meta.get("baseline", "baseline.toml"),
        outlet=meta.get("outlet", ""),
        published_at=meta.get("published_at", ""),
        groups=_vocabulary(data, "groups", GROUP_KEYS, path),
        speakers=_vocabulary(data, "speakers", SPEAKER_KEYS, path),
        relevance=Relevance(
            anchors=_strings(rel, "anchors", "relevance"),
            event_terms=_strings(rel, "event_terms", "relevance"),
            context_terms=_strings(rel, "context_terms", "relevance"),
            off_topic_terms=_strings(rel, "off_topic_terms", "relevance"),
        ),
        quote_synonyms=_synonym_groups(data, path),
        generic_speakers=_strings(data.get("quotes", {}), "generic_speakers", "quotes"),
    )


@lru_cache(maxsize=8)
def _cached(folder: str) -> Story:
    return load_story(folder)


def default_story() -> Story:
    """The story named by the default config (``MONITOR_CONFIG`` or ``config/monitor.toml``),
    falling back to the bundled seed when no config is found."""
    return _cached(_default_folder(os.environ.get("MONITOR_CONFIG", ""), os.getcwd()))


@lru_cache(maxsize=8)
def _default_folder(_config_env: str, _cwd: str) -> str:
    # Keyed by what decides the answer, so `extract(text)` does not re-read the config each call.
    from monitor.config import default_story_folder

    return str(default_story_folder())


def story_for(name_or_folder: str | Path | None = None) -> Story:
    """A story by folder path or by key under the seeds folder; None means the default."""
    if name_or_folder is None:
        return default_story()
    candidate = Path(name_or_folder)
    if candidate.is_dir():
        return _cached(str(candidate))
    from monitor.paths import seeds_dir

    return _cached(str(seeds_dir() / str(name_or_folder)))
