"""Abuse: insults aimed at people and slurs are flagged; recovery talk is not."""

import pytest

from app.moderation.message import Message
from app.moderation.stages.abuse import find_abuse, load_terms, parse_terms


def reasons(text: str) -> list[str]:
    return find_abuse(Message.of(text))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("you're a worthless junkie", "abuse.insult"),
        ("u r such a moron", "abuse.insult"),
        ("nobody wants you here, loser", "abuse.exclusion"),
        ("cry more, junkie", "abuse.insult"),
        ("what a pathetic loser, crying about beer", "abuse.insult"),
        ("you people are disgusting", "abuse.insult"),
        ("you're all worthless junkies", "abuse.insult"),
        ("you are all losers", "abuse.insult"),
        ("kys", "abuse.self_harm_incitement"),
        ("k y s", "abuse.self_harm_incitement"),
        ("go kill yourself", "abuse.self_harm_incitement"),
        ("drink yourself to death then", "abuse.self_harm_incitement"),
        ("I hope you overdose tonight", "abuse.threat"),
        ("I know where you live", "abuse.threat"),
        ("I'm going to find you and hurt you", "abuse.threat"),
        ("you don't deserve recovery", "abuse.exclusion"),
        ("you'll never stay sober", "abuse.exclusion"),
        ("send nudes", "abuse.sexual"),
        ("shut up f@ggot", "abuse.slur"),
        ("n1gger get out", "abuse.slur"),
        ("f a g g o t", "abuse.slur"),
    ],
)
def test_abuse(text: str, reason: str) -> None:
    assert reason in reasons(text)


@pytest.mark.parametrize(
    "text",
    [
        "I used heroin again",
        "my damn cravings",
        "I wanted to kill the bottle",
        "meth nearly killed me",
        "I was a f***ing mess",
        "shit week",
        "Fuck this disease honestly",
        "I'm such an idiot, I drove past my old dealer's place",
        "I feel like a worthless junkie some days",
        "I'm a recovering crackhead and proud of it",
        "You're not a worthless junkie. You're a person who is sick.",
        "Don't let anyone tell you you're a loser for relapsing",
        "My dad used to call me a worthless drunk.",
        "we're all junkies and drunks here, and that's why it works",
        "I told my dealer to fuck off",
        "I'd rather die than go back to drinking",
        "I hope you never have to go through that",
        "Niger is where my family is from",
        "I smoked a fag outside before the meeting",
        "what a loser I was back then",
        "shut up brain, you're not helping",
        "if you're a junkie like me, you know the feeling",
        "thank you all, I love you all",
        "you're all welcome here, whatever you used",
        "love you all, fellow alcoholics",
    ],
)
def test_not_abuse(text: str) -> None:
    assert reasons(text) == []


def test_word_list_parses_and_has_each_section() -> None:
    terms = load_terms()
    assert terms.slurs and terms.insults and terms.adjectives and terms.allow
    assert "fagot" in terms.slurs  # stored folded like the matching form


def test_word_list_format_errors_are_reported() -> None:
    with pytest.raises(ValueError, match="unknown section"):
        parse_terms("[nope]\nword\n")
    with pytest.raises(ValueError, match="before any"):
        parse_terms("word\n")
