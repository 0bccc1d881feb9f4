"""The moderation algorithms as they were before the speed work, kept as a specification.

``test_fast_paths.py`` checks that each fast path in ``app.moderation`` computes exactly what
these straightforward versions compute (same text, same offsets, same matches). They reuse the
app's tables and regexes, which did not change; only the way they are applied did.
"""

from __future__ import annotations

import re
import unicodedata
from difflib import SequenceMatcher
from functools import cache

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher

from app.moderation import normalise as n
from app.moderation.stages import abuse, crisis, flood, pii

# --- normalise.py -----------------------------------------------------------------------------

_TOKEN = re.compile(r"\S+")
_WORD_APOSTROPHE = re.compile(r"(?<=[^\W\d_])'(?=[^\W\d_])")
_REPEATS = re.compile(r"([^\d])\1+")
_SPACES = re.compile(r"\s+")
_SPACED_LETTERS = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-_*]){2,}[^\W\d_](?![^\W_])")
_INNER_SEPARATORS = re.compile(r"(?<=[^\W\d_])[.\-_*]+(?=[^\W\d_])")


def display_text(text: str) -> n.DisplayText:
    if text.isascii():
        if n._ASCII_CONTROL.search(text) is None:
            return n.DisplayText(text)
        keep = [i for i, c in enumerate(text) if n._ASCII_CONTROL.match(c) is None]
        return n.DisplayText(
            "".join(text[i] for i in keep), tuple(keep), tuple(i + 1 for i in keep)
        )
    chars: list[str] = []
    pos: list[int] = []
    for i, ch in enumerate(text):
        ch = n._LINE_BREAKS.get(ch, ch)
        if not ch or n._drop_kind(ch) == 1:
            continue
        chars.append(ch)
        pos.append(i)
    count = len(chars)
    kept_chars: list[str] = []
    kept_pos: list[int] = []
    for k, ch in enumerate(chars):
        if n._drop_kind(ch) == 2:
            left = chars[k - 1] if k > 0 else ""
            right = chars[k + 1] if k + 1 < count else ""
            if not (left and right and n._stays_non_ascii(left) and n._stays_non_ascii(right)):
                continue
        kept_chars.append(ch)
        kept_pos.append(pos[k])
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    m = len(kept_chars)
    k = 0
    while k < m:
        j = k + 1
        while j < m and n._attaches(kept_chars[j]):
            j += 1
        cluster = "".join(kept_chars[k : min(j, k + 1 + n.MAX_MARKS)])
        normal = n._cap_cluster_string(unicodedata.normalize("NFKC", cluster))
        for c in normal:
            out.append(c)
            starts.append(kept_pos[k])
            ends.append(kept_pos[j - 1] + 1)
        k = j
    result = "".join(out)
    if result == text:
        return n.DisplayText(text)
    return n.DisplayText(result, tuple(starts), tuple(ends))


def _strip_marks(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    kept = "".join(
        c for c in decomposed if not unicodedata.combining(c) and unicodedata.category(c)[0] != "M"
    )
    return unicodedata.normalize("NFC", kept)


def matching_form_of_display(display: str) -> str:
    s = display.casefold()
    if not s.isascii():
        s = _strip_marks(s).translate(n._HOMOGLYPHS).casefold()
        if not s.isascii():
            s = _strip_marks(s)
    s = _WORD_APOSTROPHE.sub("", s)
    s = _REPEATS.sub(r"\1", s)
    s = _TOKEN.sub(n._leet_token, s)
    s = _WORD_APOSTROPHE.sub("", s)
    s = _REPEATS.sub(r"\1", s)
    return _SPACES.sub(" ", s).strip()


def squeezed_form(matching: str) -> str:
    s = _SPACED_LETTERS.sub(lambda m: re.sub(r"[ .\-_*]", "", m.group(0)), matching)
    s = _INNER_SEPARATORS.sub("", s)
    return _REPEATS.sub(r"\1", s)


# --- stages/flood.py ---------------------------------------------------------------------------


def near(key: str, recent: list[str]) -> bool:
    key = key[: flood._COMPARE_CHARS]
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(key)
    for other in recent:
        other = other[: flood._COMPARE_CHARS]
        shorter, longer = sorted((len(key), len(other)))
        if len(other) < flood._MIN_NEAR_CHARS or 2 * shorter / (shorter + longer) < 0.9:
            continue
        matcher.set_seq1(other)
        if matcher.quick_ratio() >= 0.9 and matcher.ratio() >= 0.9:
            return True
    return False


def char_flood(display: str) -> bool:
    if len(display) < flood._MIN_FLOOD_CHARS:
        return False
    for m in flood._REPEAT_UNIT.finditer(display):
        unit = m.group(1)
        if m.end() - m.start() >= flood._MIN_FLOOD_CHARS and (len(unit) > 1 or not unit.isspace()):
            return True
    return False


# --- stages/pii.py -----------------------------------------------------------------------------


def is_allowed_number(digits: str, allowed: frozenset[str]) -> bool:
    if digits in allowed:
        return True
    return any(
        digits.endswith(a)
        and len(digits) - len(a) <= 3
        or a.endswith(digits)
        and len(a) - len(digits) <= 3
        for a in allowed
        if len(a) >= 7 and len(digits) >= 7
    )


def _digits(s: str) -> str:
    return "".join(c for c in s if c.isdigit())


def phones(display: str, allowed: frozenset[str]) -> list[tuple[int, int]]:
    if sum(c.isdigit() for c in display) < pii._MIN_PHONE_DIGITS:
        return []
    found: list[tuple[int, int]] = []
    for m in pii._PHONE_FORMATS.finditer(display):
        raw = m.group(0)
        digits = _digits(raw)
        if (
            len(digits) >= pii._MIN_PHONE_DIGITS
            and not pii._DATE_LIKE.match(raw)
            and not is_allowed_number(digits, allowed)
        ):
            found.append((m.start(), m.end()))
    for run in pii._DIGIT_RUN.finditer(display):
        start, end = run.span()
        if len(_digits(run.group(0))) < pii._MIN_PHONE_DIGITS or any(
            s <= start < e or s < end <= e for s, e in found
        ):
            continue
        window = display[max(0, start - 1) : end + 1]
        offset = max(0, start - 1)
        for region in pii.PHONE_REGIONS:
            hits = [
                match
                for match in PhoneNumberMatcher(window, region, leniency=Leniency.VALID)
                if phonenumbers.is_valid_number(match.number)
            ]
            if hits:
                for match in hits:
                    number = match.number
                    full = str(number.country_code) + str(number.national_number)
                    if not (
                        is_allowed_number(full, allowed)
                        or is_allowed_number(_digits(match.raw_string), allowed)
                    ):
                        found.append((offset + match.start, offset + match.end))
                break
    return found


# --- stages/crisis.py --------------------------------------------------------------------------


def split_clauses(text: str) -> list[str]:
    return [c.strip() for c in crisis._CLAUSES.split(text) if c.strip()]


# --- stages/abuse.py --------------------------------------------------------------------------

_ST_BETWEEN = re.compile(r"[^a-z0-9@$!|*]+")


@cache
def _looking_behind(spaced: str) -> re.Pattern[str]:
    """The gate's sequence regex as it was: a look-behind for a token start, no padding."""
    return re.compile("(?<![^ ])" + spaced.removeprefix(" "))


def safetype_may_flag(display: str) -> bool:
    gate = abuse._SAFETYPE_GATE
    if gate is None or not display.isascii():
        return True
    single, longer = gate
    lowered = display.lower()
    folded = abuse._RUN_TAIL.sub("", lowered.translate(abuse._ST_FOLD))
    if single is not None and single.search(folded):
        return True
    if longer is None:
        return False
    tokens = abuse._ST_EDGES.sub("", _ST_BETWEEN.sub(" ", lowered))
    tokens = abuse._RUN_TAIL.sub("", tokens.translate(abuse._ST_LEET_TABLE))
    return _looking_behind(longer.pattern).search(tokens) is not None
