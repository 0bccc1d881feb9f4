"""Crisis detection: tense, negation and conditions decide between a share and a crisis."""

import pytest

from app.moderation.crisis import crisis_hint, crisis_kind
from app.moderation.message import Message
from app.moderation.stages.crisis import HINTS, detect
from app.moderation.verdict import CRISIS_KINDS, Verdict


def kind_of(text: str) -> str | None:
    msg = Message.of(text)
    return detect(msg.matching, msg.squeezed)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("I want to die tonight", "suicide"),
        ("i wanna die so bad rn", "suicide"),
        ("I'm going to kill myself", "suicide"),
        ("im gonna kill my self", "suicide"),
        ("i cant do this anymore i want it to end", "suicide"),
        ("kms", "suicide"),
        ("K.M.S honestly", "suicide"),
        ("I don't want to wake up tomorrow", "suicide"),
        ("nobody would miss me", "suicide"),
        ("I have a rope", "suicide"),
        ("I'm about to use and I don't care if I die", "suicide"),
        ("Everyone would be better off without me", "suicide"),
        ("im so suicidle rn", "suicide"),
        ("I w4nt to d1e", "suicide"),
        ("I want to die, but I'm here.", "suicide"),
        ("I want to hurt myself so badly right now", "self_harm"),
        ("i cut myself again tonight", "self_harm"),
        ("I'm cutting again and I can't stop", "self_harm"),
        ("I took all my pills", "overdose"),
        ("I think I overdosed, can't breathe", "overdose"),
        ("I just took like 30 of my xanax", "overdose"),
        ("my friend is overdosing and not breathing", "overdose"),
        ("he's hitting me right now", "danger"),
        ("he has a knife and he's screaming at me", "danger"),
        ("he said he's going to kill me when he gets home", "danger"),
        ("I'm not safe at home right now", "danger"),
    ],
)
def test_crisis(text: str, kind: str) -> None:
    assert kind_of(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        # past tense and past-time markers
        "last year I wanted to die",
        "I used to cut",
        "I wanted to die that night, now I'm three years sober",
        "Back in 2017 I took all my pills and woke up in the ICU.",
        "Two years ago I tried to kill myself. Today I sponsor people.",
        "I used to think everyone would be better off without me.",
        "I was in a crisis last month",
        "I OD'd in 2016 and that was the wake up call",
        # negation
        "I'm not suicidal",
        "I'm not going to kill myself, I just need to vent",
        "I don't want to die anymore",
        "I've been suicidal before and I'm not now",
        # someone else, or a condition
        "my sponsor died of an overdose",
        "If you ever feel like you want to die, please call 988.",
        "Call 911 if someone's overdosing, and carry narcan",
        "if i drink again i'll probably die, that's how bad my liver is",
        "Call 988 if you are thinking about suicide",
        # idioms
        "My wife is going to kill me if I'm late again",
        "I'd rather die than go back to drinking",
        "I'm dying for a coffee",
        "this craving is killing me",
        "I need to cut back on caffeine",
        "I ran 5 kms today",
        "I'm going to catch the bus home",
        "I'm done trying to control my drinking",
        "I can't go on like this, I need to stop drinking",
    ],
)
def test_not_crisis(text: str) -> None:
    assert kind_of(text) is None


def test_every_kind_has_a_hint_without_placeholders() -> None:
    assert set(HINTS) == set(CRISIS_KINDS)
    for kind in CRISIS_KINDS:
        hint = crisis_hint(kind)
        assert 40 < len(hint) < 400 and "{" not in hint


def test_crisis_kind_reads_the_verdict() -> None:
    base = Verdict("allow", frozenset({"ok"}), (), "hi")
    assert crisis_kind(base) is None
    crisis = Verdict(
        "allow", frozenset({"crisis"}), ("crisis.overdose",), "x", (), True, "overdose"
    )
    assert crisis_kind(crisis) == "overdose"
