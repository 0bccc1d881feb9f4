"""Anonymity guard: what identifies a member, and what does not."""

import pytest

from app.moderation.stages.pii import find_pii


def kinds(text: str) -> list[str]:
    return [reason for _, _, reason in find_pii(text)]


@pytest.mark.parametrize(
    ("text", "reason", "span"),
    [
        ("Call me at 555-123-4567 if you want", "pii.phone", "555-123-4567"),
        ("my number is (415) 555-2671", "pii.phone", "(415) 555-2671"),
        ("text me 07911 123456", "pii.phone", "07911 123456"),
        ("Whatsapp me +44 7911 123456", "pii.phone", "+44 7911 123456"),
        ("my cell is 4155552671", "pii.phone", "4155552671"),
        ("email me at sam.recovery@gmail.com", "pii.email", "sam.recovery@gmail.com"),
        ("my email is dana_w at yahoo dot com", "pii.email", "dana_w at yahoo dot com"),
        ("add me on insta @sober_sam_88", "pii.handle", "@sober_sam_88"),
        ("find me on snap: jessie.k22", "pii.handle", "jessie.k22"),
        ("my ig is @healing.hannah", "pii.handle", "@healing.hannah"),
        ("snap me, username is tyler_sober23", "pii.handle", "tyler_sober23"),
        ("facebook.com/john.smith.5432 is me", "pii.handle", "facebook.com/john.smith.5432"),
        ("I live at 42 Oak Street, come by", "pii.address", "42 Oak Street"),
        ("i'm at 9 church lane if anyone's near", "pii.address", "9 church lane"),
        ("Hi I'm Sarah Mitchell, I'm new here", "pii.name", "Sarah Mitchell"),
        ("My name is David Okafor and I'm an alcoholic", "pii.name", "David Okafor"),
        ("Hi I'm Lucy O'Brien", "pii.name", "Lucy O'Brien"),
        ("my last name is Kowalski", "pii.name", "Kowalski"),
        ("I work at Walmart on the night shift", "pii.workplace", "Walmart"),
        ("I'm a nurse at St. Mary's Hospital", "pii.workplace", "St. Mary's Hospital"),
    ],
)
def test_pii(text: str, reason: str, span: str) -> None:
    hits = find_pii(text)
    assert (text.index(span), text.index(span) + len(span), reason) in hits


@pytest.mark.parametrize(
    "text",
    [
        "I'm Sam, alcoholic. 43 days today.",
        "I'm Jo and I'm an addict",
        "Hi I'm Maya, grateful recovering alcoholic",
        "I'm Really Grateful To Be Here",
        "I work at a hospital so nights are rough",
        "I've been sober since 11/23/2019",
        "My sobriety date is 2019-03-14",
        "It's been 1,095 days",
        "My home group meets at 7:30 on Tuesdays",
        "Call 988 if you need it, or text HOME to 741741",
        "The SAMHSA helpline is 1-800-662-4357",
        "samaritans are on 116 123",
        "@maria thank you for what you said",
        "my counselor's office is on Main Street",
        "I walked 5 miles up the hill today",
        "check out my onlyfans, link in bio",
    ],
)
def test_not_pii(text: str) -> None:
    assert kinds(text) == []


def test_operator_numbers_are_allowed() -> None:
    text = "our local crisis line is 0800 555 0199"
    assert kinds(text) == ["pii.phone"]
    assert find_pii(text, allowed_numbers=["0800 555 0199"]) == []


def test_hits_are_sorted_and_do_not_overlap() -> None:
    hits = find_pii("I'm Tom Baker, call 555-123-4567 or tom@x.org, I live at 1 Elm Street")
    assert [h[2] for h in hits] == ["pii.name", "pii.phone", "pii.email", "pii.address"]
    assert all(a[1] <= b[0] for a, b in zip(hits, hits[1:], strict=False))
