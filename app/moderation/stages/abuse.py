"""Harassment and abuse aimed at people: insults, slurs, threats, incitement to self-harm.

Recovery talk is frank: drugs are named, "damn", "shit" and "fuck" are punctuation, people call
themselves junkies and losers, and "kill" shows up in "I wanted to kill the bottle". So this
stage never flags a word alone, except slurs. It flags:

- ``abuse.slur``: a slur from ``data/abuse_terms.txt`` anywhere (matched on the squeezed
  matching form, so "n1gg3r" and "f a g g o t" count);
- ``abuse.insult``: an insult aimed at someone: "you're a worthless junkie", "u r such a
  moron", "you people are disgusting", "cry more, junkie", "what a pathetic loser";
- ``abuse.self_harm_incitement``: "kys", "go kill yourself", "drink yourself to death";
- ``abuse.threat``: "I'll hurt you", "I know where you live", "I hope you overdose";
- ``abuse.exclusion``: "nobody wants you here", "you don't deserve recovery", "get out";
- ``abuse.sexual``: "send nudes" and the like.

Insults are not flagged when negated ("you're not a loser"), reported ("my dad used to call
me a worthless drunk", "don't let anyone tell you you're a loser") or conditional ("if you're
a junkie like me"). The ``safetype`` engine (hate and harassment packs only; its profanity pack
would flag ordinary shares) runs as a second opinion, under the same context checks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import safetype

from ..context import ScreenContext
from ..message import Message
from ..normalise import WB, WE, compile_words, fold_pattern, matching_form
from ..prefilter import _trie_regex
from ..scans import MATCHING
from ..verdict import StageResult

TERMS_FILE = "abuse_terms.txt"


@dataclass(frozen=True, slots=True)
class Terms:
    """The word list, folded to matching form. Multi-word insults are kept as phrases."""

    slurs: frozenset[str]
    insults: tuple[str, ...]
    adjectives: tuple[str, ...]
    allow: frozenset[str]


def parse_terms(text: str) -> Terms:
    """Parse the word-list format of ``data/abuse_terms.txt`` (sections, one term a line)."""
    sections: dict[str, list[str]] = {"slur": [], "insult": [], "insult_adjective": [], "allow": []}
    current: list[str] | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            name = line[1:-1]
            if name not in sections:
                raise ValueError(f"unknown section [{name}] in the abuse word list")
            current = sections[name]
            continue
        if current is None:
            raise ValueError("abuse word list: a term before any [section]")
        current.append(matching_form(line))
    return Terms(
        frozenset(sections["slur"]),
        tuple(sections["insult"]),
        tuple(sections["insult_adjective"]),
        frozenset(sections["allow"]),
    )


@lru_cache(maxsize=1)
def load_terms() -> Terms:
    """The packaged word list (read once)."""
    text = resources.files("app.moderation").joinpath("data", TERMS_FILE).read_text("utf-8")
    return parse_terms(text)


def _alternation(words: tuple[str, ...]) -> str:
    # Longest first so "piece of shit" wins over "piece"; words are already folded.
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_PLURAL = r"(?:s|z|es)?"

# Who an insult is aimed at.
_SUBJECT = (
    r"you|u|ya|ye|youre|your|ur|yer|you are|u are|u r|you r|yall|you all|you guys|you people|"
    r"all of you|this guy|this person"
)
# Words allowed between the subject and the insult. Deliberately no "not"/"feel"/"like".
_FILLER = (
    r"are|r|re|is|all|such|just|nothing|but|a|an|the|one|only|so|really|total|complete|absolute|"
    r"real|fucking|fuckin|fking|fkn|effing|freaking|big|little|damn|bloody|sad|utter|"
    r"dirty|lying|fat|ugly|stupid|dumb|worthless|pathetic|useless|disgusting|no good|"
    r"good for nothing|typical|sorry|f\*+ing|f\*+|fat ugly"
)
_REPORTING = re.compile(
    r"(?<![a-z])(?:tell|tells|told|telling|say|says|said|saying|call|calls|called|calling|"
    r"think|thinks|thought|believe|believed|believing|convinc\w*|let|lets|hear|heard|whisper\w*|"
    r"scream\w*|yell\w*|shout\w*|mean|means|meant|like|voice|voices|quote|used to)(?![a-z])"
)
_CONDITIONAL = re.compile(r"(?:^|[^a-z])(?:if|when|whenever|once|unless|whether|even if)\s*$")
_CLAUSE_BREAK = re.compile(r"[.!?;]| but ")


def _clause_prefix(text: str, start: int) -> str:
    """The text of the clause before ``start`` (back to the last sentence break)."""
    head = text[:start]
    breaks = list(_CLAUSE_BREAK.finditer(head))
    return head[breaks[-1].end() :] if breaks else head


def _clause_text(text: str, start: int) -> str:
    head = _clause_prefix(text, start)
    tail = _CLAUSE_BREAK.split(text[start:], maxsplit=1)[0]
    return head + tail


def _contextual(text: str, start: int) -> bool:
    """True when an insult at ``start`` is reported, quoted or conditional, not aimed."""
    prefix = _clause_prefix(text, start)
    if _CONDITIONAL.search(prefix[-12:]):
        return True
    clause = _clause_text(text, start)
    return _REPORTING.search(clause) is not None


_INCITEMENT = compile_words(
    r"kys|kill (?:your ?self|ur ?self|yourselves|ya ?self|urselves)"
    r"|(?:go|just|pls|please) (?:die|rot|hang yourself|jump off \w+|drown|overdose|od)"
    r"|(?:hang|neck|unalive|off|end|shoot) (?:your ?self|ur ?self)"
    r"|(?:drink|drug|shoot|smoke|snort|use) (?:your ?self|ur ?self) to death"
    r"|go (?:relapse|get high|drink|use)(?: and die| already| again and die)"
    r"|(?<!to )go relapse"
)
_THREAT = compile_words(
    r"(?:i|ill|il|im|imma|i am|i will|i'm gonna|im gonna|i'm going to|we will|well|were gonna)"
    r" (?:gonna |going to |go |come and )?(?:kill|hurt|beat|stab|shoot|punch|slap|rape|murder|"
    r"strangle|choke|smash|fuck up|batter|jump) (?:you|u|ya|yall|you all)"
    r"|(?:beat|kick|knock|slap) the (?:shit|crap|hell|fuck|life|piss) out of (?:you|u|ya)"
    r"|(?:i|ill|il|i will|i'm gonna|im gonna|i'm going to|we will) (?:find|track down|come for|"
    r"get) (?:you|u|ya)(?= *(?:$|[.!,]|and |too))"
    r"|(?:i|ill|i will|i'm gonna|im gonna|i'm going to|imma|we will|we'll)(?: \w+){1,6} and "
    r"(?:kill|hurt|beat|stab|shoot|rape|murder|end) (?:you|u|ya)"
    r"|(?:find|found|know|learn|get) (?:out )?where (?:you|u) (?:live|work|sleep|stay)"
    r"|i know where (?:you|u) (?:live|work|sleep|stay|are)|watch your back"
    r"|you(?:re| are) dead(?! to)"
    r"|(?:i )?hope (?:you|u|ya) (?:(?:just|all|both|fucking|finally|eventually|go|will) )?"
    r"(?:die|dies|overdose|od|relapse|rot|suffer|choke|burn|get hit|crash)"
)
_EXCLUSION = compile_words(
    r"(?:nobody|no one|noone|no body)(?: here| in (?:this|the|here) (?:room|group|meeting|chat))?"
    r" (?:wants|likes|needs|cares about|cares|gives a (?:damn|shit|fuck|crap)(?: about)?|asked)"
    r" (?:for )?(?:you|u|ya|your)"
    r"|(?:you|u) (?:dont|do not|dont even) (?:belong|deserve (?:recovery|sobriety|to be (?:sober|"
    r"clean|here|happy|alive|loved)|to live|your kids|help|this group|us|anything))"
    r"|(?:you|u) deserve (?:to (?:die|suffer|rot|relapse|overdose|od|be alone|lose)|nothing|"
    r"everything bad|to be miserable)"
    r"|(?:^|[,.!?] ?|you |u |just |now )(?:get|go|fuck|piss) (?:the fuck |the hell |the f )?"
    r"(?:out|off)(?: of)? (?:here|this (?:room|meeting|group|chat)|our (?:room|meeting|group))"
    r"|gtfo|stfu|shut the (?:fuck|hell|f|fk) up|shut your (?:mouth|face|trap|hole)"
    r"|(?<!to )(?:fuck|screw|fk|fck|fuk|f) (?:you|u|ya|yourself|urself|off|your \w+)"
    r"|(?:you|u)(?:ll| will|re going to|re gonna| gonna) (?:never (?:stay|get|be|make it)"
    r"(?: (?:sober|clean|better))?|relapse(?: again)?|always be (?:a|an) \w+|die alone)"
    r"(?! *(?:if|unless|without))"
    r"|you should (?:just )?(?:use|drink|drug) again|you should (?:just )?(?:relapse|die|od|"
    r"overdose|give up|kill yourself)(?= *(?:$|[.!,]))"
    r"|cry (?:more|me a river|harder)"
    r"|(?:go|crawl|get) back (?:to|in) (?:the|your) \w+(?: \w+)? where (?:you|u) belong"
    r"|(?:^|[,.!?] ?|you |u |just |now )go back to (?:the gutter|the streets|your crack ?house|"
    r"the trap|your cave|drinking|using)(?= *(?:$|[,.!?]|you|loser|junkie|where))"
    r"|(?:people like you|your kind|you people|all of you|yall|(?:all )?(?:junkies|addicts|"
    r"alcoholics|drunks|crackheads|tweakers|gays|jews|muslims|blacks|immigrants|women|"
    r"trannies)) (?:should|deserve to|need to|ought to|must|better) (?:all |just )?"
    r"(?:die|rot|burn|be shot|be killed|overdose|od|relapse|suffer|kill themselves|hang|go die)"
)
_SEXUAL = compile_words(
    r"send (?:me )?(?:nudes|noods|pics of your|naked)|show (?:me )?(?:your |ur )?(?:tits|boobs|"
    r"dick|cock|pussy|ass|body|nudes)|suck my (?:dick|cock|balls)|(?:i wanna|i want to|lemme|"
    r"let me|gonna) (?:fuck|bang|smash|rape) (?:you|u)|nice (?:tits|ass|rack)|sit on my face"
)


@dataclass(frozen=True, slots=True)
class _Compiled:
    slurs: frozenset[str]
    allow: frozenset[str]
    aimed: re.Pattern[str]
    adjective: re.Pattern[str]
    vocative: re.Pattern[str]
    what_a: re.Pattern[str]


def _compile(terms: Terms) -> _Compiled:
    nouns = "(?:" + _alternation(terms.insults) + ")" + _PLURAL
    adjs = "(?:" + _alternation(terms.adjectives) + ")"
    filler = "(?:" + fold_pattern(_FILLER) + ")"
    subject = "(?:" + fold_pattern(_SUBJECT) + ")"
    aimed = re.compile(WB + subject + r"(?: " + filler + r"){0,4} " + nouns + WE)
    adjective = re.compile(
        WB
        + subject
        + r"(?: (?:are|r|re|is|so|such|really|just|fucking|fking|fkn|too))+ "
        + adjs
        + WE
        + r"|"
        + WB
        + r"(?:you|u|ya) "
        + adjs
        + r"(?: "
        + filler
        + r"){0,2} "
        + nouns
        + WE
    )
    vocative = re.compile(
        r"(?:^|[,:;!?.]) ?(?:hey |oi |yo |shut up |listen )?(?:you |u )?(?:"
        + filler
        + r" ){0,2}"
        + nouns
        # Spaces and ".!?" to the end or a comma. (Was "(?: |[.!?]+|$)*": the same strings,
        # but a quantified group around a quantified class backtracks exponentially on a
        # long run of mixed punctuation not followed by the end: "ok. loser.?.?.?...x".)
        + r"[ .!?]*(?:$|,)"
        + r"|^(?:hey|oi|yo|shut up|stfu|listen|bye|later|fuck off|get lost|go away|bye bye),? "
        + r"(?:you |u )?(?:"
        + filler
        + r" ){0,2}"
        + nouns
        + WE
    )
    what_a = re.compile(
        WB
        + r"what (?:a|an) (?:"
        + filler
        + r" ){0,2}"
        + nouns
        + WE
        + r"(?! *(?:i|im|i am|i was|ive|i have|i felt|i feel|i must|me|my))"
    )
    return _Compiled(terms.slurs, terms.allow, aimed, adjective, vocative, what_a)


_DEFAULT = _compile(load_terms())
# Forms a word of the squeezed text takes when it is a slur (see the suffix loop in find_abuse).
_SLUR_FORMS = _DEFAULT.slurs | {w + suffix for w in _DEFAULT.slurs for suffix in ("es", "s", "z")}


def _compiled() -> _Compiled:
    return _DEFAULT


@lru_cache(maxsize=1)
def _safetype_engine() -> safetype.ModerationEngine:
    return safetype.create_moderation_engine(mode="block", categories=["hate", "harassment"])


_SAFETYPE_REASONS = {
    "insult": "abuse.insult",
    "self-harm-incitement": "abuse.self_harm_incitement",
    "hostility": "abuse.threat",
    "threat": "abuse.threat",
    "exclusion": "abuse.exclusion",
}
_WORD = re.compile(r"[a-z0-9]+")
# safetype costs ~0.1 ms a message; its harassment rules all address someone, so it only runs
# when the message does.
_ADDRESSES_SOMEONE = re.compile(
    r"(?<![a-z0-9])(?:you|u|ur|ya|yall|youre|your|yourself|urself|kys|kill)(?![a-z0-9])"
)

# --- When safetype can find nothing -------------------------------------------------------------
# safetype (word packs) splits the lower-cased text into tokens (letters, digits and "@$!|*"),
# trims "*!|" at their ends, maps leetspeak in tokens holding a letter and reads runs of a
# character as one ("iiidiot" is "idiot"); a rule matches consecutive tokens, one per element,
# optional elements skipped; a one-element rule also matches single letters split by " .-_"
# ("k y s"). So on ASCII text, safetype can only flag a message when:
# - a one-element hate or harassment rule's word occurs in the text lower-cased, leet-mapped
#   everywhere, stripped of " .-_" and with runs collapsed (each token's form is in there); or
# - a longer rule matches the sequence of token forms (run lengths and masked tokens, which
#   safetype checks too, are ignored: the test only passes more often).
# Other text, or rules this reading does not cover, go to safetype as before.
_ST_LEET = {"@": "a", "4": "a", "$": "s", "5": "s", "0": "o", "1": "i", "!": "i", "|": "i",
            "3": "e", "7": "t"}  # fmt: skip
_ST_LEET_TABLE = str.maketrans(_ST_LEET)
_ST_FOLD = str.maketrans({**_ST_LEET, " ": None, ".": None, "-": None, "_": None})
_ST_TOKEN_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789@$!|*")
# On lower-cased ASCII text: every character between tokens made a space (runs of spaces are
# collapsed later with every other run), and the same with leet mapped in the same pass (when
# no "*!|" needs trimming first).
_ST_SPACES = {chr(c): " " for c in range(128) if chr(c) not in _ST_TOKEN_CHARS}
_ST_SPACE_OUT = str.maketrans(_ST_SPACES)
_ST_TOKENS = str.maketrans({**_ST_SPACES, **_ST_LEET})
_ST_EDGES = re.compile(r"(?<![^ ])[*!|]+|[*!|]+(?![^ ])")
_RUN_TAIL = re.compile(r"(?<=(.))\1+", re.DOTALL)
_ST_LETTER = re.compile(r"[a-z]")
_RUNS = re.compile(r"(.)\1+", re.DOTALL)


def _st_form(token: str) -> str:
    """A token (or rule word) as safetype compares it: leet-mapped when it holds a letter,
    runs collapsed."""
    if _ST_LETTER.search(token):
        token = token.translate(_ST_LEET_TABLE)
    return _RUNS.sub(r"\1", token)


def _safetype_gate() -> tuple[re.Pattern[str] | None, re.Pattern[str] | None] | None:
    """(one-element words on the folded text, longer rules on the token forms); None when
    the rules cannot be read that way (then safetype always runs)."""
    rules = getattr(_safetype_engine(), "_rules", None)
    if not isinstance(rules, dict):
        return None
    singles: set[str] = set()
    sequences: list[str] = []
    for source, compiled in rules.values():
        category = getattr(compiled, "category", None)
        if category not in ("hate", "harassment", "profanity", "sexual", "custom"):
            return None
        if category not in ("hate", "harassment"):
            continue
        pattern = source.get("pattern")
        if getattr(compiled, "boundary", None) != "word" or not isinstance(pattern, str):
            return None
        if not pattern.isascii():
            return None
        elements: list[tuple[str, bool]] = []
        for part in pattern.split():
            optional = part.endswith("?")
            words = []
            for alternative in part.rstrip("?").strip("()").split("|"):
                prefix = alternative.endswith("*")
                form = _st_form(alternative.rstrip("*").lower())
                if not form or not form.isalnum():
                    return None
                words.append((form, prefix))
            if len(elements) == 0 and optional:
                return None
            if len(pattern.split()) == 1:
                singles.update(form for form, _ in words)
            body = "|".join(re.escape(f) + ("[^ ]*" if p else "") for f, p in words)
            elements.append(("(?:" + body + ")", optional))
        if len(elements) > 1:
            regex = elements[0][0]
            for element, optional in elements[1:]:
                regex += f"(?: {element})?" if optional else f" {element}"
            sequences.append(regex)
    single = re.compile(_trie_regex(singles)) if singles else None
    # Searched in " " + the token forms: starting with a space lets the regex engine jump
    # from one token start to the next (the same matches as a look-behind for one).
    longer = re.compile(" (?:" + "|".join(sequences) + ")(?![^ ])") if sequences else None
    return single, longer


_SAFETYPE_GATE = _safetype_gate()


def _safetype_may_flag(display: str) -> bool:
    if _SAFETYPE_GATE is None or not display.isascii():
        return True
    single, longer = _SAFETYPE_GATE
    lowered = display.lower()
    if single is not None and single.search(_RUN_TAIL.sub("", lowered.translate(_ST_FOLD))):
        return True
    if longer is None:
        return False
    # The token forms, spaced: tokens split at the other characters, "*!|" trimmed at their
    # ends, leet mapped (in every token: a superset), runs collapsed; all in C.
    if "*" in lowered or "!" in lowered or "|" in lowered:
        spaced = _ST_EDGES.sub("", lowered.translate(_ST_SPACE_OUT))
        tokens = spaced.translate(_ST_LEET_TABLE)
    else:
        tokens = lowered.translate(_ST_TOKENS)
    return longer.search(" " + _RUN_TAIL.sub("", tokens)) is not None


# Every regex is prefiltered on the message's literal strings (scans.MATCHING).
_G_INCITEMENT = MATCHING.add(_INCITEMENT)
_G_THREAT = MATCHING.add(_THREAT)
_G_EXCLUSION = MATCHING.add(_EXCLUSION)
_G_SEXUAL = MATCHING.add(_SEXUAL)
_G_INSULTS = tuple(
    (pattern, MATCHING.add(pattern))
    for pattern in (_DEFAULT.aimed, _DEFAULT.adjective, _DEFAULT.vocative, _DEFAULT.what_a)
)
_G_ADDRESSES = MATCHING.add(_ADDRESSES_SOMEONE)
# A word of the squeezed text in _SLUR_FORMS (whole [a-z0-9] words), as a prefilter gate.
_G_SLURS = MATCHING.add(
    WB + "(?:" + _alternation(tuple(w for w in _SLUR_FORMS if w.isalnum())) + ")" + WE
)


def find_abuse(msg: Message) -> list[str]:
    """Reason codes for abuse found in ``msg`` (empty when none), in a stable order."""
    c = _compiled()
    text = msg.matching
    reasons: list[str] = []
    admitted = msg.matching_admitted()

    words = _WORD.findall(msg.squeezed) if admitted & _G_SLURS else ()
    if not _SLUR_FORMS.isdisjoint(words):
        raw_words = set(_WORD.findall(msg.display.casefold()))
        for w in words:
            stem = w
            for suffix in ("es", "s", "z"):
                if (
                    stem not in c.slurs
                    and stem.endswith(suffix)
                    and stem[: -len(suffix)] in c.slurs
                ):
                    stem = stem[: -len(suffix)]
            if stem in c.slurs and not (c.allow & raw_words and stem in c.allow):
                reasons.append("abuse.slur")
                break

    if admitted & _G_INCITEMENT and (_INCITEMENT.search(text) or _INCITEMENT.search(msg.squeezed)):
        reasons.append("abuse.self_harm_incitement")
    if admitted & _G_THREAT and _THREAT.search(text):
        reasons.append("abuse.threat")
    if admitted & _G_EXCLUSION and _EXCLUSION.search(text):
        reasons.append("abuse.exclusion")
    if admitted & _G_SEXUAL and _SEXUAL.search(text):
        reasons.append("abuse.sexual")
    for pattern, gate in _G_INSULTS:
        m = pattern.search(text) if admitted & gate else None
        if m and not _contextual(text, m.start()):
            reasons.append("abuse.insult")
            break

    if (
        not reasons
        and admitted & _G_ADDRESSES
        and _ADDRESSES_SOMEONE.search(msg.squeezed)
        and _safetype_may_flag(msg.display)
    ):
        lowered = msg.display.casefold()
        for match in _safetype_engine().moderate(msg.display).matches:
            if match.category == "hate":
                reasons.append("abuse.slur")
            elif match.label in _SAFETYPE_REASONS and not _contextual(lowered, match.start):
                reasons.append(_SAFETYPE_REASONS[match.label])
    return list(dict.fromkeys(reasons))


class AbuseStage:
    name = "abuse"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        reasons = find_abuse(msg)
        if not reasons:
            return None
        return StageResult("harassment", ctx.policy.harassment, tuple(reasons))
