"""Literal prefilters: skip the regexes that cannot match a text, after one scan of it.

Every match of a regular expression contains certain literal strings: every match of
``(?<![a-z0-9])(?:i|im) (?:want|need) to (?:die|od)(?![a-z0-9])`` contains one of "i want to
", "i need to ", "im want to ", "im need to " and one of the words "die", "od". ``required``
derives such sets from the pattern's parse tree (``re._parser``): a conjunction of *clauses*,
each a set of *atoms* of which every match contains at least one. An atom is a string, and may
be known to start at a word start (after a character other than ``[a-z0-9]``, or at the start
of the text) and to end at a word end: "od" as a word is much rarer than "od" in "today".

``Prefilter`` gathers the clauses of many patterns and finds, in one scan of a text, which of
their atoms occur: a trie-shaped regex tried at word starts only (``(?<![a-z0-9])``), its
word-end atoms checked by a look-ahead; the few atoms that may start inside a word are looked
up with ``in``. A pattern whose clauses are not all met cannot match, so skipping it never
changes a result: the prefilter is sound by construction; only its selectivity depends on the
patterns.

Derivation (every match of a node contains one atom of each of its clauses):

- a literal, a small character class, and sequences, alternations and bounded repetitions of
  them have a finite *exact* set (every string the node can match), kept up to ``_LIMIT``;
- a sequence contributes its children's clauses and the exact sets of its runs of consecutive
  exact children ("i want to " rather than "i", "want", " to "); a run is at a word start when
  what comes before it guarantees a non-alphanumeric character (a ``(?<![a-z0-9])``-like
  look-behind, ``^``, ``\\b``, or a part that always ends with one), likewise at a word end;
- an alternation contributes one clause, the union of one clause per branch (none when a
  branch has none); a repetition with a minimum of one contributes its child's clauses (from
  its first iteration); an optional part, a look-around, a back-reference or a wide class
  contributes nothing;
- an atom not known to be at a word start is cut at its first word start inside ("e die"
  becomes "die" at a word start) or, when it has none, looked up anywhere.

Case-insensitive patterns (``re.IGNORECASE`` or ``(?i:...)``) need ``fold_case=True``: atoms
and text are lower-cased, and a text with a character whose case-insensitive match is not
captured by ``str.lower`` (the Kelvin sign, the long s, dotted capital I, ...) admits every
pattern.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import cache, reduce
from operator import or_
from re import _constants as _sre  # type: ignore[attr-defined]
from re import _parser as _sre_parse  # type: ignore[attr-defined]
from typing import Any

__all__ = ["Atom", "Prefilter", "SharedScan", "required"]

_LIMIT = 64
"""Largest exact set kept for a node (the cross product of a sequence grows fast)."""
_BRANCH_LIMIT = 256
"""Largest exact set kept for an alternation of literals (top-level domains, drug names)."""
_CLASS_LIMIT = 12
"""Largest character class expanded into an exact set."""
_MAX_CLAUSES = 4
"""Clauses kept per pattern: the most selective ones."""
_BRANCH_CLAUSES = 2
"""Clauses an alternation passes on (shared by its branches, or unions of their best ones)."""
_BRANCH_CANDIDATES = 3
"""Clauses of each branch tried as a factor shared by all branches."""
_MAX_FREE = 24
"""Atoms that may start inside a word, looked up with ``in``; more need a full scan."""

_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyz0123456789")


@dataclass(frozen=True, slots=True, order=True)
class Atom:
    """A string every match contains; ``start``/``end``: known to be at a word start/end."""

    text: str
    start: bool = False
    end: bool = False


Clause = frozenset[Atom]


# How a node passes on the knowledge that the character on one side of a position is outside
# [a-z0-9] (or the text's end): (what it guarantees on its far side if the near side is not
# known, ... if it is). Only three functions occur: never, always, and "passes it through".
Transfer = tuple[bool, bool]
_NEVER: Transfer = (False, False)
_ALWAYS: Transfer = (True, True)
_THROUGH: Transfer = (False, True)


def _then(first: Transfer, second: Transfer) -> Transfer:
    return (second[first[0]], second[first[1]])


def _both(a: Transfer, b: Transfer) -> Transfer:
    return (a[0] and b[0], a[1] and b[1])


@dataclass(frozen=True, slots=True)
class _Shape:
    """How a node's matches stand to their surroundings (independent of where it stands):
    ``fwd`` maps the left side of the match to its right side, ``bwd`` the right to the left;
    ``zero_width``: matches only the empty string."""

    fwd: Transfer
    bwd: Transfer
    zero_width: bool = False


@dataclass(frozen=True, slots=True)
class _Info:
    exact: frozenset[str] | None
    clauses: tuple[Clause, ...]


_NOTHING = _Info(None, ())
_EMPTY = _Info(frozenset({""}), ())
_OPAQUE = _Shape(_NEVER, _NEVER)
_ASSERTION = _Shape(_THROUGH, _THROUGH, zero_width=True)


def _class_test(items: list[tuple[object, object]]) -> Callable[[str], bool]:
    """A membership test for a parsed character class (exact for ASCII letters and digits;
    unknown parts answer "may contain anything")."""
    negate = False
    codes: set[int] = set()
    ranges: list[tuple[int, int]] = []
    categories: list[Callable[[str], bool]] = []
    for op, av in items:
        if op is _sre.NEGATE:
            negate = True
        elif op is _sre.LITERAL:
            assert isinstance(av, int)
            codes.add(av)
        elif op is _sre.RANGE:
            assert isinstance(av, tuple)
            ranges.append((av[0], av[1]))
        elif op is _sre.CATEGORY:
            name = str(av)
            if "NOT" in name:  # \W, \D, \S: none holds an ASCII letter or digit but \S
                categories.append(_always if "SPACE" in name else _never)
            elif "DIGIT" in name:
                categories.append(str.isdigit)
            elif "WORD" in name:
                categories.append(str.isalnum)
            else:  # \s, line breaks
                categories.append(str.isspace)
        else:
            return _always

    def test(c: str) -> bool:
        o = ord(c)
        hit = o in codes or any(lo <= o <= hi for lo, hi in ranges) or any(f(c) for f in categories)
        return hit != negate

    return test


def _always(c: str) -> bool:
    return True


def _never(c: str) -> bool:
    return False


def _class_chars(items: list[tuple[object, object]]) -> frozenset[str] | None:
    chars: set[str] = set()
    for op, av in items:
        if op is _sre.LITERAL:
            assert isinstance(av, int)
            chars.add(chr(av))
        elif op is _sre.RANGE:
            assert isinstance(av, tuple)
            lo, hi = av
            if hi - lo >= _CLASS_LIMIT:
                return None
            chars.update(chr(c) for c in range(lo, hi + 1))
        else:  # NEGATE, CATEGORY, CHARSET, BIGCHARSET: too wide
            return None
        if len(chars) > _CLASS_LIMIT:
            return None
    return frozenset(chars)


class _Deriver:
    """Derives clauses; ``fold_case``: the scanned text is lower-cased, so a character stands
    outside [a-z0-9] only if its lower-case form does."""

    def __init__(self, fold_case: bool) -> None:
        self.fold_case = fold_case
        self._shapes: dict[tuple[int, bool], _Shape] = {}

    # --- characters outside [a-z0-9] in the scanned text --------------------------------------

    def _nb_char(self, c: str) -> bool:
        return c not in _ALNUM and not (self.fold_case and c.lower() in _ALNUM)

    def _nb_class(self, items: list[tuple[object, object]], ic: bool) -> bool:
        """No character of the class is (or lower-cases to) an [a-z0-9] character."""
        test = _class_test(items)
        return not any(test(c) or ((ic or self.fold_case) and test(c.upper())) for c in _ALNUM)

    def _covers_alnum(self, sub: object, ic: bool) -> bool:
        """``sub`` is one character class holding every [a-z0-9] character, in both cases when
        the text is lower-cased before the scan (a look-around on it then guarantees a
        character outside [a-z0-9] in the scanned text)."""
        items = list(sub)  # type: ignore[call-overload]
        if len(items) != 1:
            return False
        op, av = items[0]
        if op is _sre.IN:
            assert isinstance(av, list)
            test = _class_test(av)
        elif op in (_sre.LITERAL, _sre.CATEGORY):
            test = _class_test([(op, av)])
        else:
            return False
        both = self.fold_case and not ic
        return all(test(c) and (not both or test(c.upper())) for c in _ALNUM)

    # --- shapes (memoised per parse-tree node) -------------------------------------------------

    def shape(self, op: object, av: object, ic: bool) -> _Shape:
        key = (id(av), ic)
        found = self._shapes.get(key)
        if found is None:
            found = self._shapes[key] = self._shape(op, av, ic)
        return found

    def _shape(self, op: object, av: object, ic: bool) -> _Shape:
        if op is _sre.LITERAL:
            assert isinstance(av, int)
            c = chr(av)
            nb = self._nb_char(c) and not (ic and c.upper().lower() in _ALNUM)
            return _Shape(_ALWAYS, _ALWAYS) if nb else _OPAQUE
        if op is _sre.IN:
            assert isinstance(av, list)
            return _Shape(_ALWAYS, _ALWAYS) if self._nb_class(av, ic) else _OPAQUE
        if op is _sre.AT:
            # ^ and \A: the text starts here; $ and \Z: it ends; \b: a non-word character on
            # the side away from a word character (atoms check that they start or end with
            # an [a-z0-9] character, see _atom).
            fwd = _ALWAYS if av in (_sre.AT_BEGINNING, _sre.AT_BEGINNING_STRING) else _THROUGH
            bwd = _ALWAYS if av in (_sre.AT_END, _sre.AT_END_STRING) else _THROUGH
            if av is _sre.AT_BOUNDARY:
                fwd = bwd = _ALWAYS
            return _Shape(fwd, bwd, zero_width=True)
        if op is _sre.ASSERT_NOT:
            assert isinstance(av, tuple)
            direction, sub = av
            if self._covers_alnum(sub, ic):
                if direction < 0:
                    return _Shape(_ALWAYS, _THROUGH, zero_width=True)
                return _Shape(_THROUGH, _ALWAYS, zero_width=True)
            return _ASSERTION
        if op is _sre.ASSERT:
            return _ASSERTION
        if op is _sre.SUBPATTERN:
            assert isinstance(av, tuple)
            return self.seq_shape(av[3], _flags(ic, av[1], av[2]))
        if op is _sre.ATOMIC_GROUP:
            return self.seq_shape(av, ic)
        if op is _sre.BRANCH:
            assert isinstance(av, tuple)
            shapes = [self.seq_shape(b, ic) for b in av[1]]
            fwd, bwd = shapes[0].fwd, shapes[0].bwd
            for sh in shapes[1:]:
                fwd, bwd = _both(fwd, sh.fwd), _both(bwd, sh.bwd)
            return _Shape(fwd, bwd, zero_width=all(sh.zero_width for sh in shapes))
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            assert isinstance(av, tuple)
            lo, hi, sub = av
            child = self.seq_shape(sub, ic)
            if hi == 0:
                return _ASSERTION
            # Transfers are idempotent: many iterations pass on what one does.
            if lo == 0:
                return _Shape(_both(_THROUGH, child.fwd), _both(_THROUGH, child.bwd))
            return _Shape(child.fwd, child.bwd, child.zero_width)
        return _OPAQUE  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, ...

    def seq_shape(self, items: object, ic: bool) -> _Shape:
        key = (id(items), ic)
        found = self._shapes.get(key)
        if found is not None:
            return found
        shapes = [self.shape(op, av, ic) for op, av in items]  # type: ignore[attr-defined]
        fwd, bwd = _THROUGH, _THROUGH
        for sh in shapes:
            fwd = _then(fwd, sh.fwd)
        for sh in reversed(shapes):
            bwd = _then(bwd, sh.bwd)
        found = self._shapes[key] = _Shape(fwd, bwd, all(sh.zero_width for sh in shapes))
        return found

    # --- clauses ---------------------------------------------------------------------------

    def _chars(self, chars: frozenset[str], ic: bool) -> _Info:
        if ic and not self.fold_case:
            return _NOTHING  # a case-sensitive scan cannot vouch for these
        return _Info(frozenset(c.lower() for c in chars) if self.fold_case else chars, ())

    def node(self, op: object, av: object, ic: bool, before: bool, after: bool) -> _Info:
        """``before``/``after``: the characters around the node's match are known to be
        outside [a-z0-9] (or to be the ends of the text)."""
        if op is _sre.LITERAL:
            assert isinstance(av, int)
            return self._chars(frozenset(chr(av)), ic)
        if op is _sre.IN:
            assert isinstance(av, list)
            chars = _class_chars(av)
            return _NOTHING if chars is None else self._chars(chars, ic)
        if op in (_sre.AT, _sre.ASSERT, _sre.ASSERT_NOT):
            return _EMPTY  # zero-width
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT) and av[1] == 0:  # type: ignore[index]
            return _EMPTY
        if op is _sre.SUBPATTERN:
            assert isinstance(av, tuple)
            return self.seq(av[3], _flags(ic, av[1], av[2]), before, after)
        if op is _sre.ATOMIC_GROUP:
            return self.seq(av, ic, before, after)
        if op is _sre.BRANCH:
            assert isinstance(av, tuple)
            infos = [self.seq(b, ic, before, after) for b in av[1]]
            return _branch(infos, before, after)
        if op in (_sre.MAX_REPEAT, _sre.MIN_REPEAT, _sre.POSSESSIVE_REPEAT):
            assert isinstance(av, tuple)
            lo, hi, sub = av
            # Atoms come from the first iteration, whose left side is the repetition's.
            return _repeat(lo, hi, self.seq(sub, ic, before, after and hi == 1))
        return _NOTHING  # ANY, NOT_LITERAL, GROUPREF, GROUPREF_EXISTS, CATEGORY, ...

    def seq(self, items: object, ic: bool, before: bool, after: bool) -> _Info:
        parts: list[tuple[object, object]] = list(items)  # type: ignore[call-overload]
        shapes = [self.shape(op, av, ic) for op, av in parts]
        n = len(parts)
        lefts: list[bool] = []  # is the character before part i outside [a-z0-9]?
        left = before
        for sh in shapes:
            lefts.append(left)
            left = sh.fwd[left]
        rights = [False] * n  # is the character after part i outside [a-z0-9]?
        right = after
        for i in range(n - 1, -1, -1):
            rights[i] = right
            right = shapes[i].bwd[right]

        clauses: list[Clause] = []
        empty = frozenset({""})
        run: frozenset[str] = empty
        run_left = run_right = False
        all_exact = True
        for i, (op, av) in enumerate(parts):
            info = self.node(op, av, ic, lefts[i], rights[i])
            clauses.extend(info.clauses)
            if info.exact is not None and len(run) * len(info.exact) <= _LIMIT:
                if shapes[i].zero_width:
                    # Same position on both sides: what it guarantees is in lefts/rights of
                    # its neighbours already.
                    if run == empty:
                        run_left = shapes[i].fwd[lefts[i]]
                    continue
                if run == empty:
                    run_left = lefts[i]
                run = frozenset(a + b for a in run for b in info.exact)
                run_right = rights[i]
                continue
            all_exact = False
            if "" not in run:
                clauses.append(_clause(run, run_left, run_right))
            if info.exact is not None:
                run, run_left, run_right = info.exact, lefts[i], rights[i]
            else:
                run = empty
        if "" not in run:
            clauses.append(_clause(run, run_left, run_right))
        return _Info(run if all_exact else None, tuple(clauses))


def _flags(ic: bool, add_flags: int, del_flags: int) -> bool:
    if add_flags & re.IGNORECASE:
        return True
    if del_flags & re.IGNORECASE:
        return False
    return ic


def _branch(infos: list[_Info], before: bool, after: bool) -> _Info:
    exact: frozenset[str] | None = None
    if all(i.exact is not None for i in infos):
        union = frozenset().union(*(i.exact or () for i in infos))
        exact = union if len(union) <= _BRANCH_LIMIT else None
    branches = [info.clauses for info in infos]
    if not all(branches):
        return _Info(exact, ())
    # A clause every branch implies (a factor the alternatives share, like the list of
    # spellings of "suicidal" in each of three phrasings) holds for the alternation as it is.
    shared: list[Clause] = []
    candidates = sorted(
        {c for clauses in branches for c in _best(clauses, _BRANCH_CANDIDATES)},
        key=_rank,
    )
    for candidate in candidates:
        if len(candidate) <= _LIMIT and all(
            any(len(d) <= _BRANCH_LIMIT and _clause_implies(d, candidate) for d in clauses)
            for clauses in branches
        ):
            shared.append(candidate)
            if len(shared) == _BRANCH_CLAUSES:
                break
    # Otherwise: each branch's best clause, and its second best (or best again): every
    # match meets one branch's clauses, so it meets both unions.
    firsts: list[Clause] = []
    seconds: list[Clause] = []
    for clauses in branches:
        best = _best(clauses, _BRANCH_CLAUSES)
        if not best:
            return _Info(exact, tuple(shared))
        firsts.append(best[0])
        seconds.append(best[-1])
    unions = {frozenset().union(*firsts), frozenset().union(*seconds)}
    return _Info(exact, (*shared, *unions))


def _repeat(lo: int, hi: int, child: _Info) -> _Info:
    if lo == 0:
        if hi == 0:
            return _EMPTY
        if hi == 1 and child.exact is not None and len(child.exact) < _LIMIT:
            return _Info(child.exact | {""}, ())
        return _NOTHING
    exact = None
    if lo == hi and child.exact is not None and len(child.exact) ** lo <= _LIMIT:
        product = frozenset({""})
        for _ in range(lo):
            product = frozenset(a + b for a in product for b in child.exact)
        exact = product
    return _Info(exact, child.clauses)


def _clause(strings: Iterable[str], left: bool, right: bool) -> Clause:
    return frozenset(_atom(s, left, right) for s in strings)


def _atom(s: str, left: bool, right: bool) -> Atom:
    """An atom for a string found between ``left``/``right`` guarantees: anchored at a word
    start when possible (cut at the first word start inside otherwise)."""
    end = right and s[-1] in _ALNUM
    if left and s[0] in _ALNUM:
        return Atom(s, True, end)
    for k in range(1, len(s)):
        if s[k - 1] not in _ALNUM and s[k] in _ALNUM:
            return Atom(s[k:], True, end)
    return Atom(s, False, False)


# Frequent words of chat and of recovery meetings, most frequent first, in matching form
# (folded: "dont", "im", doubled letters once). Only used to choose the most selective
# clauses: a word's share of messages is taken to fall with its rank.
_COMMON_TEXT = """
i a the to and my it is in you of me im that for so but at on this with was just have its be
do not all get no are am go u now what one up out if can your like day got we dont know feel
today days time going want ned think life realy about when how they he she him her them
there here been had has did would could should wil wel good bad back stil again never always
everyone thanks thank sharing love help people family work sober clean meting drink drinking
use using it's i'm don't can't cant going gona wana yeah ok oh hi hey lol because from as an
or by some any more much very too than then only even also year years week night morning
after before over off into down right make made say said tell told come came see lot way
thing things alive anymore anything nothing something everything sleep hard hope pain dead
die kil life
"""
_COMMON_WORDS = _COMMON_TEXT.split()
_RANKED: dict[str, float] = {
    w: 0.5 / float((rank + 1) ** 0.75) for rank, w in enumerate(dict.fromkeys(_COMMON_WORDS))
}


def _word_p(word: str, whole: bool) -> float:
    """Rough share of messages holding ``word`` (as a whole word, or as a word's start)."""
    p = _RANKED.get(word)
    if p is not None:
        return p if whole else min(1.0, 3 * p)
    if whole:
        return 0.004 if len(word) <= 2 else 0.003 if len(word) <= 3 else 0.002
    return min(1.0, float(0.3 ** len(word))) if word else 1.0


@cache
def _atom_p(a: Atom) -> float:
    words = a.text.split(" ")
    p = 1.0
    for k, word in enumerate(words):
        last = k == len(words) - 1
        p *= _word_p(word, whole=not last or a.end) if word else 1.0
    p = min(1.0, p * float(3 ** (len(words) - 1)))  # words of a phrase go together
    return p if a.start else min(1.0, 8 * p)


@cache
def _cost(clause: Clause) -> float:
    """How often a clause is expected to be met by ordinary text (lower is more selective)."""
    return sum(_atom_p(a) for a in clause)


def _implies(a: Atom, b: Atom) -> bool:
    """Wherever ``a`` is found (as the scan checks it), ``b`` is too: ``b`` occurs in ``a`` with
    the word start and end it needs given by ``a``'s own characters or anchors."""
    k = a.text.find(b.text)
    while k != -1:
        end = k + len(b.text)
        start_ok = not b.start or (a.start if k == 0 else a.text[k - 1] not in _ALNUM)
        end_ok = not b.end or (a.end if end == len(a.text) else a.text[end] not in _ALNUM)
        if start_ok and end_ok:
            return True
        k = a.text.find(b.text, k + 1)
    return False


def _clause_implies(stronger: Clause, weaker: Clause) -> bool:
    """Every atom of ``stronger`` implies an atom of ``weaker``: if one is met, so is the other."""
    return all(any(_implies(a, b) for b in weaker) for a in stronger)


def _redundant(clause: Clause, chosen: Iterable[Clause]) -> bool:
    """True when a chosen clause being met means ``clause`` is met."""
    return any(_clause_implies(other, clause) for other in chosen)


def _rank(clause: Clause) -> tuple[float, int, str]:
    """Sort key: most selective first; the rest only makes the order the same in every run."""
    return (_cost(clause), len(clause), min(a.text for a in clause))


_USELESS = 1.0
"""A clause this likely to be met (a lone space, one letter anywhere) prunes nothing."""


def _best(clauses: Iterable[Clause], n: int) -> list[Clause]:
    """Up to ``n`` clauses, most selective first: only clauses whose atoms are all at word
    starts when there are any (the others need a look-up each or a full scan)."""
    usable = {c for c in clauses if c and all(a.text for a in c) and _cost(c) <= _USELESS}
    anchored = [c for c in usable if all(a.start for a in c)]
    order = sorted(anchored or usable, key=_rank)
    if not anchored:
        return order[:1]
    chosen: list[Clause] = []
    for clause in order:
        if len(chosen) == n:
            break
        if not _redundant(clause, chosen):
            chosen.append(clause)
    return chosen


def required(pattern: str | re.Pattern[str], fold_case: bool = False) -> list[Clause]:
    """The most selective clauses met by every match of ``pattern`` (atoms lower-cased when
    ``fold_case``); empty when nothing can be said. Without ``fold_case``, case-insensitive
    parts of the pattern contribute nothing."""
    if isinstance(pattern, re.Pattern):
        source, flags = pattern.pattern, pattern.flags
    else:
        source, flags = pattern, 0
    parsed = _sre_parse.parse(source, flags)
    ignorecase = bool(parsed.state.flags & re.IGNORECASE)
    info = _Deriver(fold_case).seq(parsed, ignorecase, False, False)
    return _best(info.clauses, _MAX_CLAUSES)


def _fold_hazards(atoms: Iterable[str]) -> re.Pattern[str] | None:
    """Characters that re.IGNORECASE equates with a character of ``atoms`` while ``str.lower``
    does not turn them into it: the extra case pairs of ``re`` (the long s for "s", the
    dotless i for "i", ...) and characters whose one-character lower case differs from
    ``str.lower`` (capital I with a dot). A text holding one bypasses the prefilter."""
    from re import _casefix  # type: ignore[attr-defined]

    extra: dict[int, tuple[int, ...]] = _casefix._EXTRA_CASES
    chars: set[str] = set()
    for a in set("".join(atoms)):
        for variant in extra.get(ord(a.lower()), ()):
            if chr(variant).lower() != a.lower():
                chars.add(chr(variant))
        if a.lower() == "i":
            chars.add("\u0130")
    chars = {c for c in chars if not c.isascii()}
    return re.compile("[" + re.escape("".join(sorted(chars))) + "]") if chars else None


_WORD_END = r"(?![a-z0-9])"


def _trie_regex(strings: Iterable[str], word_end: Iterable[str] = ()) -> str:
    """A regex matching the longest of ``strings`` at a position (longest first); the strings
    in ``word_end`` only when followed by a character other than [a-z0-9]."""
    ends = set(word_end)
    trie: dict[str, Any] = {}
    stop = ""  # key marking the end of a string (never a character)
    for s in strings:
        node = trie
        for ch in s:
            node = node.setdefault(ch, {})
        node[stop] = s in ends

    def emit(node: dict[str, Any]) -> str:
        parts = [re.escape(ch) + emit(sub) for ch, sub in sorted(node.items()) if ch != stop]
        if stop in node:
            parts.append(_WORD_END if node[stop] else "")
        if len(parts) == 1:
            return parts[0]
        return "(?:" + "|".join(parts) + ")"

    return emit(trie)


class Prefilter:
    """Which of ``patterns`` may match a text, from one scan for their atoms.

    ``admitted(text)`` returns a bit mask: bit ``i`` set when pattern ``i`` may match (clear
    means it certainly does not: skip it). Patterns with no clauses are always admitted.
    """

    def __init__(self, patterns: Sequence[str | re.Pattern[str]], fold_case: bool = False):
        self.fold_case = fold_case
        self.clauses: list[list[Clause]] = [required(p, fold_case) for p in patterns]
        clause_bits: dict[Clause, int] = {}
        needs: list[int] = []
        for clauses in self.clauses:
            need = 0
            for clause in clauses:
                need |= clause_bits.setdefault(clause, 1 << len(clause_bits))
            needs.append(need)
        self._needs = needs
        self._always = sum(1 << i for i, need in enumerate(needs) if not need)
        self._everything = (1 << len(patterns)) - 1
        # A pattern is a candidate when the atom found belongs to its first clause; it is
        # admitted when all its clauses are met.
        first_of: dict[int, int] = {}
        for i, clauses in enumerate(self.clauses):
            if clauses:
                bit = clause_bits[clauses[0]]
                first_of[bit] = first_of.get(bit, 0) | (1 << i)
        anchored: dict[str, tuple[int, int]] = {}  # text -> (bits if word end follows, else)
        free: dict[str, int] = {}
        for clause, bit in clause_bits.items():
            for a in clause:
                if a.start:
                    at_end, anywhere = anchored.get(a.text, (0, 0))
                    if a.end:
                        anchored[a.text] = (at_end | bit, anywhere)
                    else:
                        anchored[a.text] = (at_end | bit, anywhere | bit)
                else:
                    free[a.text] = free.get(a.text, 0) | bit
        # A string that some clause needs at a word end and another anywhere: credit it
        # whenever it is found (the scan cannot tell which held).
        anchored = {t: (e, e) if a else (e, 0) for t, (e, a) in anchored.items()}
        if len(free) > _MAX_FREE:  # too many to look up one by one: scan for them too
            for text, bit in free.items():
                # A word start inside a free atom: anchor on it; else on its first character
                # (every atom's first character stands at a word start or inside a word).
                at_end, anywhere = anchored.get(text, (0, 0))
                anchored[text] = (at_end | bit, anywhere | bit)
            free = {}
            self._anchored_only = False
        else:
            self._anchored_only = True
        # The scan returns the longest atom found at a word start; credit the atoms that are
        # its prefixes (those marked word-end only when a non-alphanumeric character follows
        # them in the longer one), and map clause bits to candidate patterns.
        self._credit: dict[str, tuple[int, int]] = {}
        for text in anchored:
            clauses_met = 0
            for k in range(1, len(text) + 1):
                entry = anchored.get(text[:k])
                if entry is None:
                    continue
                at_end, anywhere = entry
                if k == len(text):
                    clauses_met |= at_end  # the scan checked the word end when needed
                elif text[k] not in _ALNUM:
                    clauses_met |= at_end
                else:
                    clauses_met |= anywhere
            candidates = 0
            for bit, patterns_mask in first_of.items():
                if clauses_met & bit:
                    candidates |= patterns_mask
            self._credit[text] = (clauses_met, candidates)
        self._free_candidates = tuple(
            (text, bit, sum(m for b, m in first_of.items() if bit & b))
            for text, bit in free.items()
        )
        self._shift = max(1, len(clause_bits))
        self._clause_mask = (1 << self._shift) - 1
        self._packed = {t: met | c << self._shift for t, (met, c) in self._credit.items()}
        self._free_packed = tuple(
            (text, bit | cands << self._shift) for text, bit, cands in self._free_candidates
        )
        self._hazards = _fold_hazards([*anchored, *free]) if fold_case else None
        word_end = [t for t, (at_end, anywhere) in anchored.items() if at_end and not anywhere]
        body = _trie_regex(anchored, word_end)
        # Word starts only: the scan runs on " " + text and matches the character before each
        # word start (it starts with a character class, so the regex engine skips from one
        # such character to the next in C; a look-behind first would be tried everywhere).
        if self._anchored_only:
            self._scan = re.compile("[^a-z0-9](?=(" + body + "))") if anchored else None
        else:
            self._scan = re.compile("(?=(" + body + "))") if anchored else None
        self._pad = " " if self._anchored_only else ""

    def admitted(self, text: str) -> int:
        """Bit mask of the patterns that may match ``text``."""
        if self.fold_case:
            if not text.isascii() and self._hazards is not None and self._hazards.search(text):
                return self._everything
            text = text.lower()
        # Each atom's credit packs the clauses it meets (low bits) and the patterns it makes
        # candidates (high bits, from _shift); one OR per distinct atom found, in C.
        found = self._scan.findall(self._pad + text) if self._scan is not None else ()
        packed = reduce(or_, map(self._packed.__getitem__, set(found)), 0) if found else 0
        for atom, bits in self._free_packed:
            if atom in text:
                packed |= bits
        candidates = packed >> self._shift
        if not candidates:
            return self._always
        met = packed & self._clause_mask
        admitted = self._always
        needs = self._needs
        while candidates:
            low = candidates & -candidates
            candidates ^= low
            need = needs[low.bit_length() - 1]
            if need & met == need:
                admitted |= low
        return admitted

    def admitted_in(self, text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
        """For each ``(start, end)`` of ``spans`` (sorted, disjoint), a mask of the patterns
        that may match ``text[start:end]`` on its own, from one scan of ``text``. Sound when
        each span starts and ends at word boundaries (as its own text, and within ``text``):
        an atom is credited to the span it starts in (one reaching past the end as well, which
        can only admit more)."""
        if self.fold_case:
            raise ValueError("admitted_in needs a prefilter without fold_case")
        starts = [s for s, _ in spans]
        packed = [0] * len(spans)
        if self._scan is not None:
            table = self._packed
            for m in self._scan.finditer(self._pad + text):
                # Padded: the match is the character before the atom, so m.start() is the
                # atom's position in ``text``.
                k = bisect_right(starts, m.start()) - 1
                if k >= 0 and m.start() < spans[k][1]:
                    packed[k] |= table[m.group(1)]
        for atom, bits in self._free_packed:
            for k, (start, end) in enumerate(spans):
                if atom in text[start:end]:
                    packed[k] |= bits
        out = []
        needs = self._needs
        for bits in packed:
            candidates = bits >> self._shift
            met = bits & self._clause_mask
            admitted = self._always
            while candidates:
                low = candidates & -candidates
                candidates ^= low
                need = needs[low.bit_length() - 1]
                if need & met == need:
                    admitted |= low
            out.append(admitted)
        return out


class SharedScan:
    """Patterns of several stages, prefiltered together: one scan of a text serves them all.

    Stages ``add`` their patterns when their module is imported and keep the returned bit;
    the prefilter is built on first use (``build``; ``Pipeline`` builds it when constructed).
    ``admitted(*texts)`` is the mask of patterns that may match one of the texts.
    """

    def __init__(self, name: str, fold_case: bool = False) -> None:
        self.name = name
        self.fold_case = fold_case
        self._patterns: list[str | re.Pattern[str]] = []
        self._prefilter: Prefilter | None = None

    def add(self, pattern: str | re.Pattern[str]) -> int:
        """Register a pattern; returns its bit in the masks ``admitted`` returns."""
        self._patterns.append(pattern)
        self._prefilter = None
        return 1 << (len(self._patterns) - 1)

    def build(self) -> Prefilter:
        if self._prefilter is None:
            self._prefilter = Prefilter(self._patterns, fold_case=self.fold_case)
        return self._prefilter

    def admitted_in(self, text: str, spans: Sequence[tuple[int, int]]) -> list[int]:
        return (self._prefilter or self.build()).admitted_in(text, spans)

    def admitted(self, *texts: str) -> int:
        prefilter = self._prefilter or self.build()
        mask = 0
        for text in texts:
            mask |= prefilter.admitted(text)
        return mask
