"""Crisis phrasings a reviewer found the rules missing; near-misses that must stay shares."""

import pytest

from app.moderation import ScreenContext, default_pipeline
from app.moderation.message import Message
from app.moderation.stages.crisis import detect


def kind_of(text: str) -> str | None:
    msg = Message.of(text)
    return detect(msg.matching, msg.squeezed)


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("commit suicide tonight", "suicide"),
        ("i'm going to end myself", "suicide"),
        ("im thinking bout ending my life", "suicide"),
        ("i can't go on", "suicide"),
        ("i can't go on...", "suicide"),
        ("no point living anymore", "suicide"),
        ("i deserve to die", "suicide"),
        ("i don't deserve to live", "suicide"),
        ("tonight's the night i do it", "suicide"),
        ("i've got a plan and the pills", "suicide"),
        ("i'm gonna relapse and hopefully not wake up", "suicide"),
        ("gonna use til i'm dead", "suicide"),
        ("i'm gonna take everything i have and go to sleep", "suicide"),
        ("i'm standing on the ledge", "suicide"),
        ("i'm giving away my things", "suicide"),
        ("i'm not gonna be around much longer", "suicide"),
        ("unalive myself", "suicide"),
        ("thinking about unaliving myself", "suicide"),
        ("sewerslide", "suicide"),
        ("sucidal", "suicide"),
        ("suicidal rn", "suicide"),
        ("i wnat to die", "suicide"),
        ("i wan to die", "suicide"),
        ("i wanta die", "suicide"),
        ("i wan2 die", "suicide"),
        ("i want to kll myself", "suicide"),
        ("1 w4nt t0 d13", "suicide"),
        ("the knife is in my hand", "self_harm"),
        ("i feel like hurting myself", "self_harm"),
        ("i feel like cutting", "self_harm"),
        ("i'm cutting", "self_harm"),
        ("im cutting rn", "self_harm"),
        ("i mixed benzos and alcohol and i feel like i'm dying", "overdose"),
        ("i'm turning blue", "overdose"),
        ("i just did way too much fentanyl", "overdose"),
        ("i just shot up everything i had", "overdose"),
        ("i'm shooting the whole bag tonight", "overdose"),
        # the same rules in other words
        ("i have the pills and a plan", "suicide"),
        ("I am on the ledge", "suicide"),
        ("i've been giving away my stuff", "suicide"),
        ("i am not going to be alive by morning", "suicide"),
        ("unalive myself tonight", "suicide"),
        ("i've been cutting", "self_harm"),
        ("im still cutting", "self_harm"),
    ],
)
def test_reviewed_phrasing_is_a_crisis(text: str, kind: str) -> None:
    assert kind_of(text) == kind


@pytest.mark.parametrize(
    "text",
    [
        # farewells, places, plans that are not crises
        "goodbye everyone, thanks for everything",
        "this is my last meeting",
        "i'm ready to go",
        "i'm at the bridge",
        "tonight's the night I do my first share",
        "I'm giving away my things before the move",
        "I'm not gonna be around much longer, I have to leave early",
        "my sponsor talked me off the ledge",
        # cutting back, not cutting
        "i'm cutting back",
        "cutting carbs",
        "I feel like cutting my hair short",
        "I'm not cutting myself",
        # the tense and condition guard
        "i used to want to die",
        "when i wanted to die, i called my sponsor",
        "I used to feel like hurting myself",
        "I was standing on the ledge that night, my sponsor talked me down",
        "I did way too much fentanyl in my addiction",
        "back then I shot up everything I had",
        "If you ever feel like hurting yourself, call 988",
        # negation, other people, idioms, jokes
        "I don't deserve to die",
        "I would never unalive myself",
        "all junkies deserve to die",
        "kmsl",  # "killing myself laughing"
        "kmsl that was funny",
        "I can't go on like this, I need to stop drinking",
        "I can't go on the retreat",
        "there's no point living in the past",
        "I'm turning blue in the face explaining this",
        "I want to take it all in",
        "I'm going to take everything I have learned here",
        "hopefully I don't wake up the baby",
        "Suicidal thoughts are common in early recovery",
        "Sewerslide is a tiktok word for suicide",
        "i just took too much adderall to study lol",
        "I just ate everything in the fridge",
        "1 want to thank everyone",
    ],
)
def test_near_miss_is_not_a_crisis(text: str) -> None:
    assert kind_of(text) is None


@pytest.mark.parametrize(
    "text", ["i can't go on", "1 w4nt t0 d13", "i'm shooting the whole bag tonight"]
)
def test_the_pipeline_flags_without_holding(text: str) -> None:
    verdict = default_pipeline().screen(text, ScreenContext())
    assert verdict.crisis and verdict.action == "allow"
