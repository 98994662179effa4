"""Every interval rule and every relation of monitor.compare, table-driven.

The baseline is the seed's: Cuban personnel killed exactly 32 (not expected to rise), total
killed at least 80 (expected to rise), and the seed's quotes.
"""

from __future__ import annotations

import math

import pytest

from monitor.compare import (
    ALARMS,
    RELATIONS,
    about_tolerance,
    compare_figure,
    compare_statement,
    compare_versions,
    has_revision_language,
    interval,
    is_fragment,
    same_number,
    stated,
)

BASELINE = {
    "figures": {
        "killed:cuban_personnel": {
            "metric": "killed",
            "group_key": "cuban_personnel",
            "low": 32,
            "high": 32,
            "qualifier": "exact",
            "attribution": "the Cuban government",
            "expected_to_rise": False,
        },
        "killed:total": {
            "metric": "killed",
            "group_key": "total",
            "low": 80,
            "high": None,
            "qualifier": "at_least",
            "attribution": "The New York Times, citing an unnamed Venezuelan official",
            "expected_to_rise": True,
        },
    },
    "statements": {
        "quote:diaz_canel:1": {
            "speaker_key": "diaz_canel",
            "quote": "at the request of the Venezuelan government.",
        },
        "quote:cuban_government:1": {
            "speaker_key": "cuban_government",
            "quote": "Our compatriots fulfilled their duty with dignity and heroism",
        },
        "quote:cuban_government:2": {
            "speaker_key": "cuban_government",
            "quote": "They fell, after fierce resistance, in direct combat against the attackers "
            "or as a result of bombings on the facilities.",
        },
        "quote:trump:1": {"speaker_key": "trump", "quote": "I don’t think we need any action"},
        "quote:trump:2": {
            "speaker_key": "trump",
            "quote": "Cuba is ready to fall. It’s going down for the count.",
        },
        "quote:rubio:1": {"speaker_key": "rubio", "quote": "disaster"},
        "quote:rubio:2": {"speaker_key": "rubio", "quote": "incompetent, senile men"},
    },
}


def fig(low, high, qualifier, group="total", metric="killed", sentence="", previous=None):
    return {
        "type": "figure",
        "metric": metric,
        "group_key": group,
        "low": low,
        "high": high,
        "qualifier": qualifier,
        "attribution": None,
        "previous": previous,
        "sentence": sentence,
    }


def quote(speaker, text):
    return {"type": "statement", "speaker_key": speaker, "speaker": speaker, "quote": text}


# --------------------------------------------------------------------------- interval rules

INTERVALS = [
    # (low, high, qualifier) → interval of true values
    ((32, 32, "exact"), (32, 32)),
    ((80, None, "at_least"), (80, math.inf)),
    ((81, None, "more_than"), (81, math.inf)),
    ((80, 80, "about"), (75, 85)),
    ((75, 75, "about"), (72.5, 77.5)),
    ((30, 30, "about"), (27, 33)),
    ((1, 30, "up_to"), (1, 30)),
    ((1, 30, "at_most"), (1, 30)),
    ((1, 9, "fewer_than"), (1, 9)),
    ((20, 30, "range"), (20, 30)),
    ((24, None, "vague"), (24, math.inf)),
]


@pytest.mark.parametrize(("claim", "expected"), INTERVALS)
def test_each_hedge_bounds_the_true_number(claim, expected):
    assert interval(*claim) == expected


@pytest.mark.parametrize(
    ("n", "tolerance"),
    [(80, 5), (75, 2.5), (30, 3), (300, 30), (100, 10), (32, 1), (7, 1), (1000, 100)],
)
def test_about_tolerance_is_half_the_rounding_step_capped_at_ten_percent(n, tolerance):
    assert about_tolerance(n) == tolerance


@pytest.mark.parametrize(
    ("claim", "number"),
    [
        ((32, 32, "exact"), (32, 32)),
        ((81, None, "more_than"), (80, 80)),
        ((1, 9, "fewer_than"), (10, 10)),
        ((1, 30, "up_to"), (30, 30)),
        ((20, 30, "range"), (20, 30)),
        ((24, None, "vague"), None),
    ],
)
def test_stated_number_is_what_the_text_printed(claim, number):
    assert stated(*claim) == number


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (fig(80, 80, "exact"), fig(80, None, "at_least"), True),
        (fig(81, None, "more_than"), fig(80, None, "at_least"), True),
        (fig(78, 78, "about"), fig(80, None, "at_least"), False),  # "about 78" is 77–79
        (fig(80, 80, "about"), fig(83, 83, "exact"), True),
        (fig(75, 75, "about"), fig(80, None, "at_least"), False),
        (fig(20, 30, "range"), fig(20, 30, "range"), True),
        (fig(20, 30, "range"), fig(20, 20, "exact"), False),
        (fig(24, None, "vague"), fig(24, 24, "exact"), False),
    ],
)
def test_same_number(a, b, same):
    assert same_number(a, b) is same


# --------------------------------------------------------------------------- figure relations

FIGURES = [
    # Cuban personnel: exactly 32, not expected to rise.
    ("32 Cuban officers", fig(32, 32, "exact", "cuban_personnel"), "confirms"),
    (
        "at least 32 Cuban officers",
        fig(32, None, "at_least", "cuban_personnel"),
        "qualifier_changed",
    ),
    ("about 30 Cubans", fig(30, 30, "about", "cuban_personnel"), "qualifier_changed"),
    ("40 Cubans, no revision words", fig(40, 40, "exact", "cuban_personnel"), "contradicts"),
    ("more than 100 Cubans", fig(101, None, "more_than", "cuban_personnel"), "contradicts"),
    ("fewer Cubans", fig(20, 20, "exact", "cuban_personnel"), "contradicts"),
    (
        "toll of Cubans rose to 40",
        fig(40, 40, "exact", "cuban_personnel", sentence="The Cuban toll rose to 40."),
        "updated",
    ),
    ("40 Cubans, previous 32", fig(40, 40, "exact", "cuban_personnel", previous=32), "updated"),
    ("dozens of Cubans", fig(24, None, "vague", "cuban_personnel"), "qualifier_changed"),
    ("hundreds of Cubans", fig(200, None, "vague", "cuban_personnel"), "contradicts"),
    # Total: at least 80, expected to rise.
    ("at least 80", fig(80, None, "at_least"), "confirms"),
    ("more than 80", fig(81, None, "more_than"), "qualifier_changed"),
    ("around 80", fig(80, 80, "about"), "qualifier_changed"),
    ("nearly 80", fig(80, 80, "about"), "qualifier_changed"),
    ("up to 80", fig(1, 80, "up_to"), "qualifier_changed"),
    ("plain 80", fig(80, 80, "exact"), "qualifier_changed"),
    (
        "has risen to 80",
        fig(80, 80, "exact", sentence="The death toll has risen to 80."),
        "qualifier_changed",
    ),
    ("100, no revision words", fig(100, 100, "exact"), "updated"),
    ("83 (defence minister)", fig(83, 83, "exact"), "updated"),
    ("at least 100", fig(100, None, "at_least"), "updated"),
    ("100 to 120", fig(100, 120, "range"), "updated"),
    ("75, a US estimate", fig(75, 75, "exact"), "contradicts"),
    ("about 75", fig(75, 75, "about"), "contradicts"),
    ("an early at least 40", fig(40, None, "at_least"), "contradicts"),
    (
        "revised down to 70",
        fig(70, 70, "exact", sentence="The toll was revised down to 70."),
        "updated",
    ),
    ("scores killed", fig(40, None, "vague"), "qualifier_changed"),
    # Slots the baseline does not have.
    ("47 Venezuelan soldiers", fig(47, 47, "exact", "venezuelan_military"), "new_figure"),
    ("over a hundred wounded", fig(101, None, "more_than", metric="injured"), "new_figure"),
    ("US personnel wounded", fig(6, 6, "exact", "us_forces", metric="injured"), "new_figure"),
]


@pytest.mark.parametrize(("label", "claim", "relation"), FIGURES, ids=[f[0] for f in FIGURES])
def test_figure_relations(label, claim, relation):
    rels = compare_figure(claim, BASELINE)
    assert [r.relation for r in rels] == [relation], label
    r = rels[0]
    assert r.baseline_key == f"{claim['metric']}:{claim['group_key']}"
    assert r.observed["low"] == claim["low"] and r.observed["qualifier"] == claim["qualifier"]
    if relation == "new_figure":
        assert r.baseline is None
    else:
        assert set(r.baseline) >= {"low", "high", "qualifier"}


def test_group_other_is_never_compared():
    assert compare_figure(fig(5, 5, "exact", "other"), BASELINE) == []


@pytest.mark.parametrize(
    ("sentence", "start", "revision"),
    [
        ("The toll rose to 100 on Tuesday.", 17, True),
        ("The toll climbed to 100.", 20, True),
        ("Officials said the toll now stands at 100.", 38, True),
        ("The government revised the toll to 100.", 36, True),
        ("The toll was 100, up from 80 earlier.", 13, True),
        ("100 people were killed, officials said.", 0, False),
        # Revision words far from the figure belong to something else.
        (
            "Tensions rose sharply across the region after the raid, in which officials said "
            "that 100 people had been killed.",
            85,
            False,
        ),
    ],
)
def test_revision_language_is_looked_for_next_to_the_figure(sentence, start, revision):
    claim = {"sentence": sentence, "sentence_start": start, "start": 0, "end": 3}
    assert has_revision_language(claim) is revision


# --------------------------------------------------------------------------- quote relations

QUOTES = [
    (
        "same words, other punctuation",
        quote("cuban_government", "our compatriots fulfilled their duty with dignity and heroism!"),
        [("confirms", "quote:cuban_government:1")],
    ),
    (
        "another translation",
        quote("cuban_government", "Our compatriots carried out their duty with honour and courage"),
        [("reworded", "quote:cuban_government:1")],
    ),
    (
        "a second translation",
        quote("cuban_government", "They fulfilled their mission with dignity and heroically"),
        [("reworded", "quote:cuban_government:1")],
    ),
    (
        "artillery swapped in",
        quote(
            "cuban_government",
            "They fell after fierce resistance, in direct combat against the "
            "attackers or as a result of artillery fire on the facilities.",
        ),
        [("reworded", "quote:cuban_government:2")],
    ),
    (
        "government words credited to the president",
        quote("diaz_canel", "Our compatriots fulfilled their duty with dignity and heroism."),
        [("reattributed", "quote:cuban_government:1")],
    ),
    (
        "a translation credited to the president",
        quote("diaz_canel", "Our compatriots carried out their duty with honour and courage"),
        [("reattributed", "quote:cuban_government:1")],
    ),
    (
        "president's line credited to the communique",
        quote("cuban_government", "at the request of the Venezuelan government"),
        [("reattributed", "quote:diaz_canel:1")],
    ),
    (
        "Trump's words credited to Rubio",
        quote("rubio", "Cuba is ready to fall. It's going down for the count."),
        [("reattributed", "quote:trump:2")],
    ),
    ("shortened quote", quote("trump", "Cuba is ready to fall"), [("confirms", "quote:trump:2")]),
    (
        "spliced quote",
        quote("trump", "I don't think we need any action. Cuba is ready to fall."),
        [("confirms", "quote:trump:1"), ("confirms", "quote:trump:2")],
    ),
    (
        "paraphrase in quote marks",
        quote("trump", "Cuba looks like it is ready to fall"),
        [("reworded", "quote:trump:2")],
    ),
    (
        "an extra word",
        quote("rubio", "incompetent and senile men"),
        [("reworded", "quote:rubio:2")],
    ),
    ("a leading article", quote("rubio", "a disaster"), [("confirms", "quote:rubio:1")]),
    (
        "a new remark by a tracked speaker",
        quote("trump", "We are going to run the country"),
        [("new_statement", None)],
    ),
    (
        "a new remark sharing only one word",
        quote("trump", "Cuba is a big problem and we will deal with it"),
        [("new_statement", None)],
    ),
    ("untracked speaker", quote("other", "Cuba is ready to fall"), []),
]


@pytest.mark.parametrize(("label", "claim", "expected"), QUOTES, ids=[q[0] for q in QUOTES])
def test_statement_relations(label, claim, expected):
    rels = compare_statement(claim, BASELINE)
    assert [(r.relation, r.baseline_key) for r in rels] == expected, label
    for r in rels:
        assert r.observed["speaker_key"] == claim["speaker_key"]
        assert r.observed["quote"] == claim["quote"]
        if r.relation in ("reworded", "reattributed"):
            assert r.observed["diff"]
        if r.baseline is not None:
            assert set(r.baseline) == {"speaker_key", "quote"}


def test_reworded_diff_is_word_level():
    claim = quote(
        "cuban_government", "Our compatriots carried out their duty with honour and courage"
    )
    (r,) = compare_statement(claim, BASELINE)
    assert "[-dignity-]" in r.observed["diff"] and "{+honour+}" in r.observed["diff"]


@pytest.mark.parametrize(
    ("part", "whole", "ok"),
    [
        ("Cuba is ready to fall", "Cuba is ready to fall. It’s going down for the count.", True),
        ("ready", "Cuba is ready to fall. It’s going down for the count.", False),
        ("disaster", "disaster", True),
        ("fall Cuba is ready", "Cuba is ready to fall.", False),
    ],
)
def test_fragments(part, whole, ok):
    assert is_fragment(part, whole) is ok


# --------------------------------------------------------------------------- silent edits


def test_silent_edit_of_a_figure():
    old = [fig(80, None, "at_least"), fig(32, 32, "exact", "cuban_personnel")]
    new = [fig(100, 100, "exact"), fig(32, 32, "exact", "cuban_personnel")]
    (r,) = compare_versions(old, new, BASELINE, old_version=1)
    assert r.relation == "silent_edit" and r.baseline_key == "killed:total"
    assert r.observed["low"] == 100
    assert r.observed["previous_version"] == {
        "version": 1,
        "low": 80,
        "high": None,
        "qualifier": "at_least",
    }


def test_silent_edit_of_a_quote_and_its_speaker():
    old = [quote("trump", "Cuba is ready to fall.")]
    new = [quote("trump", "Cuba is about to fall.")]
    (r,) = compare_versions(old, new, BASELINE, old_version=2)
    assert r.relation == "silent_edit" and r.baseline_key == "quote:trump:2"
    assert r.observed["previous_version"]["quote"] == "Cuba is ready to fall."
    assert "{+about+}" in r.observed["diff"]
    moved = compare_versions(old, [quote("rubio", "Cuba is ready to fall.")], BASELINE, 1)
    assert [m.relation for m in moved] == ["silent_edit"]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ([fig(80, None, "at_least")], [fig(80, None, "at_least")]),  # unchanged
        ([fig(80, None, "at_least")], []),  # gone: not reported
        ([], [fig(80, None, "at_least")]),  # added: a new observation, not an edit
        ([fig(5, 5, "exact", "other")], [fig(6, 6, "exact", "other")]),  # untracked group
        (
            [quote("trump", "Cuba is ready to fall")],
            [quote("trump", "We are going to run the country")],
        ),  # unrelated quotes
    ],
)
def test_no_silent_edit(old, new):
    assert compare_versions(old, new, BASELINE, 1) == []


def test_alarms_are_every_relation_but_confirms_and_new():
    assert set(ALARMS) == set(RELATIONS) - {"confirms", "new_figure", "new_statement"}


@pytest.mark.parametrize(
    ("sentence", "claim", "expected"),
    [
        ("The toll was initially put at 40 by local officials.", fig(40, 40, "exact"), []),
        ("Earlier reports said 40 people had died.", fig(40, 40, "exact"), []),
        ("The first bulletin listed 120 dead.", fig(120, 120, "exact"), []),
        ("The first reports spoke of at least 80 dead.", fig(80, None, "at_least"), ["confirms"]),
        (
            "Initial reports spoke of 32 Cubans killed.",
            fig(32, 32, "exact", "cuban_personnel"),
            ["confirms"],
        ),
        # A revision that names the earlier value is one figure, and an update.
        (
            "The toll rose to 100, up from an initial 80.",
            fig(100, 100, "exact", previous=80),
            ["updated"],
        ),
    ],
)
def test_superseded_values_told_as_history(sentence, claim, expected):
    claim = {**claim, "sentence": sentence}
    assert [r.relation for r in compare_figure(claim, BASELINE)] == expected


LONG = [
    (
        "two sentences run together, another translation",
        quote(
            "cuban_government",
            "Our combatants fulfilled their mission with dignity and heroism "
            "and fell after fierce resistance in direct combat against the attackers or as a "
            "result of the bombing of the facilities",
        ),
        [("reworded", "quote:cuban_government:1"), ("reworded", "quote:cuban_government:2")],
    ),
    (
        "both government sentences credited to the president",
        quote(
            "diaz_canel",
            "Our compatriots fulfilled their duty with dignity and heroism. They "
            "fell, after fierce resistance, in direct combat against the attackers or as a "
            "result of bombings on the facilities.",
        ),
        [
            ("reattributed", "quote:cuban_government:1"),
            ("reattributed", "quote:cuban_government:2"),
        ],
    ),
    (
        "one part word for word, one paraphrased",
        quote(
            "trump",
            "I don't think we need any action. Cuba is going down, it's ready to fall, "
            "going down for the count",
        ),
        [("confirms", "quote:trump:1"), ("reworded", "quote:trump:2")],
    ),
    (
        "a long new statement sharing a word or two",
        quote(
            "cuban_government",
            "The Cuban people will never forget the heroism of our "
            "compatriots who fell defending the sovereignty of a sister nation",
        ),
        [("new_statement", None)],
    ),
]


@pytest.mark.parametrize(("label", "claim", "expected"), LONG, ids=[x[0] for x in LONG])
def test_long_quotes_holding_several_statements(label, claim, expected):
    assert [(r.relation, r.baseline_key) for r in compare_statement(claim, BASELINE)] == expected


def base_with(**item):
    full = {"metric": "killed", "group_key": "total", "high": None, "expected_to_rise": False}
    return {"figures": {"killed:total": {**full, **item}}, "statements": {}}


OTHER_BASELINES = [
    # (baseline item, observed, relation): the rules read the same from any baseline hedge.
    ({"low": 1, "high": 30, "qualifier": "up_to"}, fig(1, 30, "at_most"), "confirms"),
    ({"low": 1, "high": 30, "qualifier": "up_to"}, fig(30, 30, "exact"), "qualifier_changed"),
    ({"low": 1, "high": 30, "qualifier": "up_to"}, fig(40, 40, "exact"), "contradicts"),
    ({"low": 1, "high": 30, "qualifier": "up_to"}, fig(20, 20, "exact"), "qualifier_changed"),
    ({"low": 1, "high": 9, "qualifier": "fewer_than"}, fig(10, 10, "exact"), "qualifier_changed"),
    ({"low": 20, "high": 30, "qualifier": "range"}, fig(20, 30, "range"), "confirms"),
    ({"low": 20, "high": 30, "qualifier": "range"}, fig(25, 25, "exact"), "qualifier_changed"),
    ({"low": 20, "high": 30, "qualifier": "range"}, fig(15, 15, "exact"), "contradicts"),
    ({"low": 20, "high": 30, "qualifier": "range"}, fig(35, 35, "exact"), "contradicts"),
    (
        {"low": 20, "high": 30, "qualifier": "range", "expected_to_rise": True},
        fig(35, 35, "exact"),
        "updated",
    ),
    ({"low": 80, "high": 80, "qualifier": "about"}, fig(84, 84, "exact"), "qualifier_changed"),
    ({"low": 80, "high": 80, "qualifier": "about"}, fig(78, 78, "about"), "confirms"),
    ({"low": 80, "high": 80, "qualifier": "about"}, fig(90, 90, "exact"), "contradicts"),
    ({"low": 24, "high": None, "qualifier": "vague"}, fig(32, 32, "exact"), "updated"),
    (
        {"low": 101, "high": None, "qualifier": "more_than"},
        fig(100, None, "at_least"),
        "qualifier_changed",
    ),
]


@pytest.mark.parametrize(("item", "claim", "relation"), OTHER_BASELINES)
def test_rules_hold_for_every_baseline_hedge(item, claim, relation):
    assert [r.relation for r in compare_figure(claim, base_with(**item))] == [relation]


@pytest.mark.parametrize(
    ("claim", "expected"),
    [
        # "Cuba mourns its 32 dead": the Cubans' count under the group "people".
        (fig(32, 32, "exact"), [("confirms", "killed:cuban_personnel")]),
        (fig(32, None, "at_least"), [("qualifier_changed", "killed:cuban_personnel")]),
        # "32 of its citizens": an unnamed group with the sub-count's exact number.
        (fig(32, 32, "exact", "other"), [("confirms", "killed:cuban_personnel")]),
        # Other numbers keep their group.
        (fig(33, 33, "exact"), [("contradicts", "killed:total")]),
        (fig(12, 12, "exact", "other"), []),
        (fig(80, None, "at_least"), [("confirms", "killed:total")]),
        (fig(32, 32, "exact", metric="injured"), [("new_figure", "injured:total")]),
    ],
)
def test_a_loosely_grouped_sub_count(claim, expected):
    rels = compare_figure(claim, BASELINE)
    assert [(r.relation, r.baseline_key) for r in rels] == expected
    for r in rels:
        assert r.observed["group_key"] == r.baseline_key.split(":")[1]
