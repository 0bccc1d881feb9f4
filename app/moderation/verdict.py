"""Moderation vocabulary: actions, categories, spans, stage results and the final verdict.

Everything here is a frozen value. A verdict carries stable reason codes ("pii.phone",
"abuse.insult", ...) and never a copy of the sender's words beyond ``text``, the text to
deliver; callers must not log ``text``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, get_args

Action = Literal["allow", "warn", "redact", "hold", "block"]
"""What the rooms core does with a message.

- allow: deliver ``Verdict.text``.
- warn: do NOT deliver; tell the sender privately (``warn`` reply with spans). The sender may
  resend with ``ok=true`` (``ScreenContext.confirmed``), which lifts the warning.
- redact: deliver ``Verdict.text``, in which the flagged spans were replaced by ``[hidden]``.
- hold: send privately to the room's facilitators for review; deliver only on approval.
  When no facilitator is present, apply ``Policy.review_fallback`` (see ``without_reviewer``).
- block: do not deliver; tell the sender privately why (reason codes).
"""

Category = Literal["crisis", "pii", "harassment", "spam", "impersonation", "newcomer", "ok"]

CrisisKind = Literal["suicide", "self_harm", "overdose", "danger"]

ACTIONS: tuple[Action, ...] = get_args(Action)
CATEGORIES: tuple[Category, ...] = get_args(Category)
CRISIS_KINDS: tuple[CrisisKind, ...] = get_args(CrisisKind)

ACTION_RANK: dict[Action, int] = {"allow": 0, "warn": 1, "redact": 2, "hold": 3, "block": 4}
"""Strength order used to combine stage results: the strongest action wins."""

REDACTION = "[hidden]"


def stronger(a: Action, b: Action) -> Action:
    """Return the stronger of two actions (block > hold > redact > warn > allow)."""
    return a if ACTION_RANK[a] >= ACTION_RANK[b] else b


@dataclass(frozen=True, slots=True)
class Span:
    """A half-open range ``[start, end)`` of code points in the text the sender typed."""

    start: int
    end: int
    category: Category


@dataclass(frozen=True, slots=True)
class StageResult:
    """What one stage found.

    ``spans`` are in display-form coordinates (``Message.display``); the pipeline maps them to
    the original text. ``lifted_by_crisis`` marks results that a crisis verdict overrides, so
    that a cry for help from a newcomer or a repeated "help" is never held back.
    """

    category: Category
    action: Action
    reasons: tuple[str, ...]
    spans: tuple[Span, ...] = ()
    crisis_kind: CrisisKind | None = None
    lifted_by_crisis: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """The pipeline's decision for one message.

    ``crisis`` never changes ``action`` by itself: whatever the action, when ``crisis`` is true
    the rooms core sends the care card privately to the sender and an alert (``crisis_kind``,
    ``app.moderation.stages.crisis.hint(kind)``) to the facilitators.
    """

    action: Action
    categories: frozenset[Category]
    reasons: tuple[str, ...]
    text: str
    spans: tuple[Span, ...] = ()
    crisis: bool = False
    crisis_kind: CrisisKind | None = None
    matching: str = field(default="", repr=False, compare=False)
    """The message's matching form (``normalise.matching_form``), already computed by the
    pipeline: the rooms core keeps the sender's last few for the flood stage."""
