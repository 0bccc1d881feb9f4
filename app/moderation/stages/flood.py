"""Flood and repetition: duplicate and near-duplicate messages, mass mentions, character floods.

Rate limits live in the rooms core; this stage judges content. Duplicates are compared with the
sender's recent messages in matching form, so "HELLO!!!" and "hello!" are the same message.
Short phrases ("thank you", "thanks for sharing") are said many times in a meeting, so exact
repeats count only from ``_MIN_DUP_CHARS`` characters, or from the third time. A crisis
message is never held back by this stage (a person may well repeat a cry for help).
"""

from __future__ import annotations

import re
from difflib import SequenceMatcher

from rapidfuzz import process
from rapidfuzz.distance import Indel

from ..context import ScreenContext
from ..message import Message
from ..verdict import StageResult

_MIN_DUP_CHARS = 20
_MIN_NEAR_CHARS = 30
_NEAR_RATIO = 0.9
_COMPARE_CHARS = 400  # SequenceMatcher is quadratic: compare prefixes only
_RECENT = 10
_MAX_MENTIONS = 4
_MENTION = re.compile(r"(?<![\w@])@[\w.\-]{1,32}")
# One to 16 characters repeated at least 8 times ("lol lol lol ...", "!!!!...", emoji walls).
_MAX_UNIT = 16
_WINDOW, _STRIDE = 12, 24  # see _may_flood: _STRIDE <= 35 - _WINDOW + 1
_REPEAT_UNIT = re.compile(r"(.{1,16}?)\1{7,}", re.DOTALL)
_MIN_FLOOD_CHARS = 40
_MAX_LINES = 25
_BLANK_LINES = re.compile(r"\n[ \t]*(?:\n[ \t]*){5,}")


def _may_flood(display: str) -> bool:
    """False when no character flood can be found in ``display``.

    A match of ``_REPEAT_UNIT`` with a unit of ``L <= 16`` characters repeated ``k >= 8``
    times and ``kL >= 40`` characters in all has ``kL - L >= 35`` consecutive positions
    ``j`` where ``display[j] == display[j + L]`` (35 at ``L = 5``). So the 12 characters at
    some position that is a multiple of 24 (one lies among the first 24 of those positions)
    occur again at most 16 positions further: one ``str.find`` per 24 characters, where the
    regex tries 16 unit lengths at every position.
    """
    for p in range(0, len(display) - _WINDOW + 1, _STRIDE):
        if display.find(display[p : p + _WINDOW], p + 1, p + _WINDOW + _MAX_UNIT) != -1:
            return True
    return False


def _char_flood(display: str) -> bool:
    if len(display) < _MIN_FLOOD_CHARS or not _may_flood(display):
        return False
    for m in _REPEAT_UNIT.finditer(display):
        unit = m.group(1)
        if m.end() - m.start() >= _MIN_FLOOD_CHARS and (len(unit) > 1 or not unit.isspace()):
            return True
    return False


def _near(key: str, recent: list[str]) -> bool:
    """True when ``key`` is at least 90% similar to one of ``recent`` (difflib ratio).

    difflib's ratio is ``2 * M / total`` where ``M`` counts the characters of matching blocks
    that appear in the same order in both strings: a common subsequence, so ``M`` is at most
    the longest one (LCS), and the InDel distance ``total - 2 * LCS`` (RapidFuzz, bit-parallel
    C++, stops at ``score_cutoff``) bounds the ratio from above. A pair whose InDel distance
    exceeds ``total / 10`` (plus one, against rounding) cannot reach 0.9. One
    ``process.extract`` call measures every recent message in C against the loosest of those
    limits (the longest message's); the few it returns are checked against their own limit,
    and the quadratic matcher is built only for a pair that passes, which in chat is a real
    near-duplicate.
    """
    key = key[:_COMPARE_CHARS]
    size = len(key)
    others = [o[:_COMPARE_CHARS] for o in recent if len(o) >= _MIN_NEAR_CHARS]
    if not others:
        return False
    loosest = int((size + max(map(len, others))) * (1 - _NEAR_RATIO)) + 1
    found = process.extract(key, others, scorer=Indel.distance, score_cutoff=loosest, limit=None)
    matcher: SequenceMatcher[str] | None = None
    for other, distance, _ in found:
        total = size + len(other)
        if 2 * min(size, len(other)) / total < _NEAR_RATIO:
            continue
        if distance > int(total * (1 - _NEAR_RATIO)) + 1:
            continue
        if matcher is None:
            matcher = SequenceMatcher(None, autojunk=False)
            matcher.set_seq2(key)  # seq2 is the one difflib indexes: index the new message once
        matcher.set_seq1(other)
        if matcher.ratio() >= _NEAR_RATIO:
            return True
    return False


class FloodStage:
    name = "flood"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        if ctx.is_facilitator:
            return None
        reasons: list[str] = []
        key = msg.matching
        recent = list(ctx.recent[-_RECENT:])
        if recent and key:
            same = sum(1 for r in recent if r == key)
            if same and (len(key) >= _MIN_DUP_CHARS or same >= 2):
                reasons.append("flood.duplicate")
            elif len(key) >= _MIN_NEAR_CHARS and _near(key, recent):
                reasons.append("flood.near_duplicate")
        if msg.display.count("@") > _MAX_MENTIONS:
            names = {m.group(0).lower() for m in _MENTION.finditer(msg.display)}
            if len(names) > _MAX_MENTIONS:
                reasons.append("flood.mentions")
        if _char_flood(msg.display):
            reasons.append("flood.characters")
        if msg.display.count("\n") >= _MAX_LINES or _BLANK_LINES.search(msg.display):
            reasons.append("flood.lines")
        if not reasons:
            return None
        return StageResult("spam", ctx.policy.spam, tuple(reasons), lifted_by_crisis=True)
