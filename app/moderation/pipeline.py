"""The moderation pipeline: ordered stages, one verdict per message.

Theory of operation. ``Pipeline.screen(text, ctx)`` normalises the text once (``Message``),
asks every stage for a ``StageResult`` (or None), and combines them:

1. A crisis result sets ``crisis=True`` and ``crisis_kind`` and lifts results marked
   ``lifted_by_crisis`` (newcomer cooldown, flood): a cry for help is never held back for
   being someone's first message or a repeat. It never changes the action by itself.
2. Among the other results the strongest action wins: block > hold > redact > warn > allow.
3. Spans of results whose action is ``redact`` are replaced by ``[hidden]`` in the text to
   deliver (also when the final action is ``hold``: facilitators review the redacted text).
4. Categories are the results' categories, or ``{"ok"}`` when nothing was found; reasons are
   the stages' reason codes in stage order. Spans are reported on the original text.

Everything here is pure and synchronous: no clock, no I/O, no logging of text. Who is exempt
from what (facilitators from links, flood, newcomer and impersonation rules) is decided by each
stage, next to the rule it exempts from.

Adding a stage: write ``stages/<name>.py`` with a class that has ``name`` and ``check``, and
add one line to ``default_stages``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Protocol

from . import scans
from .context import ScreenContext
from .message import Message
from .policy import Policy
from .stages.abuse import AbuseStage
from .stages.crisis import CrisisStage
from .stages.flood import FloodStage
from .stages.impersonation import ImpersonationStage
from .stages.links import LinksStage
from .stages.newcomer import NewcomerStage
from .stages.pii import PiiStage
from .stages.solicitation import SolicitationStage
from .verdict import REDACTION, Action, Category, CrisisKind, Span, StageResult, Verdict, stronger

__all__ = [
    "Pipeline",
    "ScreenContext",
    "Stage",
    "combine",
    "default_pipeline",
    "default_stages",
    "without_reviewer",
]


class Stage(Protocol):
    """One moderation rule family. ``check`` must be pure, fast (well under a millisecond on
    a typical message) and must not raise on any text."""

    @property
    def name(self) -> str: ...

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None: ...


def default_stages(allowed_numbers: Iterable[str] = ()) -> list[Stage]:
    """The standard stages, in order. ``allowed_numbers``: extra phone numbers that are never
    personal data (pass the care card's numbers, ``CareCard.numbers()``)."""
    return [
        NewcomerStage(),
        FloodStage(),
        LinksStage(),
        SolicitationStage(),
        PiiStage(allowed_numbers),
        AbuseStage(),
        ImpersonationStage(),
        CrisisStage(),
    ]


def _redact(display: str, spans: Sequence[Span]) -> str:
    out: list[str] = []
    pos = 0
    for span in sorted(spans, key=lambda s: s.start):
        if span.start < pos:
            # Overlapping spans were merged by the stage; keep the text consistent anyway.
            pos = max(pos, span.end)
            continue
        out.append(display[pos : span.start])
        out.append(REDACTION)
        pos = span.end
    out.append(display[pos:])
    return "".join(out)


class Pipeline:
    """Screens messages through ordered stages. Build once, share across rooms and tasks."""

    def __init__(self, stages: Sequence[Stage] | None = None) -> None:
        self._stages: tuple[Stage, ...] = tuple(default_stages() if stages is None else stages)
        # Build the shared prefilters now (~0.5 s once per process), not on the first message.
        scans.MATCHING.build()
        scans.DISPLAY.build()

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self._stages

    def screen(self, text: str, ctx: ScreenContext, *, hold: bool = True) -> Verdict:
        """Judge one message. Pure; never raises on any ``str``; see the module docstring.

        ``hold=False``: for text whose readers are its reviewers (a member's private message
        to the facilitators), the results that would hold it for review are left out, so that
        what else was found (a privacy warning, a redaction, a block) decides."""
        msg = Message.of(text)
        results = [r for stage in self._stages if (r := stage.check(msg, ctx)) is not None]
        if not hold:
            results = [r for r in results if r.action != "hold"]
        return combine(msg, results)

    def crisis(self, text: str, ctx: ScreenContext) -> CrisisKind | None:
        """The crisis kind of ``text`` by the crisis stage alone, or None: for text refused
        before it could be screened (too long, sent too fast, a report's reason), which
        reaches nobody but may still be a cry for help."""
        msg = Message.of(text)
        for stage in self._stages:
            if stage.name == "crisis" and (r := stage.check(msg, ctx)) is not None:
                return r.crisis_kind
        return None


_OK: frozenset[Category] = frozenset({"ok"})


def combine(msg: Message, results: Sequence[StageResult]) -> Verdict:
    """Combine stage results into a verdict (steps 1-4 of the module docstring)."""
    if not results:
        return Verdict("allow", _OK, (), msg.display, matching=msg.matching)
    crisis_kind: CrisisKind | None = next(
        (r.crisis_kind for r in results if r.category == "crisis"), None
    )
    if crisis_kind is not None:
        results = [r for r in results if not r.lifted_by_crisis]
    action: Action = "allow"
    for r in results:
        if r.category != "crisis":
            action = stronger(action, r.action)
    categories: frozenset[Category] = frozenset(r.category for r in results) or frozenset({"ok"})
    reasons = tuple(dict.fromkeys(reason for r in results for reason in r.reasons))
    text = msg.display
    if action in ("redact", "hold"):
        redacted = [s for r in results if r.action == "redact" for s in r.spans]
        if redacted:
            text = _redact(msg.display, redacted)
    spans = tuple(
        Span(*msg.to_original(s.start, s.end), s.category) for r in results for s in r.spans
    )
    return Verdict(
        action=action,
        categories=categories,
        reasons=reasons,
        text=text,
        spans=spans,
        crisis=crisis_kind is not None,
        crisis_kind=crisis_kind,
        matching=msg.matching,
    )


def without_reviewer(verdict: Verdict, policy: Policy) -> Verdict:
    """What a held verdict becomes when no facilitator is present to review it.

    ``policy.review_fallback`` decides: "block" (default) drops the message and tells the
    sender; "allow" delivers ``verdict.text``. Reason ``review.no_facilitator`` is added.
    Other verdicts are returned unchanged.
    """
    if verdict.action != "hold":
        return verdict
    return replace(
        verdict,
        action=policy.review_fallback,
        reasons=(*verdict.reasons, "review.no_facilitator"),
    )


_DEFAULT: Pipeline | None = None


def default_pipeline(allowed_numbers: Iterable[str] = ()) -> Pipeline:
    """The standard pipeline. Without arguments it is built once and shared (it holds no
    per-room state); pass the care card's numbers to allow-list local crisis lines."""
    global _DEFAULT
    numbers = tuple(allowed_numbers)
    if numbers:
        return Pipeline(default_stages(numbers))
    if _DEFAULT is None:
        _DEFAULT = Pipeline()
    return _DEFAULT
