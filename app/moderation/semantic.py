"""The semantic crisis screen: sentence embeddings against seed and counter-phrases.

The crisis rules (``stages/crisis.py``) know the phrasings they were written for; people in
crisis write new ones ("plans and farewells"). This screen compares a message's embedding
(all-MiniLM-L6-v2, :mod:`.embed`) with the seed phrases of ``data/crisis_seeds.txt``:

1. ``crisis`` = the highest cosine similarity to a crisis seed, ``counter`` = the highest to a
   counter-phrase (past-tense shares, negations, jokes, ordinary recovery talk, goodbyes at the
   end of a meeting).
2. A crisis when ``crisis >= FLOOR`` and ``crisis - counter >= MARGIN``; the kind is the
   section of the nearest crisis seed.
3. The rules' tense and condition guard cancels stories and conditions
   (:func:`~.stages.crisis.told_as_past_or_hypothetical`): embeddings do not separate "I want
   to die" from "last year I wanted to die" well, the rules do. :meth:`SemanticCrisis.judge`
   runs it before steps 1-2, so a cancelled message is never embedded.

FLOOR and MARGIN were chosen on the development set only (``tests/moderation/cases.jsonl``);
the held-out set measures them (docs/moderation.md, "Evaluation").

Pure apart from the encoder's arithmetic: no clock, no I/O after loading, no logging.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

import numpy as np

from .embed import Array, Encoder
from .normalise import matching_form
from .stages.crisis import told_as_past_or_hypothetical
from .verdict import CRISIS_KINDS, CrisisKind, Verdict

__all__ = [
    "FLOOR",
    "MARGIN",
    "Score",
    "SemanticCrisis",
    "load_seeds",
    "reaches_the_room",
    "screens_semantically",
    "worth_screening",
]

FLOOR = 0.50
"""The least similarity to a crisis seed that can count."""
MARGIN = 0.06
"""How much closer to a crisis seed than to any counter-phrase a crisis must be."""

MIN_LETTERS = 6
_LETTER = re.compile(r"[^\W\d_]")


def worth_screening(text: str) -> bool:
    """The cheap gate: a message with fewer than ``MIN_LETTERS`` letters or a single word
    ("ok", "lol", "🙏", "+1") is not embedded. Constant work for long texts (looks at most
    at the first few hundred characters)."""
    head = text[:400]
    if len(_LETTER.findall(head[:64])) < MIN_LETTERS and len(_LETTER.findall(head)) < MIN_LETTERS:
        return False
    return len(head.split(maxsplit=1)) > 1


Seeds = dict[str, list[str]]


def load_seeds(text: str | None = None) -> Seeds:
    """Phrases by section (the crisis kinds and ``counter``) from ``data/crisis_seeds.txt``
    or ``text`` in the same format. Raises ValueError on an unknown section."""
    if text is None:
        text = resources.files("app.moderation").joinpath("data/crisis_seeds.txt").read_text()
    sections: Seeds = {kind: [] for kind in (*CRISIS_KINDS, "counter")}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1]
            if current not in sections:
                raise ValueError(f"unknown section [{current}]")
            continue
        if current is None:
            raise ValueError("a phrase before the first section")
        sections[current].append(line)
    return sections


@dataclass(frozen=True, slots=True)
class Score:
    """How a message compares with the seeds. ``kind``: the nearest crisis seed's section."""

    crisis: float
    counter: float
    kind: CrisisKind

    @property
    def margin(self) -> float:
        return self.crisis - self.counter


class SemanticCrisis:
    """Embeds seeds once (about 2 s), then judges one message per :meth:`judge` (~6-11 ms CPU).

    ``embed``: text to unit vector; by default the encoder's own, but the evaluation passes a
    caching one so each case is embedded once per process. Read-only after construction, so
    it may be shared between threads (the tests run several apps, each with its worker).
    """

    def __init__(
        self,
        encoder: Encoder,
        seeds: Seeds | None = None,
        *,
        floor: float = FLOOR,
        margin: float = MARGIN,
        embed: Callable[[str], Array] | None = None,
    ) -> None:
        self._embed = embed if embed is not None else encoder.encode
        seeds = seeds if seeds is not None else load_seeds()
        kinds: list[CrisisKind] = []
        phrases: list[str] = []
        for kind in CRISIS_KINDS:
            kinds += [kind] * len(seeds[kind])
            phrases += seeds[kind]
        if not phrases or not seeds["counter"]:
            raise ValueError("seeds need crisis phrases and counter-phrases")
        self._kinds = tuple(kinds)
        self._crisis = np.stack([self._embed(p) for p in phrases])
        self._counter = np.stack([self._embed(p) for p in seeds["counter"]])
        self.floor = floor
        self.margin = margin

    def score(self, text: str) -> Score:
        v = self._embed(text)
        crisis = self._crisis @ v
        best = int(np.argmax(crisis))
        return Score(float(crisis[best]), float(np.max(self._counter @ v)), self._kinds[best])

    def judge(self, text: str) -> CrisisKind | None:
        """The crisis kind of ``text`` (a display form), or None. Does not apply the cheap
        gate (:func:`worth_screening`): callers that need it call it first."""
        # The tense and condition guard first: it costs microseconds where the embedding
        # costs milliseconds, and a message it cancels is not a crisis whatever its score.
        if told_as_past_or_hypothetical(matching_form(text)):
            return None
        score = self.score(text)
        if score.crisis < self.floor or score.margin < self.margin:
            return None
        return score.kind


def screens_semantically(verdict: Verdict) -> bool:
    """Whether the semantic screen looks at a message with this verdict: one the rules did
    not already flag as a crisis (the card and alert are out) that reaches the room (allowed,
    redacted, or sent despite a privacy warning), or that is held only because its sender is
    new (the newcomer cooldown: a first message, which with nobody to review it is blocked).
    (The rooms leave out a message answered with a privacy warning until its sender sends it
    anyway: its personal data is not kept for the screen meanwhile.) Not what is held or
    blocked for what it says or how it is sent (harassment, links, spam, a flood): the budget
    is shared by every room of the process, and a raid's blocked messages would spend it;
    nor would "go kill yourself" be a cry for help of its sender's."""
    if verdict.crisis:
        return False
    return verdict.action in ("allow", "redact", "warn") or verdict.categories <= _NEWCOMER_ONLY


_NEWCOMER_ONLY = frozenset({"newcomer"})


def reaches_the_room(verdict: Verdict) -> bool:
    """Whether a message with this verdict is posted at once (allowed or redacted; a warned
    one is, once its sender confirms): its care waits for it to be in the room."""
    return verdict.action in ("allow", "redact")
