"""Proof of attendance: a slip for a court, a probation officer or a treatment program, with
nothing kept on the server.

A member in the room asks for a slip (the ``slip`` frame) with the name to print on it. The
answer is a short code, 25 bytes in base32 (40 characters, shown in groups of five). It holds
15 bytes of facts (the meeting's id, its 9 random bytes; the minute the member came into the
room; how many minutes they had been in it when they asked) and a 10-byte tag, an HMAC over the
facts and the name. The facts travel encrypted, under a keystream that the tag selects (a
synthetic-IV construction): the meeting's id is the way into an unlisted meeting, and a slip
goes to courts and files, so nobody without the server's key reads it off the paper. The name
itself is not in the code: whoever checks the slip enters the code and the name as printed
(``/verify``), and the server decrypts the facts and computes the tag again. Nothing about a
slip is stored: the code carries its facts and the key (derived from the server's secret)
vouches for them. A wrong name, a changed time and a made-up code fail alike.

What it proves: that someone in this meeting's room from one time to another asked for a slip
under this name. Meetings are anonymous, so the server cannot know who that someone is; the
person checking decides what the name on the paper is worth, as with a chairperson's signature
on an attendance sheet. A new server secret makes every earlier slip fail to verify.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import unicodedata
from dataclasses import dataclass

from app.rooms.types import MeetingId

MEETING_BYTES = 9
MAC_BYTES = 10
CODE_BYTES = MEETING_BYTES + 4 + 2 + MAC_BYTES
CODE_CHARS = 40
MAX_MINUTES = 0xFFFF
MINUTE_MS = 60_000
NAME_CHARS = 80
FACT_BYTES = MEETING_BYTES + 4 + 2
# Characters people misread when they type a code from paper, as base32 reads them.
_LOOKALIKES = str.maketrans({"0": "O", "1": "I", "8": "B"})
# What a name's comparison form folds: the apostrophes and quotes that phones put in for "'",
# and every dash for "-" ("O’Brien" checks out as "O'Brien", "Anne–Marie" as "Anne-Marie"),
# the accents of Latin letters ("José" as "Jose", "Łukasz" as "Lukasz"), but not the marks
# that make another letter in other scripts (Japanese voicing marks, Thai tones, Hebrew vowel
# points): "ボブ" and "ホフ" are two names.
_APOSTROPHES = "\u2018\u2019\u201b\u2032\u02bc\u00b4`"
_LATIN_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ı": "i"})


def _latin_accent(c: str) -> bool:
    """A combining diacritical mark of the Latin script's blocks."""
    return "\u0300" <= c <= "\u036f" or "\u1ab0" <= c <= "\u1aff" or "\u1dc0" <= c <= "\u1dff"


def printable_name(raw: str) -> str | None:
    """The name as it goes on a slip: NFKC, spaces collapsed; None when it holds a control,
    format or unassigned character (nothing a printed page can show), or is too long."""
    name = " ".join(unicodedata.normalize("NFKC", raw).split())
    if len(name) > NAME_CHARS or any(unicodedata.category(c).startswith("C") for c in name):
        return None
    return name if name_key(name) else None  # marks alone: nothing to compare


def name_key(name: str) -> bytes:
    """What the tag covers of a name: what the person checking may type differently from the
    paper does not count (case, spacing, accents, the kind of apostrophe or dash)."""
    decomposed = unicodedata.normalize("NFKD", name.casefold().translate(_LATIN_LETTERS))
    folded = []
    for c in decomposed:
        if _latin_accent(c):
            continue
        if c in _APOSTROPHES:
            c = "'"
        elif unicodedata.category(c) == "Pd":
            c = "-"
        folded.append(c)
    return " ".join(unicodedata.normalize("NFKC", "".join(folded)).split()).encode()


@dataclass(frozen=True, slots=True)
class Slip:
    meeting: MeetingId
    entered_minute: int
    """Minutes since the Unix epoch (UTC) when the member came into the room."""
    minutes: int
    """How long they had been in the room when they asked."""
    code: str

    @property
    def entered_ms(self) -> int:
        return self.entered_minute * MINUTE_MS

    @property
    def until_ms(self) -> int:
        return (self.entered_minute + self.minutes) * MINUTE_MS


class SlipSigner:
    """Issues and checks slips with a key derived from the server's secret."""

    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(f"haven.attendance.v2\x00{secret}".encode()).digest()
        self._stream_key = hashlib.sha256(
            f"haven.attendance.v2.facts\x00{secret}".encode()
        ).digest()

    def _mac(self, facts: bytes, name: str) -> bytes:
        message = facts + b"\x00" + name_key(name)
        return hmac.new(self._key, message, "sha256").digest()[:MAC_BYTES]

    def _masked(self, facts: bytes, tag: bytes) -> bytes:
        """The facts XOR a keystream chosen by the tag: the same call encrypts and decrypts."""
        stream = hmac.new(self._stream_key, tag, "sha256").digest()[:FACT_BYTES]
        return bytes(a ^ b for a, b in zip(facts, stream, strict=True))

    def issue(self, meeting: str, name: str, entered_ms: int, now_ms: int) -> Slip:
        """The slip of someone in ``meeting``'s room since ``entered_ms``, asked for at
        ``now_ms``. Raises ``ValueError`` for a meeting id that is not 9 bytes in base64url
        (every meeting's id is)."""
        raw = _meeting_bytes(meeting)
        if raw is None:
            raise ValueError("not a meeting id")
        entered = entered_ms // MINUTE_MS
        minutes = min(MAX_MINUTES, max(0, now_ms // MINUTE_MS - entered))
        facts = raw + entered.to_bytes(4, "big") + minutes.to_bytes(2, "big")
        tag = self._mac(facts, name)
        code = base64.b32encode(self._masked(facts, tag) + tag).decode()
        return Slip(MeetingId(meeting), entered, minutes, grouped(code))

    def verify(self, code: str, name: str) -> Slip | None:
        """The slip ``code`` stands for if it was issued here for ``name``, else None."""
        compact = compact_code(code)
        if len(compact) != CODE_CHARS:
            return None
        try:
            data = base64.b32decode(compact)
        except (binascii.Error, ValueError):
            return None
        tag = data[-MAC_BYTES:]
        facts = self._masked(data[:-MAC_BYTES], tag)
        if not hmac.compare_digest(tag, self._mac(facts, name)):
            return None
        meeting = base64.urlsafe_b64encode(facts[:MEETING_BYTES]).decode()
        entered = int.from_bytes(facts[MEETING_BYTES : MEETING_BYTES + 4], "big")
        minutes = int.from_bytes(facts[MEETING_BYTES + 4 :], "big")
        return Slip(MeetingId(meeting), entered, minutes, grouped(compact))


def compact_code(code: str) -> str:
    """A code as typed (any case, spaces, dashes, look-alike digits) in its one spelling."""
    return "".join(code.split()).replace("-", "").upper().translate(_LOOKALIKES)


def grouped(code: str) -> str:
    """``ABCDEFGHIJ...`` as ``ABCDE-FGHIJ-...``: easier to read aloud and to type."""
    return "-".join(code[i : i + 5] for i in range(0, len(code), 5))


def _meeting_bytes(meeting: str) -> bytes | None:
    if len(meeting) != 12:
        return None
    try:
        raw = base64.urlsafe_b64decode(meeting)
    except (binascii.Error, ValueError):
        return None
    return raw if base64.urlsafe_b64encode(raw).decode() == meeting else None
