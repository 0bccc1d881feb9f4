"""Impersonation: members claiming facilitator authority, and pseudonyms imitating facilitators.

Messages: "I'm the host", "as your facilitator", "admin here", "this meeting has moved to
<link>" from a member (facilitators are exempt) are flagged with reason
``impersonation.claim`` and handled per ``policy.impersonation``.

Pseudonyms (checked by the rooms core at join, not per message): ``pseudonym_problem`` returns
a stable code or None, and ``is_confusable`` compares two names by skeleton: NFKC, casefold,
invisible characters and accents removed, homoglyphs (confusable_homoglyphs data) and digits
mapped to letters, "rn" read as "m" and "vv" as "w", separators dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache

from confusable_homoglyphs import confusables

from ..context import ScreenContext
from ..message import Message
from ..normalise import MAX_MARKS, compile_words, matching_form
from ..scans import MATCHING
from ..verdict import StageResult
from .links import find_links

_ROLE = (
    r"host|co-?host|facilitator|co-?facilitator|cofac|moderator|mod|admin|administrator|chair|"
    r"chairperson|organi[sz]er|staff|haven (?:staff|team|support)|support team|security"
)
_CLAIM = compile_words(
    # "I'm the host." / "this is your moderator" / "I'm a mod here", but not
    # "I'm the host of a dinner" or "I'm a secretary at a law firm".
    r"(?:im|i am|this is) (?:the|your|ur|ya) (?:new |real |official )?(?:" + _ROLE + r")"
    r"(?= *(?:$|[.,!:;\-]|here|of (?:this|the) (?:meeting|room|group|chat)|today|tonight|now|"
    r"and (?:i|you|we|everyone)|so|everyone|please|pls))"
    r"|(?:im|i am) (?:a|an) (?:" + _ROLE + r") (?:here|in this (?:meeting|room|chat))"
    r"|as (?:the|your|ur|a) (?:"
    + _ROLE
    + r")(?: of this (?:meeting|room|group))?,? (?:i|we|you|please|everyone)"
    r"|(?:" + _ROLE + r"|system|haven) (?:here|speaking|message|notice|announcement|alert)"
    r"|^\[?(?:" + _ROLE + r"|system|haven)\]? ?[:\]\-]"
    r"|official (?:haven )?(?:announcement|notice|message)"
)
_MOVE = compile_words(
    r"(?:this|the|our) (?:meeting|room|group|chat|session) (?:has |is |was |will be )?"
    r"(?:moved|moving|relocat\w*|closing|closed|switching|changed|migrat\w*)"
    r"|(?:new|real|actual|official) (?:meeting |room |group )?link"
    r"|verify your (?:account|identity|email|phone)"
)
_IMPERATIVE = compile_words(
    r"everyone (?:go|join|leave|move|click|head|switch)|(?:join|go to|click|use) (?:the |this |"
    r"our )?(?:new |real )?(?:link|room|meeting)"
)

_G_CLAIM = MATCHING.add(_CLAIM)
_G_MOVE = MATCHING.add(_MOVE)
_G_IMPERATIVE = MATCHING.add(_IMPERATIVE)


class ImpersonationStage:
    name = "impersonation"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        if ctx.is_facilitator:
            return None
        text = msg.matching
        admitted = msg.matching_admitted()
        claim = bool(admitted & _G_CLAIM) and _CLAIM.search(text) is not None
        if not claim and admitted & _G_MOVE and _MOVE.search(text):
            claim = (
                bool(admitted & _G_IMPERATIVE) and _IMPERATIVE.search(text) is not None
            ) or bool(find_links(msg.display, msg.display_admitted()))
        if not claim:
            return None
        return StageResult("impersonation", ctx.policy.impersonation, ("impersonation.claim",))


# ---------------------------------------------------------------------------------------------
# Pseudonyms

MAX_NAME_CHARS = 32
RESERVED_WORDS = frozenset(
    {
        "host", "cohost", "admin", "administrator", "moderator", "mod", "facilitator",
        "cofacilitator", "cofac", "chair", "chairperson", "staff", "system", "haven",
        "official", "support", "organizer", "organiser", "security",
    }
)  # fmt: skip
_LEET_DIGITS = str.maketrans(
    {"0": "o", "1": "l", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g", "$": "s",
     "@": "a", "!": "i", "|": "l"}
)  # fmt: skip
_MULTI = (("rn", "m"), ("vv", "w"))


@lru_cache(maxsize=1024)
def _char_skeleton(ch: str) -> str:
    found = confusables.is_confusable(ch, preferred_aliases=["latin"])
    if found:
        for glyph in found[0]["homoglyphs"]:
            c = str(glyph["c"])
            if c.isascii() and c.isalnum():
                return c.lower()
    return ch


def skeleton(name: str) -> str:
    """A canonical form of a name under which look-alike names are equal."""
    s = unicodedata.normalize("NFKC", name).casefold()
    s = "".join(
        c
        for c in unicodedata.normalize("NFKD", s)
        if unicodedata.category(c)[0] not in "MC" and not c.isspace()
    )
    s = "".join(_char_skeleton(c) if not c.isascii() else c for c in s)
    s = s.translate(_LEET_DIGITS)
    s = "".join(c for c in s if c.isalnum())
    for a, b in _MULTI:
        s = s.replace(a, b)
    # "l" and "i" are interchangeable in most fonts ("Iggy" / "lggy").
    s = s.replace("l", "i")
    return re.sub(r"(.)\1+", r"\1", s)


def is_confusable(name: str, other: str) -> bool:
    """True when ``name`` and ``other`` look alike (or are equal) once reduced to skeletons."""
    a, b = skeleton(name), skeleton(other)
    return bool(a) and a == b


_CAMEL = re.compile(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+")


def _words(name: str) -> set[str]:
    nfkc = unicodedata.normalize("NFKC", name)
    words = {w.lower() for w in _CAMEL.findall(nfkc)}
    words |= set(re.split(r"[^a-z0-9]+", matching_form(nfkc)))
    words |= {w.translate(_LEET_DIGITS) for w in words}
    return words


def pseudonym_problem(name: str, facilitator_names: Iterable[str] = ()) -> str | None:
    """Why ``name`` cannot be used as a member's pseudonym, or None when it can.

    Codes: ``name.invisible`` (control, format, bidi or zero-width characters),
    ``name.length`` (not 1-32 characters after NFKC and trimming), ``name.no_letters``,
    ``name.marks`` (stacked combining marks), ``name.mixed_script`` (look-alike letters from
    another script mixed in), ``name.reserved`` (claims a role: host, admin, moderator...),
    ``name.confusable`` (looks like a facilitator's name). The rooms core should reject the
    join with 422 and show a message per code; it should also strip surrounding spaces.
    What a name says (abuse, contact details, selling) is ``names.name_content_problem``'s.
    """
    for ch in name:
        cat = unicodedata.category(ch)
        if cat[0] == "C" or ch in "\u115f\u1160\u3164\uffa0\u17b4\u17b5\u2028\u2029":
            return "name.invisible"
    nfkc = unicodedata.normalize("NFKC", name).strip()
    if not 1 <= len(nfkc) <= MAX_NAME_CHARS:
        return "name.length"
    if not any(c.isalnum() for c in nfkc):
        return "name.no_letters"
    run = 0
    for ch in nfkc:
        run = run + 1 if unicodedata.category(ch)[0] == "M" else 0
        if run > MAX_MARKS:
            return "name.marks"
    if confusables.is_dangerous(nfkc, preferred_aliases=["latin"]):
        return "name.mixed_script"
    if _words(nfkc) & RESERVED_WORDS:
        return "name.reserved"
    if any(is_confusable(nfkc, other) for other in facilitator_names):
        return "name.confusable"
    return None
