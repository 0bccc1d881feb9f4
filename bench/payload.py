"""Message texts that carry their own send time and unique id, cheap to find in any frame.

Each text is about 140 bytes of ordinary support-meeting chat ending in a reference token
`ref:` + 16 letters (unique id) + 12 letters (intended send time, µs of CLOCK_MONOTONIC,
which every process on the host shares). Numbers are written with the letters a-p instead of
digits so that a moderation pipeline never mistakes them for a phone number, and the token has
no JSON escapes, so it reads the same in a raw frame, a socket.io packet or a Haven event.
"""

from __future__ import annotations

MARK = b"ref:"
UID_LEN = 16
TS_LEN = 12
TOKEN_LEN = len(MARK) + UID_LEN + TS_LEN
TARGET_BYTES = 140

_TO_LETTERS = str.maketrans("0123456789abcdef", "abcdefghijklmnop")
_FROM_LETTERS = bytes.maketrans(b"abcdefghijklmnop", b"0123456789abcdef")

# Ordinary, benign sentences: a moderation pipeline should let every one of them through.
SENTENCES = (
    "Thank you all for being here tonight, it means a lot to me.",
    "I had a hard week but I kept going to my meetings and it helped.",
    "Listening to everyone share reminds me that I am not alone in this.",
    "Today I went for a long walk instead of sitting with my worries.",
    "My sponsor told me to take things one day at a time and I try to.",
    "I am grateful for this group and for the people who keep showing up.",
    "Small steps still count, and this week I took a few of them.",
    "I called a friend when things got difficult and that made a difference.",
    "It is good to hear how others handle the evenings, thank you.",
    "I slept better this week and I feel a bit more hopeful about work.",
    "Sharing here is easier than I expected when I first joined.",
    "I want to thank the facilitator for keeping this space so calm.",
)


def encode_number(value: int, width: int) -> str:
    """`value` in base 16 written with letters a-p, left-padded to `width`.

    Letters sort like the numbers they encode (same width), so windows compare as bytes.
    """
    if value < 0 or value >= 16**width:
        raise ValueError(f"{value} does not fit in {width} letters")
    return f"{value:0{width}x}".translate(_TO_LETTERS)


def decode_number(letters: bytes) -> int:
    return int(letters.translate(_FROM_LETTERS), 16)


def make_uid(sender: int, counter: int) -> int:
    """Unique id of a message: the sender's global index and its own message counter."""
    return (sender << 32) | (counter & 0xFFFFFFFF)


def uid_letters(uid: int) -> str:
    return encode_number(uid, UID_LEN)


def _bodies(size: int) -> tuple[str, ...]:
    room = size - TOKEN_LEN - 1
    out = []
    n = len(SENTENCES)
    for a in range(n):
        parts: list[str] = []
        k = a
        while sum(len(x) + 1 for x in parts) < room:
            parts.append(SENTENCES[k % n])
            k += 5
        out.append(" ".join(parts)[:room].rstrip() + " ")
    return tuple(out)


_BODIES: dict[int, tuple[str, ...]] = {}


def make_text(uid: int, sent_us: int, letters: str | None = None, size: int = TARGET_BYTES) -> str:
    """A chat text of about `size` bytes (default 140) carrying `uid` (or its precomputed
    `letters`) and `sent_us` in its final token."""
    bodies = _BODIES.get(size)
    if bodies is None:
        bodies = _BODIES[size] = _bodies(size)
    body = bodies[uid % len(bodies)]
    return f"{body}ref:{letters or encode_number(uid, UID_LEN)}{encode_number(sent_us, TS_LEN)}"


def find_token(frame: bytes) -> tuple[int, int] | None:
    """(uid, sent_us) of the first token in a frame, or None when the frame carries none."""
    i = frame.find(MARK)
    if i < 0:
        return None
    j = i + len(MARK)
    return (
        decode_number(frame[j : j + UID_LEN]),
        decode_number(frame[j + UID_LEN : j + UID_LEN + TS_LEN]),
    )
