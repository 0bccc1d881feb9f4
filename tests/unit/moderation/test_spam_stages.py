"""Flood, links, solicitation and newcomer stages."""

import pytest

from app.moderation.context import ScreenContext
from app.moderation.message import Message
from app.moderation.normalise import matching_form
from app.moderation.policy import Policy
from app.moderation.stages.flood import FloodStage
from app.moderation.stages.links import LinksStage, find_links
from app.moderation.stages.newcomer import NewcomerStage
from app.moderation.stages.solicitation import SolicitationStage

MEMBER = ScreenContext()
HOST = ScreenContext(role="host")


def flood(text: str, ctx: ScreenContext = MEMBER) -> tuple[str, ...]:
    result = FloodStage().check(Message.of(text), ctx)
    return () if result is None else result.reasons


LONG = "I really need to tell everyone about my week, it has been hard"


@pytest.mark.parametrize(
    ("text", "recent", "reason"),
    [
        (LONG, [LONG], "flood.duplicate"),
        (LONG.upper(), [LONG], "flood.duplicate"),
        ("  " + LONG.replace("really", "reaaally") + "  ", [LONG], "flood.duplicate"),
        (LONG + " again", [LONG], "flood.near_duplicate"),
        ("thanks", ["thanks", "thanks"], "flood.duplicate"),  # the third time
        ("@a @b @c @d @e hello", [], "flood.mentions"),
        ("a" * 50, [], "flood.characters"),
        ("lol " * 15, [], "flood.characters"),
        ("\U0001f525" * 40, [], "flood.characters"),
        ("x\n" * 30, [], "flood.lines"),
    ],
)
def test_flood(text: str, recent: list[str], reason: str) -> None:
    ctx = ScreenContext(recent=tuple(matching_form(r) for r in recent))
    assert reason in flood(text, ctx)


@pytest.mark.parametrize(
    ("text", "recent"),
    [
        ("thanks for sharing", ["thanks for sharing"]),  # short phrases repeat in meetings
        ("I'm so proud of you all", ["I relapsed on Friday and I'm back today"]),
        ("hahahahaha", []),
        ("@sam @jo thank you both", []),
        ("noooooo way", []),
    ],
)
def test_not_flood(text: str, recent: list[str]) -> None:
    ctx = ScreenContext(recent=tuple(matching_form(r) for r in recent))
    assert flood(text, ctx) == ()


def test_facilitators_are_not_flood_checked() -> None:
    assert flood("a" * 60, HOST) == ()


@pytest.mark.parametrize(
    ("text", "host"),
    [
        ("see https://example.com/x", "example.com"),
        ("go to www.cheap-rx.net now", "cheap-rx.net"),
        ("bit.ly/3xYz", "bit.ly"),
        ("join discord.gg/abc", "discord.gg"),
        ("example dot com", ""),
    ],
)
def test_find_links(text: str, host: str) -> None:
    assert [h for _, _, h in find_links(text)] == [host]


@pytest.mark.parametrize(
    "text",
    ["e.g. this", "I'm at St. Mary's", "version 1.5mg", "sam@gmail.com", "i.e. no", "ok.so"],
)
def test_not_links(text: str) -> None:
    assert find_links(text) == []


def test_link_policy() -> None:
    stage = LinksStage()
    msg = Message.of("join us at zoom.us/j/1")
    result = stage.check(msg, MEMBER)
    assert result is not None and result.action == "block"
    assert result.reasons == ("links.not_allowed",)
    assert stage.check(msg, HOST) is None
    assert stage.check(msg, ScreenContext(policy=Policy(links="allow"))) is None
    held = stage.check(msg, ScreenContext(policy=Policy(links="hold")))
    assert held is not None and held.action == "hold"
    # Recovery resources are allowed by default.
    assert stage.check(Message.of("The Big Book is free at aa.org"), MEMBER) is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("hmu for bars and percs, discreet shipping", "spam.drug_sale"),
        ("selling xanax bars dm me", "spam.drug_sale"),
        ("who wants to buy some molly", "spam.drug_sale"),
        ("Earn $500 a day from home", "spam.commercial"),
        ("Get rich with crypto!!! DM me for signals", "spam.commercial"),
        ("check out my onlyfans", "spam.commercial"),
    ],
)
def test_solicitation(text: str, reason: str) -> None:
    result = SolicitationStage().check(Message.of(text), MEMBER)
    assert result is not None and reason in result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "I used to buy xanax off the street",
        "my dealer texted me offering percs, I blocked him",
        "I used to hit the bars every night, drinks were cheap",
        "I spent all my money on crypto while drunk",
        "God delivered me from coke",
    ],
)
def test_not_solicitation(text: str) -> None:
    assert SolicitationStage().check(Message.of(text), MEMBER) is None


@pytest.mark.parametrize(
    ("ctx", "held"),
    [
        (ScreenContext(joined_s_ago=10, sent_count=0), True),
        (ScreenContext(joined_s_ago=10, sent_count=1), True),
        (ScreenContext(joined_s_ago=10, sent_count=2), False),  # N = 2 by default
        (ScreenContext(joined_s_ago=301, sent_count=0), False),  # window 300 s
        (ScreenContext(joined_s_ago=10, trusted=True), False),
        (ScreenContext(role="cofac", joined_s_ago=10), False),
        (ScreenContext(joined_s_ago=10, policy=Policy(newcomer_cooldown=0)), False),
    ],
)
def test_newcomer(ctx: ScreenContext, held: bool) -> None:
    result = NewcomerStage().check(Message.of("hello everyone"), ctx)
    assert (result is not None and result.action == "hold") is held
