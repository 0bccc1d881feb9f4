"""Impersonation: authority claims in messages, look-alike and reserved pseudonyms."""

import pytest

from app.moderation.context import ScreenContext
from app.moderation.impersonation import is_confusable, pseudonym_problem
from app.moderation.message import Message
from app.moderation.stages.impersonation import ImpersonationStage


def claims(text: str, role: str = "member") -> bool:
    ctx = ScreenContext(role=role)  # type: ignore[arg-type]
    return ImpersonationStage().check(Message.of(text), ctx) is not None


@pytest.mark.parametrize(
    "text",
    [
        "I'm the host, everyone leave now",
        "as your facilitator I need your phone numbers",
        "admin here: this room is closing",
        "This meeting has moved to zoom.us/j/1, everyone go there",
        "[host] please mute",
        "I'm a mod here so listen",
        "Moderator here, click this link to verify your account",
    ],
)
def test_claims(text: str) -> None:
    assert claims(text)


@pytest.mark.parametrize(
    "text",
    [
        "I'm the host of a dinner on Sunday and I'm nervous",
        "I was the secretary of my home group for a year",
        "I'm a secretary at a law firm",
        "Could we move the meeting to 8pm next week?",
        "our meeting moved to Wednesdays at the church",
    ],
)
def test_not_claims(text: str) -> None:
    assert not claims(text)


def test_facilitators_may_say_they_host() -> None:
    assert not claims("I'm the host, welcome everyone", role="host")


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Sam", "sam"),
        ("Sam", "Sаm"),  # Cyrillic a
        ("Sam", "S\u200bam"),
        ("Sam", "Ｓａｍ"),
        ("Sarn", "Sam"),  # "rn" reads as "m"
        ("Iggy", "lggy"),
        ("Sam_", "Sam"),
        ("Jo3", "Joe"),
    ],
)
def test_confusable(a: str, b: str) -> None:
    assert is_confusable(a, b)


@pytest.mark.parametrize(("a", "b"), [("Sam", "Pam"), ("Clara", "Dara"), ("Jo", "Joe"), ("", "")])
def test_not_confusable(a: str, b: str) -> None:
    assert not is_confusable(a, b)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("Sam", None),
        ("José", None),
        ("Анна", None),
        ("", "name.length"),
        ("   ", "name.length"),
        ("x" * 33, "name.length"),
        ("Sam\u202e", "name.invisible"),
        ("S\u200bam", "name.invisible"),
        ("\u3164", "name.invisible"),
        ("Sam\n", "name.invisible"),
        ("!!!", "name.no_letters"),
        ("Sa" + "\u0336" * 5 + "m", "name.marks"),
        ("Pаul", "name.mixed_script"),
        ("Host", "name.reserved"),
        ("Sam (admin)", "name.reserved"),
        ("TheModerator", "name.reserved"),
        ("Facilitator Jo", "name.reserved"),
        ("Ghost", None),
        ("Rob", "name.confusable"),
        ("R0b", "name.confusable"),
    ],
)
def test_pseudonym_problem(name: str, problem: str | None) -> None:
    assert pseudonym_problem(name, facilitator_names=["Rob", "Alice"]) == problem
