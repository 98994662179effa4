"""The story's baseline: what the seed reports, drafted by the extractor into a reviewable file.

``seeds/<story>/baseline.toml`` holds the figures (``[figures."<metric>:<group_key>"]``) and the
quotes (``[statements."quote:<speaker_key>:<n>"]``) that every article is compared with. It is
drafted from the seed by the same extractor that reads the coverage, then reviewed and
hand-corrected by the desk. Once the file exists it *is* the baseline: ``monitor init`` only
loads it, and ``monitor baseline`` redrafts it only while it is unedited (or with ``--force``,
after writing a backup). The file stores a hash of the drafted items, so an edit is detectable
(edits to comments alone do not count as edits).

Which seed claims belong: figures of the story's groups (group ``other`` is left out; when the
seed gives one metric/group twice, the first stays), on-story sentences only; every direct quote
by a tracked speaker (speaker ``other`` is left out), numbered from 1 per speaker in seed order.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from monitor.clock import iso, utcnow
from monitor.errors import ConfigError
from monitor.hedges import hedge_text
from monitor.story import GROUP_KEYS, SPEAKER_KEYS, Story, load_story

METRICS = ("killed", "injured", "missing", "detained")
QUALIFIERS = (
    "exact",
    "at_least",
    "more_than",
    "about",
    "up_to",
    "at_most",
    "fewer_than",
    "range",
    "vague",
)
FIGURE_FIELDS = {
    "metric",
    "group_key",
    "low",
    "high",
    "qualifier",
    "attribution",
    "expected_to_rise",
    "sentence",
    "group",
}
STATEMENT_FIELDS = {"speaker_key", "speaker", "quote", "sentence"}
RISE = re.compile(
    r"\b(?:expected|likely|feared|set|bound)\s+to\s+(?:rise|climb|grow|increase)|"
    r"\b(?:could|may|might|will\s+likely)\s+(?:rise|climb|grow|increase)",
    re.IGNORECASE,
)

HEADER = """\
Baseline of the tracked story: the reviewed reference every article is compared with.
Drafted from the seed ({seed}) by the extractor; hand-edit freely. Once this file exists it
is the baseline: `monitor init` never overwrites it, and `monitor baseline` redrafts it only
while it is unedited (use --force to replace an edited file; a backup is kept).

Figures: [figures."<metric>:<group_key>"]
  metric: killed | injured | missing | detained
  group_key: {groups}
  low, high (leave high out for an open-ended figure such as "at least 80"),
  qualifier (exact | at_least | more_than | about | up_to | at_most | fewer_than | range |
  vague), attribution, expected_to_rise (true when the seed says the toll may grow).
Statements: [statements."quote:<speaker_key>:<n>"] with speaker_key, speaker, quote
  speaker_key: {speakers}
The sentence lines are the seed's wording, kept for the reviewer; they are not compared."""


@dataclass
class Baseline:
    """A validated baseline: figure and statement items by key."""

    figures: dict[str, dict[str, Any]] = field(default_factory=dict)
    statements: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path | None = None
    drafted_sha256: str = ""
    seed_sha256: str = ""

    @property
    def content_sha256(self) -> str:
        return content_hash(self.figures, self.statements)

    @property
    def edited(self) -> bool:
        return bool(self.drafted_sha256) and self.drafted_sha256 != self.content_sha256

    def to_dict(self) -> dict[str, Any]:
        """The JSON kept on the Story row (what comparisons read when the file is gone)."""
        return {
            "figures": self.figures,
            "statements": self.statements,
            "edited": self.edited,
            "seed_sha256": self.seed_sha256,
        }

    def summary(self) -> str:
        return f"{len(self.figures)} figures, {len(self.statements)} quotes"


def content_hash(figures: Mapping[str, Any], statements: Mapping[str, Any]) -> str:
    canon = json.dumps(
        {"figures": figures, "statements": statements}, sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(canon.encode("utf-8")).hexdigest()


def seed_hash(story: Story) -> str:
    return hashlib.sha256(story.seed_text.encode("utf-8")).hexdigest()


# ---------------------------------------------------------------------------- drafting


def _extract(text: str, story: Story) -> list[dict[str, Any]]:
    from monitor.extract import extract

    try:
        return list(extract(text, story))
    except (TypeError, AttributeError):
        return list(extract(text, str(story.folder)))


def _on_story(sentence: str, story: Story, text: str) -> bool:
    try:
        from monitor.relevance import sentence_on_story
    except ImportError:
        return True
    return bool(sentence_on_story(sentence, story, text))


def draft_baseline(story: Story) -> dict[str, Any]:
    """Extract the seed's claims and build the baseline items (no file is touched)."""
    text = story.seed_text
    figures: dict[str, dict[str, Any]] = {}
    statements: dict[str, dict[str, Any]] = {}
    per_speaker: dict[str, int] = {}
    seen_quotes: set[tuple[str, str]] = set()
    for claim in _extract(text, story):
        if claim.get("type") == "figure":
            group_key = claim.get("group_key") or "other"
            if group_key == "other" or claim.get("metric") not in METRICS:
                continue
            if not _on_story(claim.get("sentence") or "", story, text):
                continue
            key = f"{claim['metric']}:{group_key}"
            if key in figures:
                continue
            figures[key] = _figure_item(claim)
        elif claim.get("type") == "statement":
            speaker_key = claim.get("speaker_key") or "other"
            # A trailing comma is the sentence's punctuation, not the speaker's.
            quote = (claim.get("quote") or "").strip().rstrip(",;: ")
            if speaker_key == "other" or not quote or (speaker_key, quote) in seen_quotes:
                continue
            seen_quotes.add((speaker_key, quote))
            per_speaker[speaker_key] = per_speaker.get(speaker_key, 0) + 1
            statements[f"quote:{speaker_key}:{per_speaker[speaker_key]}"] = {
                "speaker_key": speaker_key,
                "speaker": claim.get("speaker") or "",
                "quote": quote,
                "sentence": (claim.get("sentence") or "").strip(),
            }
    return normalise_items({"figures": figures, "statements": statements})


def _figure_item(claim: Mapping[str, Any]) -> dict[str, Any]:
    sentence = (claim.get("sentence") or "").strip()
    item = {
        "metric": claim.get("metric"),
        "group_key": claim.get("group_key"),
        "group": claim.get("group") or "",
        "low": claim.get("low"),
        "high": claim.get("high"),
        "qualifier": claim.get("qualifier") or "exact",
        "attribution": claim.get("attribution") or "",
        "expected_to_rise": bool(RISE.search(sentence)),
        "sentence": sentence,
    }
    return item


def normalise_items(data: Mapping[str, Any]) -> dict[str, Any]:
    """Fill defaults the same way for a draft and a loaded file, so their hashes compare."""
    figures = {}
    for key, item in (data.get("figures") or {}).items():
        metric, _, group_key = key.partition(":")
        low = item.get("low")
        high = item.get("high")
        qualifier = item.get("qualifier") or "exact"
        if qualifier == "exact" and high is None:
            high = low
        figures[key] = {
            "metric": item.get("metric") or metric,
            "group_key": item.get("group_key") or group_key,
            "group": item.get("group") or "",
            "low": low,
            "high": high,
            "qualifier": qualifier,
            "attribution": item.get("attribution") or "",
            "expected_to_rise": bool(item.get("expected_to_rise", False)),
            "sentence": item.get("sentence") or "",
        }
    statements = {}
    for key, item in (data.get("statements") or {}).items():
        statements[key] = {
            "speaker_key": item.get("speaker_key") or key.split(":")[1],
            "speaker": item.get("speaker") or "",
            "quote": item.get("quote") or "",
            "sentence": item.get("sentence") or "",
        }
    return {"figures": figures, "statements": statements}


# ---------------------------------------------------------------------------- the file


def _describe_figure(item: Mapping[str, Any]) -> str:
    words = hedge_text(item["qualifier"], item["low"], item["high"])
    src = f", per {item['attribution']}" if item.get("attribution") else ""
    rise = ", expected to rise" if item.get("expected_to_rise") else ""
    return f"{item['metric']}, {item['group_key']}: {words}{src}{rise}"


def render_baseline(story: Story, data: Mapping[str, Any]) -> str:
    """The commented TOML text of a baseline (drafted hash included)."""
    data = normalise_items(data)
    doc = tomlkit.document()
    header = HEADER.format(
        seed=story.seed_path.name,
        groups=" | ".join(GROUP_KEYS),
        speakers=" | ".join(SPEAKER_KEYS),
    )
    for line in header.splitlines():
        doc.add(tomlkit.comment(line) if line else tomlkit.nl())
    doc.add(tomlkit.nl())
    meta = tomlkit.table()
    meta.add("story", story.key)
    meta.add("seed", story.seed_path.name)
    meta.add("seed_sha256", seed_hash(story))
    meta.add("drafted_at", iso(utcnow()) or "")
    meta.add(tomlkit.comment("The drafted items' hash: once the items differ, the file is edited."))
    meta.add("drafted_sha256", content_hash(data["figures"], data["statements"]))
    doc.add("meta", meta)

    figures = tomlkit.table(is_super_table=True)
    for key, item in data["figures"].items():
        t = tomlkit.table()
        t.add(tomlkit.comment(_describe_figure(item)))
        for name in ("metric", "group_key", "group", "low", "high", "qualifier", "attribution"):
            if name == "high" and item["high"] is None:
                t.add(tomlkit.comment("high left out: open-ended"))
                continue
            t.add(name, item[name])
        t.add("expected_to_rise", item["expected_to_rise"])
        t.add("sentence", item["sentence"])
        figures.add(key, t)
    doc.add(tomlkit.nl())
    doc.add("figures", figures)

    statements = tomlkit.table(is_super_table=True)
    for key, item in data["statements"].items():
        t = tomlkit.table()
        for name in ("speaker_key", "speaker", "quote", "sentence"):
            t.add(name, item[name])
        statements.add(key, t)
    doc.add(tomlkit.nl())
    doc.add("statements", statements)
    return tomlkit.dumps(doc)


def write_baseline(story: Story, data: Mapping[str, Any]) -> Path:
    """Write ``story.baseline_path`` (atomically: a half-written baseline is never read)."""
    path = story.baseline_path
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(render_baseline(story, data), encoding="utf-8")
    tmp.replace(path)
    return path


def _fail(path: Path, what: str) -> ConfigError:
    return ConfigError(f"{path.name}: {what}")


def _int_or_none(path: Path, where: str, value: Any, required: bool) -> int | None:
    if value is None:
        if required:
            raise _fail(path, f"{where} is missing (a whole number)")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _fail(path, f"{where} must be a whole number ≥ 0, got {value!r}")
    return value


def _check_figure(path: Path, key: str, item: Any) -> dict[str, Any]:
    where = f'figures."{key}"'
    metric, sep, group_key = key.partition(":")
    if not sep or metric not in METRICS or group_key not in GROUP_KEYS:
        raise _fail(
            path,
            f"{where}: key must be <metric>:<group_key> with metric one of "
            f"{', '.join(METRICS)} and group_key one of {', '.join(GROUP_KEYS)}",
        )
    if not isinstance(item, Mapping):
        raise _fail(path, f"{where} must be a table")
    unknown = sorted(set(item) - FIGURE_FIELDS)
    if unknown:
        raise _fail(
            path, f"{where}.{unknown[0]}: unknown field ({', '.join(sorted(FIGURE_FIELDS))})"
        )
    for name, expect in (("metric", metric), ("group_key", group_key)):
        if name in item and item[name] != expect:
            raise _fail(path, f"{where}.{name} is {item[name]!r} but the key says {expect!r}")
    qualifier = item.get("qualifier", "exact")
    if qualifier not in QUALIFIERS:
        raise _fail(path, f"{where}.qualifier: {qualifier!r} is not one of {', '.join(QUALIFIERS)}")
    low = _int_or_none(path, f"{where}.low", item.get("low"), required=True)
    high = _int_or_none(path, f"{where}.high", item.get("high"), required=False)
    if high is not None and low is not None and high < low:
        raise _fail(path, f"{where}: high ({high}) is below low ({low})")
    for name in ("attribution", "sentence", "group"):
        if name in item and not isinstance(item[name], str):
            raise _fail(path, f"{where}.{name} must be a string")
    if "expected_to_rise" in item and not isinstance(item["expected_to_rise"], bool):
        raise _fail(path, f"{where}.expected_to_rise must be true or false")
    return dict(item)


def _check_statement(path: Path, key: str, item: Any) -> dict[str, Any]:
    where = f'statements."{key}"'
    parts = key.split(":")
    if len(parts) != 3 or parts[0] != "quote" or parts[1] not in SPEAKER_KEYS:
        raise _fail(
            path,
            f"{where}: key must be quote:<speaker_key>:<n> with speaker_key one of "
            f"{', '.join(SPEAKER_KEYS)}",
        )
    if not isinstance(item, Mapping):
        raise _fail(path, f"{where} must be a table")
    unknown = sorted(set(item) - STATEMENT_FIELDS)
    if unknown:
        raise _fail(
            path, f"{where}.{unknown[0]}: unknown field ({', '.join(sorted(STATEMENT_FIELDS))})"
        )
    if "speaker_key" in item and item["speaker_key"] != parts[1]:
        raise _fail(
            path, f"{where}.speaker_key is {item['speaker_key']!r} but the key says {parts[1]!r}"
        )
    quote = item.get("quote")
    if not isinstance(quote, str) or not quote.strip():
        raise _fail(path, f"{where}.quote is missing or empty")
    for name in ("speaker", "sentence"):
        if name in item and not isinstance(item[name], str):
            raise _fail(path, f"{where}.{name} must be a string")
    return dict(item)


def parse_baseline(text: str, path: Path) -> Baseline:
    """Validate a baseline file's text; ConfigError names the bad key in one line."""
    try:
        raw = tomlkit.parse(text).unwrap()
    except Exception as exc:  # noqa: BLE001 - tomlkit raises several parse error kinds
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise _fail(path, f"not valid TOML ({first})") from None
    unknown = sorted(set(raw) - {"meta", "figures", "statements"})
    if unknown:
        raise _fail(path, f"{unknown[0]}: unknown table (use meta, figures, statements)")
    meta = raw.get("meta", {})
    figures_raw = raw.get("figures", {})
    statements_raw = raw.get("statements", {})
    if not isinstance(figures_raw, Mapping) or not isinstance(statements_raw, Mapping):
        raise _fail(path, "figures and statements must be tables")
    figures = {k: _check_figure(path, k, v) for k, v in figures_raw.items()}
    statements = {k: _check_statement(path, k, v) for k, v in statements_raw.items()}
    data = normalise_items({"figures": figures, "statements": statements})
    return Baseline(
        figures=data["figures"],
        statements=data["statements"],
        path=path,
        drafted_sha256=str(meta.get("drafted_sha256", "")),
        seed_sha256=str(meta.get("seed_sha256", "")),
    )


def load_baseline(story: Story) -> Baseline:
    """Read and validate ``story.baseline_path``."""
    path = story.baseline_path
    if not path.is_file():
        raise ConfigError(f"{path.name}: missing in {path.parent} (run `monitor baseline`)")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise _fail(path, "is not UTF-8 text") from None
    return parse_baseline(text, path)


def ensure_baseline(story: Story) -> tuple[dict[str, Any], str]:
    """The baseline as a dict for the Story row, drafting the file only when it is missing."""
    path = story.baseline_path
    if path.is_file():
        b = load_baseline(story)
        edited = "edited by hand" if b.edited else "as drafted"
        return b.to_dict(), f"baseline loaded from {path.name} ({b.summary()}, {edited})"
    try:
        data = draft_baseline(story)
    except ImportError:
        return {}, "baseline not drafted: the extractor is not available"
    write_baseline(story, data)
    b = load_baseline(story)
    return (
        b.to_dict(),
        f"baseline drafted from the seed into {path.name} ({b.summary()}); review it",
    )


def _changes(old: Baseline, new: Mapping[str, Any]) -> list[str]:
    lines = []
    for kind in ("figures", "statements"):
        before, after = getattr(old, kind), new[kind]
        for key in sorted(set(before) | set(after)):
            if key not in before:
                lines.append(f"  + {key}")
            elif key not in after:
                lines.append(f"  - {key}")
            elif before[key] != after[key]:
                fields = sorted(f for f in after[key] if before[key].get(f) != after[key][f])
                lines.append(f"  ~ {key} ({', '.join(fields)})")
    return lines


def backup_path(path: Path) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    candidate = path.with_name(f"{path.name}.bak-{stamp}")
    n = 1
    while candidate.exists():
        n += 1
        candidate = path.with_name(f"{path.name}.bak-{stamp}-{n}")
    return candidate


def draft_command(cfg: Any, force: bool = False) -> str:
    """``monitor baseline``: draft when missing, redraft when unedited, keep an edited file
    unless ``force`` (then back it up first). Returns the report line(s)."""
    story = load_story(cfg.story_folder)
    path = story.baseline_path
    if not path.exists():
        data = draft_baseline(story)
        write_baseline(story, data)
        b = load_baseline(story)
        return f"baseline drafted from the seed: {path} ({b.summary()}); review and edit it"
    try:
        old: Baseline | None = load_baseline(story)
    except ConfigError as exc:
        old = None
        problem = str(exc)
    if old is not None and not old.edited:
        data = draft_baseline(story)
        changes = _changes(old, data)
        if not changes:
            # Nothing to say: leave the file (and its drafted_at) as the reviewer last saw it.
            return f"baseline up to date: {path} already matches the seed ({old.summary()})"
        write_baseline(story, data)
        return "\n".join([f"baseline redrafted: {path} ({len(changes)} changes)", *changes])
    why = "was edited by hand" if old is not None else f"does not load ({problem})"
    if not force:
        raise ConfigError(
            f"baseline: {path} {why}; not overwritten (use `monitor baseline --force` to "
            "replace it, a backup is kept)"
        )
    backup = backup_path(path)
    shutil.copy2(path, backup)
    data = draft_baseline(story)
    write_baseline(story, data)
    return f"baseline redrafted over the edited file: {path} (backup: {backup.name})"
