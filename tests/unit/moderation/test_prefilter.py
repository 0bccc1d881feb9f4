"""The literal prefilter: a pattern it rules out can never match (soundness), on generated
matches of every registered pattern and on the evaluation sets."""

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.moderation import default_pipeline
from app.moderation.evaluate import CASES, HOLDOUT, load_cases
from app.moderation.message import Message
from app.moderation.prefilter import Atom, Prefilter, SharedScan, required
from app.moderation.scans import DISPLAY, MATCHING

default_pipeline()  # registers every stage's patterns and builds the scans

SCANS = {"matching": MATCHING, "display": DISPLAY}
PATTERNS = [
    (name, index)
    for name, scan in SCANS.items()
    for index in range(len(scan._patterns))  # noqa: SLF001
]


def _compiled(scan: SharedScan, index: int) -> re.Pattern[str]:
    pattern = scan._patterns[index]  # noqa: SLF001
    return pattern if isinstance(pattern, re.Pattern) else re.compile(pattern)


@pytest.mark.parametrize(("scan_name", "index"), PATTERNS)
def test_a_generated_match_is_always_admitted(scan_name: str, index: int) -> None:
    scan = SCANS[scan_name]
    pattern = _compiled(scan, index)

    @settings(
        max_examples=25,
        deadline=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )
    @given(st.from_regex(pattern))
    def check(text: str) -> None:
        assert pattern.search(text)
        assert scan.admitted(text) >> index & 1, (pattern.pattern[:80], text)

    check()


def test_every_match_in_the_evaluation_sets_is_admitted() -> None:
    for case in load_cases(CASES) + load_cases(HOLDOUT):
        msg = Message.of(case.text)
        for name, scan in SCANS.items():
            texts = [msg.matching, msg.squeezed] if name == "matching" else [msg.display]
            admitted = msg.matching_admitted() if name == "matching" else msg.display_admitted()
            for index in range(len(scan._patterns)):  # noqa: SLF001
                pattern = _compiled(scan, index)
                if any(pattern.search(t) for t in texts):
                    assert admitted >> index & 1, (case.text, pattern.pattern[:80])


def test_clauses_of_a_simple_pattern() -> None:
    # Every match is one of a few strings: one clause, whole phrases at word boundaries.
    clauses = required(r"(?<![a-z0-9])(?:i|im) (?:want|need) to (?:die|od)(?![a-z0-9])")
    assert [sorted(a.text for a in c) for c in clauses] == [
        sorted(
            f"{s} {v} to {w}" for s in ("i", "im") for v in ("want", "need") for w in ("die", "od")
        )
    ]
    assert all(a.start and a.end for c in clauses for a in c)
    # A gap in the middle: one clause for each side.
    clauses = required(r"(?<![a-z0-9])i (?:want|need) to (?:\w+ )*(?:die|od)(?![a-z0-9])")
    texts = [sorted(a.text for a in c) for c in clauses]
    assert ["die", "od"] in texts
    assert ["i need to ", "i want to "] in texts


def test_word_boundaries_make_atoms_rare() -> None:
    prefilter = Prefilter([r"(?<![a-z0-9])(?:od|ctb)(?![a-z0-9])"])
    assert prefilter.admitted("i think i od") == 1
    assert prefilter.admitted("good food today") == 0  # "od" inside words
    assert prefilter.admitted("od.") == 1


def test_case_folding_and_its_hazards() -> None:
    prefilter = Prefilter([re.compile(r"\bstreet\b", re.IGNORECASE)], fold_case=True)
    assert prefilter.admitted("Baker STREET") == 1
    assert prefilter.admitted("baker road") == 0
    # The long s matches "s" case-insensitively; lower() keeps it: everything is admitted.
    assert prefilter.admitted("baker \u017ftreet") == 1
    assert re.search(r"\bstreet\b", "baker \u017ftreet", re.IGNORECASE)


def test_a_pattern_without_clauses_is_always_admitted() -> None:
    prefilter = Prefilter([r"\d{3}\s\d{4}", r"(?<![a-z0-9])hello(?![a-z0-9])"])
    assert prefilter.admitted("nothing here") == 0b01
    assert prefilter.admitted("hello") == 0b11


def test_per_span_admission() -> None:
    prefilter = Prefilter([r"(?<![a-z0-9])i want to (?:\w+ )*die(?![a-z0-9])"])
    text = "i want to rest. i could die laughing"
    spans = [(0, 14), (16, len(text))]
    assert prefilter.admitted(text) == 1  # every atom occurs in the text...
    assert prefilter.admitted_in(text, spans) == [0, 0]  # ...but in no one clause


def test_atoms_are_values() -> None:
    assert Atom("od", True, True) == Atom("od", True, True)
