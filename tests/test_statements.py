"""Quoted statements: the table of invented cases, the seed article, and the quote helpers.

The cases in tests/data/statement_cases.jsonl are written by us (wording modelled on
PHENOMENA.md, never copied). Each lists the statements expected, as speaker_key and quote;
a case may also pin the speaker as written.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from monitor.quotes import (
    REWORDED_THRESHOLD,
    is_reworded,
    normalise_quote,
    quote_similarity,
    word_diff,
)
from monitor.statements import extract_statements
from monitor.story import load_story

ROOT = Path(__file__).resolve().parent.parent
CASES = [
    json.loads(line)
    for line in (ROOT / "tests" / "data" / "statement_cases.jsonl")
    .read_text(encoding="utf-8")
    .splitlines()
    if line.strip()
]
CONTRACT_FIELDS = {"type", "speaker", "speaker_key", "quote", "sentence", "start", "end"}


@pytest.fixture(scope="module")
def story():
    return load_story(ROOT / "seeds" / "caracas-raid")


def _pairs(items: list[dict]) -> Counter:
    return Counter((d["speaker_key"], normalise_quote(d["quote"])) for d in items)


def _check_contract(text: str, found: list[dict]) -> None:
    for d in found:
        assert set(d) == CONTRACT_FIELDS
        assert d["type"] == "statement"
        assert text[d["start"] : d["end"]] == d["quote"]
        assert d["sentence"] in text
        assert d["quote"] in d["sentence"]
        assert d["speaker"] == "" or d["speaker"] in text or d["speaker_key"] != "other"


def test_enough_cases() -> None:
    assert len(CASES) >= 60
    assert len({c["id"] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_statement_case(case: dict, story) -> None:
    found = extract_statements(case["text"], story)
    _check_contract(case["text"], found)
    assert _pairs(found) == _pairs(case["expect"])
    for want in case["expect"]:
        if "speaker" in want:
            speakers = {
                d["speaker"]
                for d in found
                if normalise_quote(d["quote"]) == normalise_quote(want["quote"])
            }
            assert want["speaker"] in speakers


# --- the seed article -------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_statements(story):
    text = story.seed_text
    found = extract_statements(text, story)
    _check_contract(text, found)
    return found


def _key_of(found: list[dict], quote: str) -> str | None:
    want = normalise_quote(quote)
    keys = [d["speaker_key"] for d in found if normalise_quote(d["quote"]) == want]
    assert len(keys) == 1, f"{quote!r} found {len(keys)} times"
    return keys[0]


@pytest.mark.parametrize(
    "quote, key",
    [
        ("at the request of the Venezuelan government.", "diaz_canel"),
        ("Our compatriots fulfilled their duty with dignity and heroism,", "cuban_government"),
        (
            "They fell, after fierce resistance, in direct combat against the attackers "
            "or as a result of bombings on the facilities.",
            "cuban_government",
        ),
        ("I don’t think we need any action,", "trump"),
        ("Cuba is ready to fall. It’s going down for the count.", "trump"),
        ("disaster", "rubio"),
        ("incompetent, senile men,", "rubio"),
        ("narco-terrorist regime,", "us_official"),
    ],
)
def test_seed_quotes(seed_statements, quote: str, key: str) -> None:
    assert _key_of(seed_statements, quote) == key


def test_seed_white_house_quote(seed_statements) -> None:
    wh = [d for d in seed_statements if d["quote"].startswith("economic practices")]
    assert len(wh) == 1
    assert wh[0]["speaker_key"] == "us_official"
    assert wh[0]["speaker"] == "The White House"


def test_seed_speakers_as_written(seed_statements) -> None:
    by_quote = {d["quote"]: d["speaker"] for d in seed_statements}
    assert by_quote["at the request of the Venezuelan government."] == (
        "Cuban President Miguel Díaz-Canel"
    )
    assert by_quote["disaster"] == "US Secretary of State Marco Rubio"
    assert by_quote["Cuba is ready to fall. It’s going down for the count."] == "Trump"


def test_seed_has_no_unattributed_quotes(seed_statements) -> None:
    assert len(seed_statements) == 9
    assert all(d["speaker_key"] != "other" for d in seed_statements)


def test_seed_sentence_holds_the_whole_two_sentence_quote(seed_statements) -> None:
    d = next(d for d in seed_statements if d["quote"].startswith("Cuba is ready"))
    assert d["sentence"] == "“Cuba is ready to fall. It’s going down for the count.”"


def test_offsets_survive_leading_text(story) -> None:
    text = "Intro line.\n\n" + story.seed_text
    found = extract_statements(text, story)
    _check_contract(text, found)
    assert len(found) == 9


def test_run_on_paragraph_keeps_sentences_short(story) -> None:
    # A page with no full stops is one "sentence"; each statement carries only its vicinity.
    unit = "Officials said “we are ready” and added that nothing had changed "
    text = unit * 200
    found = extract_statements(text, story)
    _check_contract(text, found)
    assert len(found) == 200
    assert max(len(d["sentence"]) for d in found) < 1000


def test_stray_marks_do_not_break_the_contract(story) -> None:
    text = "He said \"no and she didn't ' go ‘ there’s Cuba’s “ x ” « y " * 50
    _check_contract(text, extract_statements(text, story))


def test_no_quotes_no_statements(story) -> None:
    assert extract_statements("", story) == []
    assert extract_statements("Nobody was quoted in this sentence.", story) == []


# --- real pages, when the shared folder is there (behaviour only, no text kept) ----------


def _realdata() -> Path | None:
    for base in (ROOT.parent / "shared" / "realdata",):
        if (base / "pages").is_dir():
            return base / "pages"
    return None


@pytest.mark.skipif(_realdata() is None, reason="shared realdata folder not present")
def test_real_pages_keep_the_contract(story) -> None:
    pages = _realdata()
    texts = [p.read_text(encoding="utf-8") for p in sorted(pages.glob("*.txt"))]
    for p in sorted(pages.glob("*.json")):
        body = json.loads(p.read_text(encoding="utf-8")).get("articleBody")
        if body:
            texts.append(body)
    assert texts
    total = attributed = 0
    for text in texts:
        found = extract_statements(text, story)
        _check_contract(text, found)
        total += len(found)
        attributed += sum(1 for d in found if d["speaker"])
    # Real reporting is full of attributed quotes; most must get a speaker.
    assert total > 100
    assert attributed / total > 0.75


# --- quote helpers ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "a, b",
    [
        ("I don’t think we need any action,", "i dont think we need any action"),
        ("“Cuba is ready to fall.”", "CUBA   is ready to fall"),
        ("narco-terrorist regime,", "narco terrorist regime"),
        ("Díaz-Canel habló", "diaz canel hablo"),
        ("«Nuestros compatriotas»", "nuestros compatriotas"),
    ],
)
def test_normalise_quote_equal(a: str, b: str) -> None:
    assert normalise_quote(a) == normalise_quote(b)


def test_normalise_quote_keeps_words() -> None:
    assert normalise_quote("It’s going down, for the count!") == "its going down for the count"
    assert normalise_quote("") == ""


SEED_DUTY = "Our compatriots fulfilled their duty with dignity and heroism,"
SEED_FELL = (
    "They fell, after fierce resistance, in direct combat against the attackers or as a "
    "result of bombings on the facilities."
)
SEED_TRUMP_1 = "I don’t think we need any action,"
SEED_TRUMP_2 = "Cuba is ready to fall. It’s going down for the count."
SEED_REQUEST = "at the request of the Venezuelan government."

# The same statement in other words: other translations, fragments, splices, an extra word.
REWORDED = [
    (SEED_DUTY, "carried out their duty with honour and courage"),
    (SEED_DUTY, "fulfilled their mission with dignity and heroically"),
    (SEED_DUTY, "Our compatriots did their duty with dignity and bravery."),
    (SEED_DUTY, "Our fellow countrymen performed their duty with honor and heroism"),
    (SEED_DUTY, "Our compatriots carried out their mission with honour and valour"),
    (
        SEED_FELL,
        "They fell after fierce resistance in direct combat with the attackers or as a "
        "result of artillery fire on the installations",
    ),
    (
        SEED_FELL,
        "They died after putting up fierce resistance, fighting the attackers directly or as "
        "a consequence of the bombing of the facilities",
    ),
    (
        SEED_FELL,
        "They fell after stiff resistance, in close combat against the assailants or because "
        "of the bombardment of the installations",
    ),
    (SEED_TRUMP_2, "Cuba is ready to fall"),
    (SEED_TRUMP_2, "Cuba is about to fall. It's going down for the count"),
    (SEED_TRUMP_1 + " " + SEED_TRUMP_2, "I don't think we need any action. Cuba is ready to fall"),
    (SEED_TRUMP_1, "I do not think we need to take any action"),
    ("incompetent, senile men,", "incompetent and senile old men"),
    (SEED_REQUEST, "at the request of the government of Venezuela"),
    (SEED_REQUEST, "at the Venezuelan government's request"),
]
# Different statements by the same speaker.
DIFFERENT = [
    (SEED_DUTY, SEED_FELL),
    (SEED_TRUMP_1, SEED_TRUMP_2),
    (SEED_DUTY, "We will never forget the sacrifice of our fallen"),
    (SEED_TRUMP_2, "We are going to run Venezuela for a while"),
    (SEED_TRUMP_1, "Cuba should be very careful"),
    ("disaster", "incompetent, senile men,"),
    (SEED_REQUEST, "The Cuban people will not be intimidated"),
    (SEED_TRUMP_2, "It is a nation that is in a lot of trouble"),
    (SEED_DUTY, "The fallen will be honoured with two days of national mourning"),
    (SEED_FELL, "The attack on our compatriots was a criminal act of state terrorism"),
    (SEED_TRUMP_1, "I think it is going to be a very good thing for the people"),
    (SEED_DUTY, "They were there at the request of the government of a sovereign nation"),
    (SEED_TRUMP_2, "It was a brilliant operation by our great military"),
]


@pytest.mark.parametrize("a, b", REWORDED)
def test_reworded_pairs_score_above_threshold(a: str, b: str) -> None:
    assert quote_similarity(a, b) >= REWORDED_THRESHOLD
    assert is_reworded(a, b)


@pytest.mark.parametrize("a, b", DIFFERENT)
def test_different_statements_score_below_threshold(a: str, b: str) -> None:
    assert quote_similarity(a, b) < REWORDED_THRESHOLD
    assert not is_reworded(a, b)


def test_similarity_margin() -> None:
    low_reworded = min(quote_similarity(a, b) for a, b in REWORDED)
    high_different = max(quote_similarity(a, b) for a, b in DIFFERENT)
    assert low_reworded - high_different > 0.1


def test_similarity_bounds_and_symmetry() -> None:
    assert quote_similarity(SEED_DUTY, SEED_DUTY) == 1.0
    assert quote_similarity("“Cuba is ready to fall.”", "cuba is ready to fall") == 1.0
    assert quote_similarity("", "") == 1.0
    assert quote_similarity("", SEED_DUTY) == 0.0
    for a, b in REWORDED + DIFFERENT:
        s = quote_similarity(a, b)
        assert 0.0 <= s <= 1.0
        assert s == pytest.approx(quote_similarity(b, a), abs=1e-3)


def test_word_diff_marks_changed_words() -> None:
    diff = word_diff(SEED_DUTY, "Our compatriots fulfilled their duty with dignity and courage.")
    assert diff.endswith("[-heroism,-] {+courage.+}")
    assert "dignity and" in diff


def test_word_diff_replacements_and_insertions() -> None:
    diff = word_diff("incompetent, senile men,", "incompetent, senile old men,")
    assert diff == "incompetent, senile {+old+} men,"
    diff = word_diff(SEED_DUTY, "carried out their duty with honour and courage")
    assert diff == (
        "[-Our compatriots fulfilled-] {+carried out+} their duty with [-dignity-] {+honour+} "
        "and [-heroism,-] {+courage+}"
    )


def test_word_diff_deletion_and_identity() -> None:
    assert word_diff(SEED_TRUMP_2, "Cuba is ready to fall.") == (
        "Cuba is ready to fall. [-It’s going down for the count.-]"
    )
    assert word_diff(SEED_TRUMP_1, SEED_TRUMP_1) == SEED_TRUMP_1
    # Case and punctuation alone are no change.
    assert "[-" not in word_diff("Cuba is ready to fall.", "cuba is ready to fall")


def test_word_diff_shortens_long_unchanged_runs() -> None:
    a = " ".join(f"w{i}" for i in range(30)) + " end"
    b = " ".join(f"w{i}" for i in range(30)) + " finish"
    diff = word_diff(a, b)
    assert diff.startswith("w0 w1 w2 w3 …") or diff.startswith("…")
    assert diff.endswith("[-end-] {+finish+}")
    assert len(diff.split()) < 15
