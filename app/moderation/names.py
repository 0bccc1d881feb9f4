"""What a pseudonym says: the chat's stages, asked about a name at join.

``pseudonym_problem`` (``stages/impersonation.py``) judges a name's form: invisible characters,
length, mixed scripts, role words, look-alikes of facilitators. A name is also shown next to
every message its holder sends, to everyone in the room, so what it says is screened too, by
the same pipeline that screens the chat (no word list of its own):

- ``name.abuse``: anything the abuse stage finds (slurs, "kys", threats, ...), and insults
  aimed at someone ("YouIdiot"): an insult word alone is the holder's word for themselves
  ("Junkie", "Grateful Alky"), as people in recovery use them;
- ``name.solicitation``: an offer to sell drugs or commercial spam ("buy xans dm me");
- ``name.contact``: a phone number, e-mail address, social handle, street address or link.
  A link is refused even to a domain the room allows: a name is no place for one. A word
  written "@like_this" is a handle in a name, without the platform the PII stage needs to see
  in a message ("@sam on insta").

A name is screened as typed and, when different, with its words spaced out ("KillYourselfBob"
as "Kill Yourself Bob", "kill_yourself", "Kys4Life"), since rules match words.

Crisis language in a name is never refused (a cry for help is never hidden): ``name_crisis``
returns its kind for the rooms core to answer with the care card and a facilitator alert.

With moderation off (no pipeline), names are not screened and nothing here finds anything.
"""

from __future__ import annotations

import re

from .context import ScreenContext
from .crisis import crisis_kind
from .pipeline import Pipeline
from .policy import Policy
from .verdict import CrisisKind

# Stage reason codes -> name refusal codes, strongest first (the first one found is returned).
_CODES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("name.abuse", ("abuse.",)),
    ("name.solicitation", ("spam.drug_sale", "spam.commercial")),
    ("name.contact", ("pii.phone", "pii.email", "pii.handle", "pii.address", "links.")),
)
# pii.name and pii.workplace are left out: a pseudonym that is a full name is the member's
# choice. Flood, newcomer and impersonation reasons do not apply to a name (role words are
# pseudonym_problem's).

# A member, links blocked whatever the room allows, personal data not confirmed.
_CONTEXT = ScreenContext(policy=Policy(links="block", link_domains=()))

_ADDRESSED = re.compile(r"(?i)(?<![a-z])(?:you|your|youre|u|ur|ya|yall)(?![a-z])")
"""A word that aims a name at someone else ("You Idiot", "UrALoser" spaced out)."""
_AT_HANDLE = re.compile(r"(?<![\w@])@[A-Za-z0-9_][\w.\-]{1,30}")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_LETTER_DIGIT = re.compile(r"(?<=[^\W\d_])(?=\d)|(?<=\d)(?=[^\W\d_])")
_JOINERS = re.compile(r"(?<=\w)[_.\-]+(?=\w)")


def _spaced(name: str) -> str:
    """``name`` with its run-together words spaced: "KillYourselfBob" -> "Kill Yourself Bob",
    "kill_yourself" -> "kill yourself", "Kys4Life" -> "Kys 4 Life"."""
    s = _JOINERS.sub(" ", name).replace("_", " ")
    s = _CAMEL.sub(" ", s)
    return _LETTER_DIGIT.sub(" ", s)


def _forms(name: str) -> tuple[str, ...]:
    spaced = _spaced(name)
    return (name,) if spaced == name else (name, spaced)


def name_content_problem(name: str, pipeline: Pipeline | None) -> str | None:
    """Why what ``name`` says makes it unfit as a pseudonym, or None (always None without a
    pipeline). Codes: ``name.abuse``, ``name.solicitation``, ``name.contact``."""
    if pipeline is None:
        return None
    reasons: list[str] = []
    forms = _forms(name)
    for form in forms:
        reasons.extend(pipeline.screen(form, _CONTEXT).reasons)
    if not any(_ADDRESSED.search(form) for form in forms):
        # A name is its holder's own: the words people in recovery call themselves
        # ("Junkie", "Grateful Alky", "Nobody") are theirs to use, as in the chat; the chat
        # flags such a word standing alone because a one-word message is aimed at someone.
        reasons = [reason for reason in reasons if reason != "abuse.insult"]
    for code, prefixes in _CODES:
        if any(reason.startswith(prefixes) for reason in reasons):
            return code
    if _AT_HANDLE.search(name):
        return "name.contact"
    return None


def name_crisis(name: str, pipeline: Pipeline | None) -> CrisisKind | None:
    """The crisis kind of what ``name`` says ("WantToDieTonight": "suicide"), as
    ``crisis.crisis_kind`` gives it for a message, or None (always None without a pipeline).
    Such a name is not refused; the member gets the care card and facilitators an alert."""
    if pipeline is None:
        return None
    for form in _forms(name):
        kind = crisis_kind(pipeline.screen(form, _CONTEXT))
        if kind is not None:
            return kind
    return None
