"""Text normalisation: the display form (what is delivered) and the matching form (what rules see).

Display form, ``display_text(text)``:
  1. drop invisible and direction-changing characters: bidi embeddings, overrides and
     isolates, zero-width spaces, soft hyphens, tag characters, other format (Cf) and control
     (Cc) characters except newline and tab, lone surrogates; keep ZWJ/ZWNJ only between two
     characters that stay non-ASCII (emoji sequences, Indic and Arabic scripts), because next
     to ASCII they only serve to split words past a filter;
  2. group each base character with its combining marks and keep at most ``MAX_MARKS``
     marks (zalgo text stacks dozens);
  3. NFKC each group (fullwidth and mathematical letters become plain letters).
  The result keeps case, digits and punctuation, and an offset map back to the original, so
  spans found on it (PII, links) can be reported on the text the sender typed.

Matching form, ``matching_form(text)``: the display form casefolded, accents stripped,
homoglyphs (Cyrillic/Greek look-alikes, confusables) and leetspeak inside words mapped to
ASCII letters, apostrophes inside words dropped ("i'm" -> "im"), every run of a repeated
non-digit character collapsed to one ("sooo" -> "so", "kill" -> "kil"), whitespace collapsed.
Rules are written in natural spelling and folded the same way (``fold_pattern``). No offset
map: rules that need spans run on the display form.

Both forms are idempotent (a property test checks it), pure and allocation-light; ASCII text
takes a fast path.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

from confusable_homoglyphs import confusables

MAX_MARKS = 3
"""Combining marks kept per base character: enough for Vietnamese and Indic clusters."""

_ZW_JOINERS = frozenset("\u200c\u200d")
# Format characters that are legitimate in right-to-left text and harmless: kept for display,
# removed in the matching form.
_KEEP_FORMAT = frozenset("\u200e\u200f\u061c")
_LINE_BREAKS = {"\u2028": "\n", "\u2029": "\n", "\r": ""}
# Hangul fillers render as blank space and are a classic way to make an invisible name.
_INVISIBLE_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u17b4\u17b5\u034f")


@lru_cache(maxsize=4096)
def _drop_kind(ch: str) -> int:
    """0 keep, 1 drop, 2 zero-width joiner (kept only between non-ASCII neighbours)."""
    if ch in _ZW_JOINERS:
        return 2
    if ch in _INVISIBLE_LETTERS:
        return 1
    cat = unicodedata.category(ch)
    if cat == "Cf":
        return 0 if ch in _KEEP_FORMAT else 1
    if cat == "Cs":
        return 1
    if cat == "Cc":
        return 0 if ch in "\n\t" else 1
    return 0


@lru_cache(maxsize=4096)
def _stays_non_ascii(ch: str) -> bool:
    return not any(c.isascii() for c in unicodedata.normalize("NFKC", ch))


def _attaches(ch: str) -> bool:
    """True when ``ch`` belongs to the cluster of the character before it."""
    if unicodedata.category(ch)[0] == "M" or unicodedata.combining(ch):
        return True
    # Hangul vowel and final jamo compose with the preceding syllable under NFKC.
    o = ord(ch)
    return 0x1160 <= o <= 0x11FF or 0xD7B0 <= o <= 0xD7FF


class DisplayText(NamedTuple):
    """The display form and, when it differs from the original, its offset map.

    ``starts[i]``/``ends[i]`` give the original range that produced display character ``i``.
    ``starts is None`` means the display form equals the original (identity map). (A named
    tuple: built once per message, it costs a fraction of a frozen dataclass.)
    """

    text: str
    starts: tuple[int, ...] | None = None
    ends: tuple[int, ...] | None = None

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open display range to the original text (empty ranges stay empty)."""
        if self.starts is None or self.ends is None:
            return start, end
        if start >= end or not self.starts:
            pos = self.starts[start] if start < len(self.starts) else (self.ends or (0,))[-1]
            return pos, pos
        return self.starts[start], self.ends[end - 1]


_ASCII_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


def display_text(text: str) -> DisplayText:
    """The display form of ``text`` with its offset map (see the module docstring)."""
    if text.isascii():
        if _ASCII_CONTROL.search(text) is None:
            return DisplayText(text)
        keep = [i for i, c in enumerate(text) if _ASCII_CONTROL.match(c) is None]
        return DisplayText("".join(text[i] for i in keep), tuple(keep), tuple(i + 1 for i in keep))
    # Most non-ASCII messages (emoji, accented or non-Latin letters) are already in display
    # form: nothing to drop, no combining marks, NFKC-stable. One look per distinct character.
    if all(map(_plain, set(text))) and unicodedata.is_normalized("NFKC", text):
        return DisplayText(text)
    return _display_unicode(text)


@lru_cache(maxsize=8192)
def _plain(ch: str) -> bool:
    """True when ``ch`` passes through steps 1-3 unchanged whatever surrounds it (in NFKC
    text): not dropped, not a joiner or line separator, not attached to its neighbour."""
    return ch not in _LINE_BREAKS and _drop_kind(ch) == 0 and not _attaches(ch)


def _display_unicode(text: str) -> DisplayText:
    """Steps 1-3 of the module docstring. Characters are classified once each (cached); the
    few that are dropped, joiners, attached marks or changed by NFKC are handled one by one,
    the runs of ordinary characters between them are copied in bulk with their offsets."""
    distinct = set(text)
    if (
        all(_step1(c) == c for c in distinct)
        and _ZW_JOINERS.isdisjoint(distinct)
        and unicodedata.is_normalized("NFKC", text)
        and all(e - s <= MAX_MARKS for s, e in _runs(text, filter(_attaches_cached, distinct)))
    ):
        # Nothing dropped, every cluster NFKC-stable and within the cap: the text itself.
        return DisplayText(text)
    chars, pos = _drop_invisible(text)
    chars, pos = _drop_loose_joiners(chars, pos)
    result, starts, ends = _clusters(chars, pos)
    if result == text:
        return DisplayText(text)
    return DisplayText(result, tuple(starts), tuple(ends))


def _marked(text: str, chars: Iterable[str]) -> list[int]:
    """Positions in ``text`` of the characters in ``chars``."""
    wanted = "".join(sorted(chars))
    if not wanted:
        return []
    if len(wanted) == 1:
        out = []
        i = text.find(wanted)
        while i != -1:
            out.append(i)
            i = text.find(wanted, i + 1)
        return out
    return [m.start() for m in _char_class(wanted).finditer(text)]


def _runs(text: str, chars: Iterable[str]) -> list[tuple[int, int]]:
    """Spans of the runs in ``text`` of characters in ``chars``."""
    wanted = "".join(sorted(chars))
    if not wanted:
        return []
    return [m.span() for m in _char_run(wanted).finditer(text)]


@lru_cache(maxsize=256)
def _char_class(chars: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(chars) + "]")


@lru_cache(maxsize=256)
def _char_run(chars: str) -> re.Pattern[str]:
    return re.compile("[" + re.escape(chars) + "]+")


@lru_cache(maxsize=8192)
def _step1(ch: str) -> str:
    """Step 1 for one character: itself, its replacement ("\n"), or "" when dropped."""
    ch2 = _LINE_BREAKS.get(ch, ch)
    if not ch2 or _drop_kind(ch2) == 1:
        return ""
    return ch2


def _drop_invisible(text: str) -> tuple[str, list[int]]:
    """Step 1: the kept characters and, for each, its position in ``text``."""
    changed = {c: r for c in set(text) if (r := _step1(c)) != c}
    n = len(text)
    if not changed:
        return text, list(range(n))
    chars = text.translate({ord(c): r for c, r in changed.items()})
    pos: list[int] = []
    previous = 0
    for start, end in _runs(text, [c for c, r in changed.items() if not r]):
        pos.extend(range(previous, start))
        previous = end
    pos.extend(range(previous, n))
    return chars, pos


def _drop_loose_joiners(chars: str, pos: list[int]) -> tuple[str, list[int]]:
    """Joiners survive only between two characters that stay non-ASCII after NFKC (their
    neighbours as step 1 left them)."""
    joiners = _marked(chars, _ZW_JOINERS.intersection(chars))
    if not joiners:
        return chars, pos
    n = len(chars)
    gone = set()
    for k in joiners:
        left = chars[k - 1] if k > 0 else ""
        right = chars[k + 1] if k + 1 < n else ""
        if not (left and right and _stays_non_ascii(left) and _stays_non_ascii(right)):
            gone.add(k)
    if not gone:
        return chars, pos
    keep = [k for k in range(n) if k not in gone]
    return "".join(chars[k] for k in keep), [pos[k] for k in keep]


@lru_cache(maxsize=8192)
def _attaches_cached(ch: str) -> bool:
    return _attaches(ch)


@lru_cache(maxsize=8192)
def _single(ch: str) -> str:
    """Steps 2-3 for a character alone in its cluster."""
    return _cap_cluster_string(unicodedata.normalize("NFKC", ch))


def _clusters(chars: str, pos: list[int]) -> tuple[str, list[int], list[int]]:
    """Steps 2-3: each character with the marks attached to it, marks capped, NFKC."""
    distinct = set(chars)
    attaching = [c for c in distinct if _attaches_cached(c)]
    altered = [c for c in distinct if c not in attaching and _single(c) != c]
    m = len(chars)
    # Clusters of more than one character: a character and the marks after it (a mark at the
    # start is a cluster's first character itself).
    spans = [(first - 1 if first > 0 else 0, end) for first, end in _runs(chars, attaching)]
    singles = _marked(chars, altered)
    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    done = 0

    def copy(upto: int) -> None:
        if upto > done:
            out.append(chars[done:upto])
            starts.extend(pos[done:upto])
            ends.extend(map((1).__add__, pos[done:upto]))

    # A changed character that is a cluster's base is done with its cluster (longest first).
    events = sorted([*spans, *((k, k + 1) for k in singles)], key=lambda se: (se[0], -se[1]))
    for s, e in events:
        if s < done:
            continue
        copy(s)
        if e - s == 1:
            normal = _single(chars[s])
        else:
            cluster = chars[s : min(e, s + 1 + MAX_MARKS)]
            normal = _cap_cluster_string(unicodedata.normalize("NFKC", cluster))
        out.append(normal)
        starts.extend([pos[s]] * len(normal))
        ends.extend([pos[e - 1] + 1] * len(normal))
        done = e
    copy(m)
    return "".join(out), starts, ends


def _cap_cluster_string(s: str) -> str:
    """Re-apply the mark cap after NFKC, which can expand one character into a cluster."""
    if len(s) <= MAX_MARKS + 1:
        return s
    out: list[str] = []
    run = 0
    for c in s:
        if out and _attaches(c):
            run += 1
            if run > MAX_MARKS:
                continue
        else:
            run = 0
        out.append(c)
    return "".join(out)


def display_form(text: str) -> str:
    """The display form of ``text`` (the text to deliver), without the offset map."""
    return display_text(text).text


# ---------------------------------------------------------------------------------------------
# Matching form


def _build_homoglyphs() -> dict[int, str]:
    table: dict[int, str] = {}
    for ch, entries in confusables.confusables_data.items():
        if len(ch) != 1 or ch.isascii():
            continue
        cands = [
            e["c"] for e in entries if len(e["c"]) == 1 and e["c"].isascii() and e["c"].isalnum()
        ]
        if not cands:
            continue
        lower = [c for c in cands if c.islower()]
        alpha = [c.lower() for c in cands if c.isalpha()]
        table[ord(ch)] = (lower or alpha or cands)[0]
    # Lowercase Cyrillic and Greek letters that read as Latin ones once the text is casefolded
    # (the confusables data lists only the capital look-alikes for these).
    for src, dst in {
        "в": "b",
        "к": "k",
        "м": "m",
        "н": "h",
        "т": "t",
        "п": "n",
        "и": "u",
        "г": "r",
        "ь": "b",
        "ы": "bi",
        "ч": "4",
        "з": "3",
        "α": "a",
        "β": "b",
        "ε": "e",
        "η": "n",
        "ι": "i",
        "κ": "k",
        "ν": "v",
        "ο": "o",
        "ρ": "p",
        "τ": "t",
        "υ": "u",
        "χ": "x",
        "ω": "w",
        "ѕ": "s",
    }.items():
        table[ord(src)] = dst
    # Typographic punctuation to ASCII, so that rules see one apostrophe and one dash.
    for src, dst in {
        "\u2018": "'",
        "\u2019": "'",
        "\u02bc": "'",
        "\u2032": "'",
        "`": "'",
        "\u00b4": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": "-",
        "\u2014": "-",
        "\u2212": "-",
        "\u2026": ".",
        "\u200e": "",
        "\u200f": "",
        "\u061c": "",
        "\u200c": "",
        "\u200d": "",
        "\ufe0f": "",
        "\ufe0e": "",
    }.items():
        table[ord(src)] = dst
    return table


_HOMOGLYPHS = _build_homoglyphs()
_HOMOGLYPH_CHARS = frozenset(map(chr, _HOMOGLYPHS))

# Leetspeak: symbols and digits standing for letters inside words.
_LEET = str.maketrans(
    {
        "0": "o",
        "1": "i",
        "3": "e",
        "4": "a",
        "5": "s",
        "7": "t",
        "8": "b",
        "9": "g",
        "@": "a",
        "$": "s",
        "!": "i",
        "|": "i",
        "€": "e",
        "£": "l",
    }
)
_LEET_CHARS = frozenset("01345789@$!|€£")
_TOKEN = re.compile(r"\S+")
# A whole token (as _TOKEN) holding an ASCII letter that _leet_token changes: one with a leet
# character in its body, after the leading "@#" and (for "!", itself trailing punctuation)
# before the trailing punctuation.
_LEET_TOKEN = re.compile(
    r"(?<!\S)(?=\S*?[a-z])(?>[@#]*)"
    r"(?=\S*?(?:[013457-9@$|€£]|!(?=\S*?[^\s!?.,;:'\"])))\S+"
)
# Whitespace other than single spaces: what _SPACES would change besides the ends. Every
# whitespace character but the space is unprintable (``str.isprintable``, one C pass at a
# quarter of this search's cost), so a printable text is only searched for double spaces.
_ODD_SPACE = re.compile(r"[^\S ]|  ")
_LEET_CHAR = re.compile(r"[01345789@$!|€£]")


def _collapse_repeats(s: str) -> str:
    """``re.sub(r"([^\\d])\\1+", r"\\1", s)``: every run of a repeated non-digit character made
    one.

    Deleting each character that the next one repeats (an empty replacement) keeps the
    substitution in C; a group reference in the replacement costs a call back into Python per
    run. The pattern starts with the character itself rather than a look-behind (about a fifth
    faster on chat-sized text than ``(?<=(\\D))\\1+``), and takes any character first and asks
    whether it is a digit only where the next one repeats it: ``(\\D)`` tests every position,
    and costs a third more on chat-sized text. The same output."""
    return _REPEATED_NEXT.sub("", s)


# A number with a short unit or ordinal suffix ("1st", "90days", "3am", "10mg") is not leet.
_NUMBER_WITH_SUFFIX = re.compile(r"[#@]?\d+(?:[.,:/]\d+)*[a-z]{0,5}[.,!?;:]*")
# An apostrophe between two letters. Written to start with the apostrophe (the regex engine
# then jumps between apostrophes instead of trying every position); the same matches as
# (?<=[^\W\d_])'(?=[^\W\d_]).
_WORD_APOSTROPHE = re.compile(r"'(?<=[^\W\d_]')(?=[^\W\d_])")
_REPEATED_NEXT = re.compile(r"(?s)(.)(?=\1)(?<=\D)")
_SPACES = re.compile(r"\s+")
_HAS_ASCII_LETTER = re.compile(r"[a-z]")


def _leet_token(match: re.Match[str]) -> str:
    token = match.group(0)
    if not _LEET_CHARS.intersection(token) or _HAS_ASCII_LETTER.search(token) is None:
        return token
    if _NUMBER_WITH_SUFFIX.fullmatch(token):
        return token
    # Leading @/# (mentions, tags) and trailing punctuation keep their meaning.
    lead = len(token) - len(token.lstrip("@#"))
    body_end = len(token.rstrip("!?.,;:'\""))
    if body_end <= lead:
        return token
    return token[:lead] + token[lead:body_end].translate(_LEET) + token[body_end:]


@lru_cache(maxsize=8192)
def _is_mark(c: str) -> bool:
    return bool(unicodedata.combining(c)) or unicodedata.category(c)[0] == "M"


def _strip_marks(s: str) -> str:
    decomposed = unicodedata.normalize("NFKD", s)
    if decomposed.isascii():
        return decomposed
    marks = [c for c in set(decomposed) if _is_mark(c)]
    if marks:
        decomposed = decomposed.translate(dict.fromkeys(map(ord, marks)))
    return unicodedata.normalize("NFC", decomposed)


def matching_form(text: str) -> str:
    """The matching form of ``text`` (see the module docstring). Idempotent."""
    return matching_form_of_display(display_text(text).text)


def matching_form_of_display(display: str) -> str:
    """The matching form of a text already in display form (saves one pass)."""
    s = display.casefold()
    if not s.isascii():
        s = _strip_marks(s)
        if not _HOMOGLYPH_CHARS.isdisjoint(s):
            s = s.translate(_HOMOGLYPHS)
        s = s.casefold()
        if not s.isascii():
            s = _strip_marks(s)
    s = _collapse_repeats(_WORD_APOSTROPHE.sub("", s))
    # Only tokens holding both a leet character and a letter can change (see _leet_token).
    leet = _LEET_TOKEN.sub(_leet_token, s) if _LEET_CHAR.search(s) else s
    # Leet can turn a digit beside an apostrophe into a letter ("0'a"), and collapsing can
    # bring an apostrophe between two letters ("o''a"): drop them again. When nothing changes,
    # the text has no repeats left to collapse.
    again = _WORD_APOSTROPHE.sub("", leet) if "'" in leet else leet
    if again != s:
        s = _collapse_repeats(again)
    if ("  " not in s and s.isprintable()) or _ODD_SPACE.search(s) is None:
        return s.strip(" ")
    return _SPACES.sub(" ", s).strip()


# Runs of three or more single characters separated by spaces or dots ("k y s", "f.a.g"), and
# separators inside a word ("k-y-s", "f_a_g"): joined for word-list lookups only.
_SPACED_LETTERS = re.compile(r"(?<![^\W_])(?:[^\W\d_][ .\-_*]){2,}[^\W\d_](?![^\W_])")
# Written to start with a separator (see _WORD_APOSTROPHE); the same matches as
# (?<=[^\W\d_])[.\-_*]+(?=[^\W\d_]).
_INNER_SEPARATORS = re.compile(r"[.\-_*](?<=[^\W\d_][.\-_*])[.\-_*]*(?=[^\W\d_])")


_SEPARATOR_CHARS = re.compile(r"[ .\-_*]")


def squeezed_form(matching: str) -> str:
    """``matching`` with spaced-out and separator-split words joined, for word lookups."""
    s = _SPACED_LETTERS.sub(lambda m: _SEPARATOR_CHARS.sub("", m.group(0)), matching)
    s = _INNER_SEPARATORS.sub("", s)
    return _collapse_repeats(s)


# What a match of _SPACED_LETTERS needs: its last two letters, each a word of its own.
_SPACED_TAIL = re.compile(r"[ .\-_*][^\W\d_][ .\-_*][^\W\d_](?![^\W_])")


def squeezed_of_matching(matching: str) -> str:
    """``squeezed_form`` of a matching form: a matching form has no repeated characters left,
    so when nothing is joined it is its own squeezed form."""
    s = matching
    if _SPACED_TAIL.search(s):
        s = _SPACED_LETTERS.sub(lambda m: _SEPARATOR_CHARS.sub("", m.group(0)), s)
    s = _INNER_SEPARATORS.sub("", s)
    return matching if s == matching else _collapse_repeats(s)


_FOLD_REPEATS = re.compile(r"(?<!\\)([a-z])\1+")


def fold_pattern(pattern: str) -> str:
    """Fold a regex written in natural spelling so it matches the matching form.

    Collapses doubled letters ("kill" -> "kil") and drops apostrophes, exactly as the matching
    form does. Escapes are left alone ("\\ss" stays), so write ``\\b``-free patterns with
    ``re.compile(fold_pattern(...))`` and use explicit word boundaries ``(?<![a-z0-9])``.
    """
    return _FOLD_REPEATS.sub(r"\1", pattern.replace("'", ""))


WB = r"(?<![a-z0-9])"
"""Left word boundary for matching-form patterns."""
WE = r"(?![a-z0-9])"
"""Right word boundary for matching-form patterns."""


def compile_words(pattern: str) -> re.Pattern[str]:
    """Compile a natural-spelling pattern for the matching form, anchored on word boundaries."""
    return re.compile(WB + "(?:" + fold_pattern(pattern) + ")" + WE)
