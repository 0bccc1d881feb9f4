"""What a pseudonym says: refused for abuse, contact details and selling; crisis reported."""

import pytest

from app.moderation.crisis import CRISIS_KINDS
from app.moderation.names import name_content_problem, name_crisis
from app.moderation.pipeline import default_pipeline

PIPELINE = default_pipeline()


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("n1gg3r", "name.abuse"),  # a slur in leetspeak
        ("Faggot", "name.abuse"),
        ("YouIdiot", "name.abuse"),  # an insult aimed at someone
        ("Ur A Loser", "name.abuse"),
        ("KillYourselfBob", "name.abuse"),  # CamelCase is read as words
        ("kys", "name.abuse"),
        ("kill_yourself", "name.abuse"),
        ("Kys4Life", "name.abuse"),
        ("StfuBob", "name.abuse"),
        ("555-123-4567", "name.contact"),
        ("Sam 07911 123456", "name.contact"),
        ("sam@gmail.com", "name.contact"),
        ("@sam_insta", "name.contact"),  # a handle, with no platform named
        ("Sam (ig: sam_22)", "name.contact"),
        ("evil-scam.com", "name.contact"),
        ("aa.org", "name.contact"),  # no link in a name, even to a resource
        ("evil dot com", "name.contact"),
        ("12 Oak Street", "name.contact"),
        ("buy xans dm me", "name.solicitation"),
        ("BuyXansDmMe", "name.solicitation"),
        ("OnlyFansSam", "name.solicitation"),
    ],
)
def test_refused(name: str, problem: str) -> None:
    assert name_content_problem(name, PIPELINE) == problem


ACCEPTED = [
    # What people in recovery call themselves: a name is its holder's own word for themselves.
    "Junkie",
    "Drunk",
    "Nobody",
    "Just Nobody",
    "Failure",
    "Druggie",
    "Alky",
    "Grateful Alky",
    "Wino",
    "Crackhead",
    # Real names and surnames that contain, or are, a rude word somewhere.
    "Dick",
    "Fanny",
    "Willy",
    "Cox",
    "Gaylord",
    "Hoe",
    "Dickson",
    "Scunthorpe",
    "Niger",
    "Dick Van Dyke",
    "Mary-Jane",
    "Molly",
    "Tina",
    "Kush",
    "Mo",
    "Sam",
    "Sam.Smith",
    "sam_smith22",
    "McKay",
    # Recovery pseudonyms.
    "Hope4Today",
    "Grateful Dan",
    "Sober Sue",
    "One Day At A Time",
    "Phoenix",
    "Recovering Junkie",
    "Grateful Drunk",
    "Sober since 2019",
    "Day 365",
    "Jo 2",
    "Ann (she/her)",
    "Hope@Dawn",
    # Crisis language is never refused (see name_crisis).
    "WantToDieTonight",
    "ending it tonight",
]


@pytest.mark.parametrize("name", ACCEPTED)
def test_accepted(name: str) -> None:
    assert name_content_problem(name, PIPELINE) is None


def test_without_a_pipeline_nothing_is_screened() -> None:
    assert name_content_problem("n1gg3r", None) is None
    assert name_content_problem("555-123-4567", None) is None
    assert name_crisis("WantToDieTonight", None) is None


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("WantToDieTonight", "suicide"),
        ("ending it tonight", "suicide"),
        ("I Want To Die", "suicide"),
        ("Tired of Living", "suicide"),
        ("I took all my pills", "overdose"),
        ("CuttingAgain", "self_harm"),
        ("He will kill me", "danger"),
    ],
)
def test_crisis_kind(name: str, kind: str) -> None:
    assert kind in CRISIS_KINDS
    assert name_crisis(name, PIPELINE) == kind
    assert name_content_problem(name, PIPELINE) is None  # reported, never refused


@pytest.mark.parametrize("name", ["Sam", "Hope4Today", "Phoenix", "kys", "Recovering Junkie"])
def test_no_crisis(name: str) -> None:
    # "kys" is aimed at someone else: abuse, not a cry for help.
    assert name_crisis(name, PIPELINE) is None
