"""Anonymity guard: personal data that could identify the sender.

Finds, on the display form (case matters for names):

- ``pii.phone``: phone numbers, with ``phonenumbers.PhoneNumberMatcher`` over a few regions
  plus common written formats (fictional 555 numbers included); crisis and help lines
  (``policy.DEFAULT_ALLOWED_NUMBERS``, ``policy.allowed_numbers``, the care card's numbers)
  are never flagged;
- ``pii.email``: e-mail addresses, including "name at gmail dot com";
- ``pii.handle``: social handles introduced by a platform ("add me on snap: x", "my ig is
  @x", "@x on insta") and profile URLs (instagram.com/x, t.me/x, ...);
- ``pii.address``: a street address (number + street name + Street/Ave/Rd/...);
- ``pii.name``: a full name after "my name is", "I'm", "call me", "this is"; a first name
  alone is how people introduce themselves in these rooms ("I'm Sam, alcoholic") and is fine;
  a surname after "my last name is" counts;
- ``pii.workplace``: "I work at <Capitalised name>", "I'm a nurse at <Name>"; lower
  confidence, but a named employer plus a first name is often enough to find someone.

Outcome: ``warn`` (the message is not sent; the sender may send anyway, ``ctx.confirmed``) or,
when ``policy.redact_pii``, ``redact`` (the spans are replaced by ``[hidden]``).
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from phonenumbers import phonenumbermatcher as _pnm
from phonenumbers.re_util import fullmatch

from ..context import ScreenContext
from ..message import Message
from ..policy import DEFAULT_ALLOWED_NUMBERS
from ..scans import DISPLAY
from ..verdict import Span, StageResult

PHONE_REGIONS: tuple[str, ...] = ("US", "GB", "IN", "AU", "CA", "NG", "ZA", "IE", "NZ")
_MIN_PHONE_DIGITS = 7

# Written formats phonenumbers may reject (fictional 555 numbers, unassigned ranges) but that
# a reader still takes for a phone number. Slashes are excluded: those are dates.
_PHONE_FORMATS = re.compile(
    r"(?<![\w/.,:+])(?:"
    r"(?:\+?1[\s.\-]?)?\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4}"  # (415) 555-2671, 555-123-4567
    r"|(?:\+?1)?\d{10}"  # 4155552671
    r"|\+\d{1,3}(?:[\s.\-]?\d){7,12}"  # +44 7911 123456
    r"|0\d{2,4}[\s.\-]?\d{3,4}[\s.\-]?\d{3,4}"  # 07911 123456, 0412 345 678
    r"|\d{5}\s\d{5}"  # 98765 43210
    r"|\d{3}[\s.\-]\d{4}"  # 555-1234
    r")(?![\w/])"
)
# The same matches, found faster: written to start with the character before the number (the
# regex engine then skips the letters and digits in between); run on " " + text, spans from
# group 1, one to the left. After a match, which ends with a digit, the next one cannot start
# at once, in either form.
assert _PHONE_FORMATS.pattern.startswith(r"(?<![\w/.,:+])")
_PHONE_FORMATS_SCAN = re.compile(
    r"[^\w/.,:+](" + _PHONE_FORMATS.pattern.removeprefix(r"(?<![\w/.,:+])") + ")"
)
_DATE_LIKE = re.compile(r"^\d{4}[\-.]\d{2}[\-.]\d{2}$|^\d{2}[\-.]\d{2}[\-.]\d{4}$")

_EMAIL = re.compile(
    r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
    r"|[A-Za-z0-9._%+\-]+\s*(?:\(at\)|\[at\]|\sat\s)\s*(?:gmail|googlemail|yahoo|hotmail|outlook|"
    r"icloud|proton(?:mail)?|aol|live|msn|gmx|mail|yandex|comcast|me|ymail)\s*"
    r"(?:\.|\(dot\)|\[dot\]|\sdot\s)\s*(?:com|net|org|co\.uk|co|me|de|fr|ru|uk)\b",
    re.IGNORECASE,
)

_PLATFORM = (
    r"insta(?:gram)?|ig|snap(?:chat)?|sc|tik ?tok|tt|fb|facebook|twitter|x|discord|telegram|tg|"
    r"whats ?app|wa|kik|reddit|threads|bluesky|bsky|signal|venmo|cash ?app|youtube|yt|twitch|"
    r"linkedin|tumblr|skype|wechat|viber|messenger|onlyfans"
)
_HANDLE = r"@?[A-Za-z0-9_][\w.\-#]{1,30}[A-Za-z0-9_]"
_NOT_HANDLE = frozenset(
    {"me", "is", "at", "on", "and", "or", "the", "if", "it", "my", "pls", "please", "too",
     "anytime", "sometime", "later", "now", "dm", "add", "find", "follow", "so", "lol", "i", "im",
     "link", "bio", "here", "there", "tonight", "today", "sometimes", "instead", "there's"}
)  # fmt: skip
_HANDLE_AFTER_PLATFORM = re.compile(
    r"(?:(?:find|add|follow|dm|message|msg|hmu|hit me up|reach|contact|text|ping)"
    r"(?: me)?(?: up)?(?: on| at| via| @))\s+(?:" + _PLATFORM + r")\b"
    r"(?:\s*(?:is|:|=|-|,|handle is|username is|name is|im|i'm|as)?\s*)"
    r"(?:(?:im|i'm|it's|its)\s+)?(" + _HANDLE + r"(?:\s[A-Z][a-z]+)?)"
    r"|\bmy\s+(?:" + _PLATFORM + r")\b(?:\s*(?:is|:|=|-|handle is|username is|name is)\s*"
    r"(?:(?:im|i'm|it's|its)\s+)?(" + _HANDLE + r")|\s+(@[\w.\-]{2,30}))",
    re.IGNORECASE,
)
# "snap me, username is x": a platform named anywhere, then a username or handle.
_PLATFORM_WORD = re.compile(r"\b(?:" + _PLATFORM + r")\b", re.IGNORECASE)
_USERNAME = re.compile(
    r"\b(?:user ?name|handle|user|id|tag|add me|i'm|im)\s*(?:is|:|=|-)?\s*"
    r"(@?[A-Za-z0-9_][\w.\-#]{2,30})",
    re.IGNORECASE,
)
_HANDLE_SHAPE = re.compile(r"^@|[_.\d#]")
# "snapchat is mikey_sober", "insta: sober.sue": without "my", only a handle-shaped word or a
# colon counts ("signal is bad here" is about reception).
_PLATFORM_COLON = re.compile(
    r"\b(?:" + _PLATFORM + r")(?:\s+(?:handle|username|name))?"
    r"(?:\s*[:=@]\s*(" + _HANDLE + r")|\s+is\s+(@?[A-Za-z0-9]*[_.\d][\w.\-#]*[A-Za-z0-9_])"
    r"|\s+is\s+((?-i:[A-Z][a-z]+\s[A-Z][a-z]+)))",
    re.IGNORECASE,
)
_AT_ON_PLATFORM = re.compile(
    r"(?<![\w@])(@[A-Za-z0-9_][\w.\-]{1,30})\s+(?:on|on my|at)\s+(?:" + _PLATFORM + r")\b",
    re.IGNORECASE,
)
_PROFILE_URL = re.compile(
    r"(?:https?://)?(?:www\.|m\.)?(?:instagram\.com|facebook\.com|fb\.com|fb\.me|tiktok\.com|"
    r"twitter\.com|x\.com|t\.me|wa\.me|snapchat\.com|linkedin\.com|reddit\.com|youtube\.com|"
    r"twitch\.tv|threads\.net|bsky\.app|venmo\.com|cash\.app|onlyfans\.com)/[^\s]+",
    re.IGNORECASE,
)

_STREET = (
    r"Street|St|Avenue|Ave|Road|Rd|Lane|Ln|Boulevard|Blvd|Drive|Dr|Court|Ct|Place|Pl|Terrace|"
    r"Circle|Cir|Highway|Hwy|Parkway|Pkwy|Close|Crescent|Cres|Square|Sq|Trail|Grove|Gardens|Mews"
)
_ADDRESS_TITLE = re.compile(
    r"(?<![\w/])\d{1,5}[A-Za-z]?\s+(?:[A-Z][a-z'\-]+\.?\s+){1,3}(?:" + _STREET + r")\b\.?"
    r"(?:,?\s+(?:apt|apartment|unit|flat|suite|#)\.?\s*\w+)?"
)
_ADDRESS_CONTEXT = re.compile(
    r"(?:live|living|lives|stay|staying|i'm|im|i am|we're|located|address is|house is|"
    r"place is|come (?:over )?to|at)\s+(?:at\s+|on\s+)?"
    r"(\d{1,5}[a-z]?\s+(?:[a-z][a-z'\-]+\.?\s+){1,3}(?:" + _STREET + r")\b\.?"
    r"(?:,?\s+(?:apt|apartment|unit|flat|suite|#)\.?\s*\w+)?)",
    re.IGNORECASE,
)

# Capitalised words that follow "I'm" without being names ("I'm Really Grateful").
_NOT_NAMES_TEXT = """
    a an the so really very just not still here back new feeling doing going good fine ok okay
    grateful happy sad sober clean tired scared proud glad sorry also too finally always never
    only now today in on at from with getting trying having being struggling thankful blessed
    angry mad done ready sure afraid worried nervous excited home sick lost alive free alcoholic
    addict recovering member newcomer sober-curious and but or of for to your ur this that it
    step day days week month year years god higher power big book hi hello hey thanks thank
    pretty kind kinda sort super totally completely honestly literally actually definitely
    currently truly better worse great well fucking bloody damn bit little trying living loving
    one two three four five six seven eight nine ten first last late early mr mrs ms dr
"""
_NOT_NAMES = frozenset(_NOT_NAMES_TEXT.split())
# "Sam", "O'Brien", "McDonald", "Lopez-Hart".
_NAME_WORD = r"[A-Z](?:[a-z]+|['\u2019][A-Z][a-z]+)(?:[A-Z][a-z]+)?(?:-[A-Z][a-z]+)?"
_FULL_NAME = re.compile(
    r"(?i:\b(?:my (?:full |real )?name is|my name's|i'm|i am|im|call me|this is|it's|its|"
    r"name:))\s+(" + _NAME_WORD + r"(?:\s+[A-Z]\.)?\s+" + _NAME_WORD + r")\b"
)
_SURNAME = re.compile(
    r"\b(?:my (?:last|family|sur) ?name(?: is|'s|:)|my surname(?: is|'s|:))\s+([A-Za-z][\w'\-]+)",
    re.IGNORECASE,
)
_ORG = r"(?:the\s+)?([A-Z][\w&'\u2019.\-]*(?:\s+(?:of\s+)?[A-Z][\w&'\u2019.\-]*){0,3})"
_WORKPLACE = re.compile(
    r"(?i:\b(?:i|we) (?:work|am working|'m working) (?:at|for|in)|"
    r"\b(?:i'm|i am|im) (?:a|an) [a-z]+(?: [a-z]+)? (?:at|for))\s+" + _ORG
)


def _digits(s: str) -> str:
    if s.isascii():
        return s.translate(_ONLY_DIGITS)
    return "".join(filter(str.isdigit, s))


_ONLY_DIGITS = str.maketrans("", "", "".join(chr(c) for c in range(128) if not chr(c).isdigit()))


def _digit_count(s: str) -> int:
    """``sum(c.isdigit() for c in s)``; on ASCII text, one translation in C."""
    if s.isascii():
        return len(s.translate(_ONLY_DIGITS))
    return sum(map(str.isdigit, s))


_SAME_LINE = 7  # digits from which a line may be written with or without a country code
_CODE = 3  # digits a country code may add


def _is_allowed_number(digits: str, allowed: frozenset[str]) -> bool:
    if digits in allowed:
        return True
    # The same line written with or without its country code ("1-800-..." / "800-..."):
    # ``digits`` ends with an allowed number at most three digits shorter, or an allowed
    # number ends with ``digits`` and is at most three digits longer (both of 7+ digits).
    if len(digits) < _SAME_LINE:
        return False
    longer, endings = _allowed_index(allowed)
    return digits in endings or any(
        digits[k:] in longer for k in range(min(_CODE, len(digits) - _SAME_LINE) + 1)
    )


@lru_cache(maxsize=32)
def _allowed_index(allowed: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    """The allowed numbers of 7+ digits, and their endings of 7+ digits dropping at most 3."""
    longer = frozenset(a for a in allowed if len(a) >= _SAME_LINE)
    endings = frozenset(a[k:] for a in longer for k in range(_CODE + 1) if len(a) - k >= _SAME_LINE)
    return longer, endings


# Any run of digits with phone punctuation: the places worth asking phonenumbers about.
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d\s().\-]{5,}\d")

# --- Asking phonenumbers only where it can find something ------------------------------------
#
# PhoneNumberMatcher walks a text from candidate to candidate (and to the "inner" candidates of
# one that does not parse); the region is used only to parse each one. So one walk in which
# nothing parses (``_Attempts``) lists what it tries in every region, and a candidate can only
# be a VALID number in one of PHONE_REGIONS if it passes the matcher's region-free checks
# (brackets, page ranges, letters around it) and, written nationally, some ending of its digits
# matches a number type of a region sharing the country code (after a country code, national
# prefix or carrier code is stripped, the rest is an ending; none of PHONE_REGIONS has a
# national-prefix rewrite rule). Written internationally (a plus, an international dialling
# prefix) or with letters (extensions), it is always asked. A region's matcher is run only when
# one of its candidates parses; until then its result is known to be empty.


@dataclass(frozen=True, slots=True)
class _RegionRule:
    """What a nationally written number must look like to be VALID in a region."""

    bit: int
    country_code: str
    prefixes: tuple[re.Pattern[str], ...]  # national prefixes for parsing (the region's, main's)
    types: re.Pattern[str]  # number types of every region sharing the country code


def _phone_prefilter() -> tuple[tuple[_RegionRule, ...], re.Pattern[str], re.Pattern[str]] | None:
    """Per-region rules, the international dialling prefixes of PHONE_REGIONS and a regex for
    an ending that is a number type of any of them; None when the installed phonenumbers does
    not fit the reasoning above (then every run is asked)."""
    try:
        from phonenumbers import PhoneMetadata
        from phonenumbers.phonenumberutil import (
            COUNTRY_CODE_TO_REGION_CODE,
            country_code_for_region,
            region_code_for_country_code,
        )

        types = ("fixed_line", "mobile", "toll_free", "premium_rate", "shared_cost",
                 "personal_number", "voip", "pager", "uan", "voicemail")  # fmt: skip
        rules: list[_RegionRule] = []
        idd: set[str] = set()
        every: set[str] = set()
        for k, region in enumerate(PHONE_REGIONS):
            code = country_code_for_region(region)
            main = PhoneMetadata.metadata_for_region(region_code_for_country_code(code))
            meta = PhoneMetadata.metadata_for_region(region)
            if meta is None or main is None or not meta.international_prefix:
                return None
            idd.add(meta.international_prefix)
            prefixes = []
            for m in (meta, main):
                if m.national_prefix_transform_rule:
                    return None
                if m.national_prefix_for_parsing:
                    prefixes.append(re.compile(m.national_prefix_for_parsing))
            patterns: set[str] = set()
            for other in COUNTRY_CODE_TO_REGION_CODE[code]:
                other_meta = PhoneMetadata.metadata_for_region(other)
                if other_meta is None:
                    return None
                for name in types:
                    desc = getattr(other_meta, name)
                    if desc is not None and desc.national_number_pattern:
                        patterns.add(desc.national_number_pattern)
            if any(re.search(r"[$^]|\\[bBAZ]|\(\?[=!<]", p) for p in patterns):
                return None
            alternation = re.compile("(?:" + "|".join(sorted(patterns)) + ")")
            rules.append(_RegionRule(1 << k, str(code), tuple(prefixes), alternation))
            every |= patterns
        return (
            tuple(rules),
            re.compile("(?:" + "|".join(sorted(idd)) + ")"),
            re.compile("(?:" + "|".join(sorted(every)) + r")\Z"),
        )
    except Exception:  # noqa: BLE001 - any surprise only turns the prefilter off
        return None


_PHONE_PREFILTER = _phone_prefilter()
_ALL_REGIONS = (1 << len(PHONE_REGIONS)) - 1
_ASKED_ANYWAY = re.compile(r"[^\W\d_]|[#;,*+\uff0b]")  # letters (extensions) or a plus
_NOT_PLAIN = re.compile(r"[^\W\d_]|[#;,*]")  # letters (extensions) and the like
_NUMBER_START = re.compile(r"[+\uff0b\d]")  # where parse() starts reading a number


def _plus_written(candidate: str) -> bool:
    """A plus, then digits and phone punctuation only: parse() reads the country code from
    the number and ignores the region."""
    if _NOT_PLAIN.search(candidate):
        return False
    start = _NUMBER_START.search(candidate)
    return start is not None and start.group() in "+\uff0b"


def _national_endings(digits: str, rule: _RegionRule) -> set[str]:
    """The national significant numbers parsing ``digits`` in the region can leave: its own
    country code stripped when the digits start with it, then up to two national prefixes."""
    starts = {0, len(rule.country_code)} if digits.startswith(rule.country_code) else {0}
    for _ in range(2):
        for k in list(starts):
            for prefix in rule.prefixes:
                m = prefix.match(digits, k)
                if m is not None:
                    starts.add(m.end())
    return {digits[k:] for k in starts}


class _Attempts(PhoneNumberMatcher):
    """Records the candidates PhoneNumberMatcher tries in a text when none of them parses (at
    most ``limit``: phonenumbers' own ``max_tries``)."""

    def __init__(self, text: str, limit: int) -> None:
        super().__init__(text, PHONE_REGIONS[0], leniency=Leniency.VALID, max_tries=limit)
        self.tried: list[tuple[str, int]] = []

    def _parse_and_verify(self, candidate: str, offset: int) -> None:
        self.tried.append((candidate, offset))


def _may_parse(candidate: str, offset: int, text: str) -> int:
    """The regions of PHONE_REGIONS (bits) in which ``PhoneNumberMatcher._parse_and_verify``
    may accept ``candidate``: 0 when it fails in all (see above). Its region-free checks are
    repeated as written; the cheapest tests come first (every one is necessary)."""
    assert _PHONE_PREFILTER is not None
    rules, international, any_ending = _PHONE_PREFILTER
    regions = _ALL_REGIONS
    if _plus_written(candidate):
        # Written with a plus: the country code comes from the number, and so does every
        # other step of parse(): the same answer in every region; asking the first suffices
        # (the loop over regions stops at the first that finds something).
        regions = 1
    elif not _ASKED_ANYWAY.search(candidate):
        if candidate.isascii():
            digits = candidate.translate(_ONLY_DIGITS)
        else:
            digits = phonenumbers.normalize_digits_only(candidate)
        if international.match(digits) is None:
            # A national significant number has at most _MAX_NSN digits: is any ending of
            # the last ones a number type anywhere (one search), then per region exactly.
            if any_ending.search(digits[-_MAX_NSN:]) is None:
                return 0
            regions = 0
            for rule in rules:
                if any(
                    len(nsn) <= _MAX_NSN and rule.types.fullmatch(nsn)
                    for nsn in _national_endings(digits, rule)
                ):
                    regions |= rule.bit
            if not regions:
                return 0
    if not fullmatch(_pnm._MATCHING_BRACKETS, candidate) or _pnm._PUB_PAGES.search(candidate):
        return 0
    if offset > 0 and not _pnm._LEAD_PATTERN.match(candidate):
        previous = text[offset - 1]
        if PhoneNumberMatcher._is_invalid_punctuation_symbol(
            previous
        ) or PhoneNumberMatcher._is_latin_letter(previous):
            return 0
    last = offset + len(candidate)
    if last < len(text):
        following = text[last]
        if PhoneNumberMatcher._is_invalid_punctuation_symbol(
            following
        ) or PhoneNumberMatcher._is_latin_letter(following):
            return 0
    return regions


_MAX_NSN = 17  # phonenumbers' _MAX_LENGTH_FOR_NSN
# Bounded work on pathological text (hundreds of digits with spaces): phonenumbers costs ~20 us
# a candidate and region. Per message, at most this many digit runs, candidates and parses, and
# no run longer than _MAX_RUN_CHARS; past them, digit runs are left to the written formats
# (_PHONE_FORMATS). Real messages stay far below (a phone number is one short run of a few
# candidates).
_MAX_RUNS = 6
_MAX_RUN_CHARS = 200
_MAX_ATTEMPTS = 120
_MAX_PARSES = 3 * len(PHONE_REGIONS)


class _Budget:
    __slots__ = ("attempts", "parses", "runs")

    def __init__(self) -> None:
        self.runs, self.attempts, self.parses = _MAX_RUNS, _MAX_ATTEMPTS, _MAX_PARSES

    @property
    def spent(self) -> bool:
        return self.runs <= 0 or self.attempts <= 0 or self.parses <= 0


def _matcher_hits(window: str, region: str) -> list[phonenumbers.PhoneNumberMatch]:
    return [
        match
        for match in PhoneNumberMatcher(window, region, leniency=Leniency.VALID)
        if phonenumbers.is_valid_number(match.number)
    ]


def _region_hits(window: str, allowed: frozenset[str], budget: _Budget) -> list[tuple[int, int]]:
    """The original per-region loop over one digit run, asking only where it can matter."""
    budget.runs -= 1
    if _PHONE_PREFILTER is None:
        plan: list[tuple[str, int, int]] | None = None
    else:
        walk = _Attempts(window, budget.attempts)
        for _ in walk:
            pass
        budget.attempts -= len(walk.tried)
        if budget.attempts <= 0:
            return []  # cut short: left to the written formats
        plan = [(c, o, r) for c, o in walk.tried if (r := _may_parse(c, o, window))]
        if not plan:
            return []
    found: list[tuple[int, int]] = []
    for k, region in enumerate(PHONE_REGIONS):
        if plan is not None:
            # The first candidate that parses for this region is where its matcher stops
            # first; none parses: it finds nothing.
            mine = [(c, o) for c, o, r in plan if r >> k & 1]
            if not mine:
                continue
            if budget.parses < len(mine):
                budget.parses = 0
                return found  # left to the written formats
            budget.parses -= len(mine)
            probe = PhoneNumberMatcher(window, region, leniency=Leniency.VALID)
            first = next(
                (m for c, o in mine if (m := probe._parse_and_verify(c, o)) is not None), None
            )
            if first is None:
                continue
            if not _HAS_DIGIT.search(window, first.end):
                # Nothing after it: the region's matcher would find this one number only.
                hits = [first] if phonenumbers.is_valid_number(first.number) else []
            else:
                hits = _matcher_hits(window, region)
        else:
            hits = _matcher_hits(window, region)
        if hits:
            for match in hits:
                number = match.number
                full = str(number.country_code) + str(number.national_number)
                if not (
                    _is_allowed_number(full, allowed)
                    or _is_allowed_number(_digits(match.raw_string), allowed)
                ):
                    found.append((match.start, match.end))
            break
    return found


def _phones(display: str, allowed: frozenset[str]) -> list[tuple[int, int]]:
    """Phone numbers: written formats first, then phonenumbers for the remaining digit runs.

    PhoneNumberMatcher over the whole text for nine regions costs ~2 ms; run on the few digit
    runs no written format explains, and only where a number can be (see above), it costs
    nothing on most messages.
    """
    if _digit_count(display) < _MIN_PHONE_DIGITS:
        return []
    found: list[tuple[int, int]] = []
    for m in _PHONE_FORMATS_SCAN.finditer(" " + display):
        raw = m.group(1)
        digits = _digits(raw)
        if (
            len(digits) >= _MIN_PHONE_DIGITS
            and not _DATE_LIKE.match(raw)
            and not _is_allowed_number(digits, allowed)
        ):
            found.append((m.start(1) - 1, m.end(1) - 1))
    budget = _Budget()
    for run in _DIGIT_RUN.finditer(display):
        start, end = run.span()
        if end - start > _MAX_RUN_CHARS:
            continue  # not one phone number: left to the written formats
        if len(_digits(run.group(0))) < _MIN_PHONE_DIGITS or any(
            s <= start < e or s < end <= e for s, e in found
        ):
            continue
        if budget.spent:
            break
        window = display[max(0, start - 1) : end + 1]
        offset = max(0, start - 1)
        found.extend((offset + s, offset + e) for s, e in _region_hits(window, allowed, budget))
    return found


# Every regex below is prefiltered on the literal strings its matches need (scans.DISPLAY):
# the functions take the text's mask of admitted patterns (``_ALL``: run everything).
# An e-mail address needs an "@" or, spelled out, a provider name: the second alternative of
# _EMAIL, registered on its own as a prefilter gate (it is never run).
_G_EMAIL_SPELLED = DISPLAY.add(
    re.compile(_EMAIL.pattern.split("|[A-Za-z0-9._%+", 1)[1].join(["[A-Za-z0-9._%+", ""]), re.I)
)
_G_HANDLE_AFTER_PLATFORM = DISPLAY.add(_HANDLE_AFTER_PLATFORM)
_G_PLATFORM_COLON = DISPLAY.add(_PLATFORM_COLON)
_G_AT_ON_PLATFORM = DISPLAY.add(_AT_ON_PLATFORM)
_G_PLATFORM_WORD = DISPLAY.add(_PLATFORM_WORD)
_G_USERNAME = DISPLAY.add(_USERNAME)
_G_PROFILE_URL = DISPLAY.add(_PROFILE_URL)
_G_ADDRESS_TITLE = DISPLAY.add(_ADDRESS_TITLE)
_G_ADDRESS_CONTEXT = DISPLAY.add(_ADDRESS_CONTEXT)
_G_FULL_NAME = DISPLAY.add(_FULL_NAME)
_G_SURNAME = DISPLAY.add(_SURNAME)
_G_WORKPLACE = DISPLAY.add(_WORKPLACE)
_HANDLE_GATES = _G_HANDLE_AFTER_PLATFORM | _G_PLATFORM_COLON | _G_AT_ON_PLATFORM | _G_PROFILE_URL
_USERNAME_GATES = _G_PLATFORM_WORD | _G_USERNAME
_ADDRESS_GATES = _G_ADDRESS_TITLE | _G_ADDRESS_CONTEXT
_NAME_GATES = _G_FULL_NAME | _G_SURNAME
_HAS_DIGIT = re.compile(r"\d")
# What a full name needs after its introduction: a word ending in a lower-case letter, then a
# capitalised word (the last name, or a middle initial first).
_NAME_PAIR = re.compile(r"[a-z]\s+(?:[A-Z]\.\s+)?[A-Z](?:[a-z]|['\u2019][A-Z])")
# _FULL_NAME up to its name's first letters, written to start with the character before the
# introduction (run on " " + text: \b before a letter is a non-word character before it).
_NAME_INTRO = re.compile(
    r"\W(?i:my (?:full |real )?name is|my name's|i'm|i am|im|call me|this is|it's|its|"
    r"name:)\s+[A-Z](?:[a-z]|['\u2019][A-Z])"
)
# What a match of _ADDRESS_TITLE or of _ADDRESS_CONTEXT contains (case aside): a digit, one to
# three words, a street word.
_ADDRESS_CORE = re.compile(
    r"\d[a-z]?\s+(?:[a-z][a-z'\-]+\.?\s+){1,3}(?:" + _STREET + r")\b", re.IGNORECASE
)
# What a match of _EMAIL contains: "@" and a domain, or "at" and a provider then a dot.
_EMAIL_CORE = re.compile(
    r"@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}"
    r"|(?:\(at\)|\[at\]|\sat\s)\s*(?:gmail|googlemail|yahoo|hotmail|outlook|icloud|"
    r"proton(?:mail)?|aol|live|msn|gmx|mail|yandex|comcast|me|ymail)\s*(?:\.|\(dot\)|\[dot\]|"
    r"\sdot\s)",
    re.IGNORECASE,
)
_ALL = -1


# Characters no match of _EMAIL holds (non-word, not in "._%+-@()[]", not space), and of
# _FULL_NAME (non-word, not in "'’:-.", not space): runs of other characters are independent
# for them (a \b at a run's end sees the same non-word character either way), so they run
# only over the runs holding a hit of their necessary part (_EMAIL_CORE, _NAME_INTRO).
_EMAIL_RUN = re.compile(r"[\w.%+\-@()\[\]\s]+")
_NAME_RUN = re.compile(r"[\w'\u2019:\-.\s]+")


def _finditer_near(
    pattern: re.Pattern[str], runs: re.Pattern[str], hits: list[int], text: str
) -> list[re.Match[str]]:
    """``pattern.finditer(text)``, run only over the runs of ``runs`` holding a position of
    ``hits``: the same matches when every match lies in one run and holds a hit."""
    spans = [m.span() for m in runs.finditer(text)]
    starts = [start for start, _ in spans]
    out: list[re.Match[str]] = []
    done: set[int] = set()
    for position in hits:
        k = bisect_right(starts, position) - 1
        if k < 0 or k in done or position >= spans[k][1]:
            continue
        done.add(k)
        out.extend(pattern.finditer(text, *spans[k]))
    out.sort(key=lambda m: m.start())
    return out


def _names(display: str, bits: int = _ALL) -> list[tuple[int, int]]:
    out = []
    intros = (
        [m.start() for m in _NAME_INTRO.finditer(" " + display)]
        if bits & _G_FULL_NAME and _NAME_PAIR.search(display)
        else []
    )
    if intros:
        for m in _finditer_near(_FULL_NAME, _NAME_RUN, intros, display):
            # Split on any whitespace: the names may be separated by a tab or a line break.
            words = m.group(1).split()
            first, last = words[0], words[-1]
            if first.lower() in _NOT_NAMES or last.lower().strip("'\u2019") in _NOT_NAMES:
                continue
            out.append(m.span(1))
    if bits & _G_SURNAME:
        for m in _SURNAME.finditer(display):
            if m.group(1).lower() not in _NOT_NAMES:
                out.append(m.span(1))
    return out


def _handles(display: str, bits: int = _ALL) -> list[tuple[int, int]]:
    out = []
    for pattern, gate in (
        (_HANDLE_AFTER_PLATFORM, _G_HANDLE_AFTER_PLATFORM),
        (_PLATFORM_COLON, _G_PLATFORM_COLON),
        (_AT_ON_PLATFORM, _G_AT_ON_PLATFORM),
    ):
        if not bits & gate:
            continue
        for m in pattern.finditer(display):
            group = next(i for i in range(1, (m.lastindex or 1) + 1) if m.group(i) is not None)
            handle = m.group(group)
            if handle.lower().lstrip("@") in _NOT_HANDLE:
                continue
            out.append(m.span(group))
    if bits & _G_PLATFORM_WORD and bits & _G_USERNAME and _PLATFORM_WORD.search(display):
        for m in _USERNAME.finditer(display):
            handle = m.group(1)
            # Only handle-shaped tokens: "im tyler_22", not "im new".
            if handle.lower().lstrip("@") not in _NOT_HANDLE and _HANDLE_SHAPE.search(handle):
                out.append(m.span(1))
    if bits & _G_PROFILE_URL:
        out.extend(m.span() for m in _PROFILE_URL.finditer(display))
    return out


def _addresses(display: str, bits: int = _ALL) -> list[tuple[int, int]]:
    if _HAS_DIGIT.search(display) is None or _ADDRESS_CORE.search(display) is None:
        return []  # both need a house number, words and a street
    out: list[tuple[int, int]] = []
    if bits & _G_ADDRESS_TITLE:
        out.extend(m.span() for m in _ADDRESS_TITLE.finditer(display))
    if bits & _G_ADDRESS_CONTEXT:
        out.extend(m.span(1) for m in _ADDRESS_CONTEXT.finditer(display))
    return out


def _workplaces(display: str, bits: int = _ALL) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    if not bits & _G_WORKPLACE:
        return out
    for m in _WORKPLACE.finditer(display):
        org = m.group(1).rstrip(".")
        if org.split()[0].lower() in _NOT_NAMES or org == "I":
            continue
        out.append((m.start(1), m.start(1) + len(org)))
    return out


_KINDS = (
    ("pii.phone", None),
    ("pii.email", _EMAIL),
    ("pii.handle", None),
    ("pii.address", None),
    ("pii.name", None),
    ("pii.workplace", None),
)


_DEFAULT_ALLOWED = frozenset(DEFAULT_ALLOWED_NUMBERS)


def find_pii(
    display: str, allowed_numbers: Iterable[str] = (), bits: int | None = None
) -> list[tuple[int, int, str]]:
    """Personal data in a display-form text, as sorted, non-overlapping ``(start, end, reason)``.

    Pure and deterministic; the web client can call the same rules (through the server's
    ``haven moderation check`` or a port) to warn before sending. ``bits``: the text's
    ``scans.DISPLAY`` mask of admitted patterns, when known (computed here otherwise).
    """
    if bits is None:
        bits = DISPLAY.admitted(display)
    hits: list[tuple[int, int, str]] = []
    if _digit_count(display) >= _MIN_PHONE_DIGITS:
        extra = frozenset(_digits(n) for n in allowed_numbers)
        allowed = _DEFAULT_ALLOWED | extra if extra else _DEFAULT_ALLOWED
        hits += [(s, e, "pii.phone") for s, e in _phones(display, allowed)]
    at_sign = "@" in display
    if (at_sign or bits & _G_EMAIL_SPELLED) and (
        at_sign or " at " in display.lower() or "(at)" in display or "[at]" in display
    ):
        cores = [m.start() for m in _EMAIL_CORE.finditer(display)]
        if cores:
            matches = _finditer_near(_EMAIL, _EMAIL_RUN, cores, display)
            hits += [(m.start(), m.end(), "pii.email") for m in matches]
    if bits & _HANDLE_GATES or bits & _USERNAME_GATES == _USERNAME_GATES:
        hits += [(s, e, "pii.handle") for s, e in _handles(display, bits)]
    if bits & _ADDRESS_GATES:
        hits += [(s, e, "pii.address") for s, e in _addresses(display, bits)]
    if bits & _NAME_GATES:
        hits += [(s, e, "pii.name") for s, e in _names(display, bits)]
    if bits & _G_WORKPLACE:
        hits += [(s, e, "pii.workplace") for s, e in _workplaces(display, bits)]
    if not hits:
        return hits
    return _merge(hits)


def _merge(hits: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Sort and merge overlapping hits; the earliest-found reason of an overlap is kept."""
    order = {reason: i for i, (reason, _) in enumerate(_KINDS)}
    hits.sort(key=lambda h: (h[0], -h[1], order[h[2]]))
    merged: list[tuple[int, int, str]] = []
    for s, e, reason in hits:
        if s >= e:
            continue
        if merged and s < merged[-1][1]:
            ps, pe, pr = merged[-1]
            merged[-1] = (ps, max(pe, e), pr)
        else:
            merged.append((s, e, reason))
    return merged


class PiiStage:
    name = "pii"

    def __init__(self, allowed_numbers: Iterable[str] = ()) -> None:
        self._allowed = tuple(allowed_numbers)

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        policy = ctx.policy
        if not policy.redact_pii and ctx.confirmed:
            return None
        hits = find_pii(msg.display, self._allowed + policy.allowed_numbers, msg.display_admitted())
        if not hits:
            return None
        reasons = tuple(dict.fromkeys(reason for _, _, reason in hits))
        spans = tuple(Span(s, e, "pii") for s, e, _ in hits)
        return StageResult("pii", policy.action_for("pii"), reasons, spans)
