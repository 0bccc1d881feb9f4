"""Crisis phrasings a reviewer found the rules missing; near-misses that must stay shares."""

import re

import pytest

from app.moderation import ScreenContext, default_pipeline
from app.moderation.message import Message
from app.moderation.stages import crisis
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
        ("tonight's the night i end it", "suicide"),
        ("tonight's the night i do it, i have the pills", "suicide"),
        ("i've got a plan and the pills", "suicide"),
        ("i'm gonna relapse and hopefully not wake up", "suicide"),
        ("gonna use til i'm dead", "suicide"),
        ("i'm gonna take everything i have and go to sleep", "suicide"),
        ("i'm standing on the ledge", "suicide"),
        ("i'm giving away my things", "suicide"),
        ("i'm not gonna be around much longer, i can't do this anymore", "suicide"),
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
        ("the knife is in my hand, i'm so tempted to cut", "self_harm"),
        ("the razor is against my wrist", "self_harm"),
        ("i feel like hurting myself", "self_harm"),
        ("i feel like cutting", "self_harm"),
        ("i'm cutting", "self_harm"),
        ("im cutting rn", "self_harm"),
        ("i mixed benzos and alcohol and i feel like i'm dying", "overdose"),
        ("i'm turning blue and dizzy", "overdose"),
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
        # narrowed after review, the crisis forms still caught
        ("im on the ledge and im gonna jump", "suicide"),
        ("I'm on the edge of the roof.", "suicide"),
        ("I'm on the other side of the railing", "suicide"),
        ("ive got a plan and a gun.", "suicide"),
        ("i'm giving away my stuff because i won't need it", "suicide"),
        ("hopefully i don't wake up tomorrow", "suicide"),
        ("I hope I don't wake up.", "suicide"),
        ("there's no point living.", "suicide"),
        ("i deserve to not live anymore", "suicide"),
        ("i won't be here tomorrow, i can't do this anymore", "suicide"),
        ("I won't need to be here tomorrow.", "suicide"),
        ("i won't be alive tomorrow", "suicide"),
        ("I took everything I had", "overdose"),
        ("took the rest of my pills", "overdose"),
        ("my lips are turning blue help", "overdose"),
        # narrowed against meeting talk, the crisis forms still caught
        ("I can't make it through tonight, I have the pills ready", "suicide"),
        ("i can't make it another day", "suicide"),
        ("i won't survive tonight", "suicide"),
        ("i'm so tired of living", "suicide"),
        ("tired of living anymore", "suicide"),
        ("I'm tired of living, I want it to end", "suicide"),
        ("nobody cares if i make it", "suicide"),
        ("nobody cares if i make it or not", "suicide"),
        ("nobody cares if i live or die", "suicide"),
        ("I'm a burden on my family", "suicide"),
        ("I'm such a burden to everyone, they'd be better off", "suicide"),
        ("i'm a burden on my family and i can't do this anymore", "suicide"),
        ("We need narcan now, he's not breathing", "overdose"),
        ("someone get narcan!", "overdose"),
        ("there's no narcan and he won't wake up", "overdose"),
        ("I'm in danger", "danger"),
        ("I'm in danger of being killed", "danger"),
        ("I feel like I'm in danger at home", "danger"),
        ("I don't think I'll make it through the night", "suicide"),
        ("i dont think ill make it through tonight", "suicide"),
        ("I keep thinking about jumping", "suicide"),
        ("I keep thinking about jumping, it would be so easy", "suicide"),
        ("I'm thinking about jumping tonight", "suicide"),
        ("I wrote letters to my kids tonight", "suicide"),
        ("I left a note for my wife. Goodbye.", "suicide"),
        ("i'm writing letters to my family, they'll understand", "suicide"),
        ("I took all my pills", "overdose"),
        ("I snorted all my stuff", "overdose"),
        ("i shot up all the stuff i had", "overdose"),
        ("my boyfriend is turning blue", "overdose"),
        ("My lips are turning blue, I can't breathe", "overdose"),
        ("my fingers are turning blue and i can't breathe after using", "overdose"),
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
        # found flagged in review (alert fatigue)
        "Going to bed early, hopefully I don't wake up again at 4am with cravings.",
        "Hopefully I don't wake up tomorrow with the shakes like last time.",
        "I'm cooking dinner, the knife is in my hand so typing is slow.",
        "I put the razor on my leg\u2026shaving haha",
        "I'm sitting on the window ledge with my coffee",
        "I'm on the ledge of relapsing, need to call my sponsor.",
        "Two years sober and I'm on the other side of the fence now.",
        "I'm moving next month so I'm giving away my stuff.",
        "I'm not gonna be around much longer, gotta pick up my kids.",
        "I'm not gonna be around much longer, my ride is outside.",
        "I'm not gonna be around much longer, doctor's appointment.",
        "I'm not gonna be around much longer, I have a red-eye flight",
        "There's no point living a lie, so I told my wife I relapsed.",
        "Tonight's the night I finally do it - my first share!",
        "Tonight's the night I do it! Telling my family I'm an addict.",
        "I'm turning blue in here, the AC is freezing.",
        "I'm going blue for autism awareness month.",
        "I got a plan and some pills from my psychiatrist, feeling hopeful.",
        "I deserve to not live in fear anymore.",
        "I took everything in",
        "I took the rest of the day off",
        # idioms and past shares
        "This craving is killing me.",
        "I could die of embarrassment, I cried the whole share.",
        "I'm cutting ties with my old using friends.",
        "I'm dying to see my kids this weekend.",
        "I'm dead tired after a double shift.",
        "I'm done with drinking, for real this time.",
        "I used to cut, I'm 3 years clean from self harm now.",
        "When I overdosed in 2019 my mom found me.",
        "I feel like cutting out sugar too.",
        "I'm cutting onions and crying lol.",
        "I'm snorting with laughter.",
        # the reviewed rules' own words in ordinary sentences
        "I took everything my sponsor said to heart.",
        "My ex took everything in the divorce.",
        "My ex took everything.",
        "I took everything I had learned and wrote it down.",
        "I swallowed everything I wanted to say.",
        "I just did way too much thinking today.",
        "I took too much on this week and I'm exhausted.",
        "I did too much coke back in the day.",
        "I won't be here next week, I'm on vacation.",
        "I won't be around much longer tonight, my battery is dying.",
        "I won't be here tomorrow, I have a doctor's appointment.",
        "Won't be around for long today, gotta work.",
        "I'm not gonna be here tomorrow, my kid has a recital.",
        "I'm not going to be here much longer, the library closes at 8.",
        "I'm not gonna be around much longer, gotta go, bye everyone!",
        "I'm not gonna be around much longer, gotta pick up my meds.",
        "I'm giving away my stuff to the shelter before the move.",
        "I'm giving away my old bottles to the recycling.",
        "I'm on the edge of the bridge of my nose with these glasses lol.",
        "I'm standing on the ledge of a big decision.",
        "I'm sitting on the ledge outside having a smoke.",
        "I'm on the edge of my seat waiting for my chip.",
        "I was on the ledge for years, but now I'm doing better.",
        "Got discharged from detox today, hopefully I don't come back.",
        "Hopefully I don't make it a habit.",
        "Hopefully I die laughing at the comedy show tonight.",
        "I hope I don't wake up with a hangover, oh wait, I'm sober!",
        "I hope I don't make it worse.",
        "I'm turning blue from holding my breath in yoga.",
        "I'm turning blue, dying of cold here.",
        "I'm going blue for autism awareness month, help us raise money.",
        "I have a plan for the holidays and the pills are locked up with my wife.",
        "I have a safety plan and the numbers in my phone.",
        "I've got the meds and a plan from my doctor to taper.",
        "I'm cooking, the knife is in my hand, can't stop laughing.",
        "The knife is in my hand, my finger is bleeding, ouch.",
        "The knife is in my hand, I need to cut the onions.",
        "I have a knife in my hand, I'm chopping vegetables.",
        "The blade is against my skin when I shave my head.",
        "I'm holding a razor to my face, shaving.",
        "Tonight's the night I tell my parents I'm an alcoholic.",
        "Tonight is the night I finally do it, I'm calling my sponsor.",
        "Tonight's the night I do it, no more hiding, telling my parents.",
        "There's no point living in fear of relapse.",
        "There's no reason to live like I did before.",
        "I'm shooting the whole wedding tomorrow, I'm the photographer.",
        "I'm shooting all the footage for the recovery video.",
        "My dad keeps hitting me up for money.",
        "I don't think I'll make it through the night shift without coffee.",
        "I can't get through the night shift.",
        # flagged by older rules (alert fatigue)
        "I can't make it tonight, I'm sick.",
        "I'm so tired of living paycheck to paycheck.",
        "Nobody cares if I make it to the meeting on time.",
        "I'm a burden on my family financially right now.",
        "We need narcan training at our home group.",
        "There was no narcan at the pharmacy today.",
        "I'm in danger of relapsing if I go to that party.",
        "I'm thinking about jumping into a new job.",
        "I wrote letters to my family for step nine.",
        "My ex took all my stuff.",
        "My fingers are turning blue, it's freezing out.",
    ],
)
def test_near_miss_is_not_a_crisis(text: str) -> None:
    assert kind_of(text) is None


@pytest.mark.parametrize(
    ("alone", "with_a_cue", "kind"),
    [
        (
            "tonight's the night i do it",
            "tonight's the night i do it, i have the pills",
            "suicide",
        ),
        (
            "i'm not gonna be around much longer",
            "i'm not gonna be around much longer, take care of my dog",
            "suicide",
        ),
        ("the knife is in my hand", "the knife is in my hand, i'm so tempted to cut", "self_harm"),
        ("i'm turning blue", "i'm turning blue and dizzy", "overdose"),
    ],
)
def test_an_everyday_phrase_needs_a_second_cue(alone: str, with_a_cue: str, kind: str) -> None:
    # alone, as common at a meeting as in a crisis: left to the semantic screen
    assert kind_of(alone) is None
    assert kind_of(with_a_cue) == kind


def _lookarounds(pattern: str) -> list[str]:
    """The bodies of the look-arounds in a regular expression's source, nested ones too."""
    bodies = []
    for opener in re.finditer(r"\(\?(?:=|!|<=|<!)", pattern):
        depth, i = 1, opener.end()
        while i < len(pattern) and depth:
            if pattern[i] == "\\":
                i += 2
                continue
            depth += {"(": 1, ")": -1}.get(pattern[i], 0)
            i += 1
        bodies.append(pattern[opener.end() : i - 1])
    return bodies


def _module_patterns() -> list[re.Pattern[str]]:
    found: list[re.Pattern[str]] = []
    for value in vars(crisis).values():
        if isinstance(value, re.Pattern):
            found.append(value)
    for rule in crisis.RULES:
        found += [rule.pattern, *(p for p in (rule.needs_message, rule.unless_message) if p)]
    return found


def test_no_look_around_reads_to_the_end_of_the_text() -> None:
    """A look-around with an unbounded ``.*`` or ``.+`` is re-run at every candidate match and
    makes a long message cost quadratic time (a 16 KiB frame took ~1 s, stalling every room).
    What a rule looks at beyond its match is checked once per clause or message instead
    (``Rule.joke_after``, ``needs_message``, ``unless_message``). Checked on the patterns'
    source, not by timing: speed is measured by ``make bench``."""
    unbounded = re.compile(r"(?<!\\)\.(?:\*|\+)")
    offending = [
        (pattern.pattern[:60], body)
        for pattern in _module_patterns()
        for body in _lookarounds(pattern.pattern)
        if unbounded.search(body)
    ]
    assert not offending, offending


def test_the_check_finds_an_unbounded_look_around() -> None:
    assert _lookarounds(r"a(?!.*(?<![a-z])lol)b") == [r".*(?<![a-z])lol", "[a-z]"]


@pytest.mark.parametrize(
    "text", ["i can't go on", "1 w4nt t0 d13", "i'm shooting the whole bag tonight"]
)
def test_the_pipeline_flags_without_holding(text: str) -> None:
    verdict = default_pipeline().screen(text, ScreenContext())
    assert verdict.crisis and verdict.action == "allow"
