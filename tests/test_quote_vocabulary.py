"""Story vocabulary for quotes: translation synonyms and generic speakers (story.toml [quotes])."""

from __future__ import annotations

from monitor.compare import compare_statement
from monitor.quotes import Synonyms
from monitor.story import story_for

BASELINE = {
    "statements": {
        "quote:cuban_government:1": {
            "speaker_key": "cuban_government",
            "quote": "Our compatriots fulfilled their duty with dignity and heroism",
        },
        "quote:diaz_canel:1": {
            "speaker_key": "diaz_canel",
            "quote": "at the request of the Venezuelan government.",
        },
    }
}


def _claim(quote: str, speaker: str, key: str) -> dict:
    return {"type": "statement", "speaker": speaker, "speaker_key": key, "quote": quote}


def _rels(claim: dict, **kw) -> list[tuple[str, str | None]]:
    return [(r.relation, r.baseline_key) for r in compare_statement(claim, BASELINE, **kw)]


def test_synonym_groups_come_from_the_story_file() -> None:
    story = story_for(None)
    syn = Synonyms(story.quote_synonyms)
    assert syn.apply("carried out their duty with honour and courage") == syn.apply(
        "fulfilled their mission with dignity and heroically"
    )
    assert syn.apply("artillery fire") == syn.apply("bombings")


def test_translation_is_reworded_only_with_the_synonyms() -> None:
    story = story_for(None)
    claim = _claim(
        "Our compatriots carried out their duty with honour and courage",
        "the Cuban government",
        "cuban_government",
    )
    syn = Synonyms(story.quote_synonyms)
    assert _rels(claim, synonyms=syn) == [("reworded", "quote:cuban_government:1")]
    (rel,) = compare_statement(claim, BASELINE, synonyms=syn)
    assert "{+honour+}" in rel.observed["diff"]  # the diff keeps the real words


def test_generic_speaker_takes_the_speaker_of_the_words_it_repeats() -> None:
    generic = story_for(None).generic_speakers
    same = _claim(
        "Our compatriots fulfilled their duty with dignity and heroism", "the government", "other"
    )
    assert _rels(same, generic_speakers=generic) == [("confirms", "quote:cuban_government:1")]
    # Without the list, or with a named untracked speaker, the quote is not compared.
    assert _rels(same) == []
    named = _claim("We have sent every team we have", "the state governor", "other")
    assert _rels(named, generic_speakers=generic) == []
    unknown = _claim("We will rebuild every home", "the government", "other")
    assert _rels(unknown, generic_speakers=generic) == []
