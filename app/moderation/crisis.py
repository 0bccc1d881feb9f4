"""Crisis facts for the rooms core: the kind of a verdict and the facilitators' hint.

The detection rules live in ``stages/crisis.py``; this module is the small surface the rooms
core imports when it turns a crisis verdict into a ``care`` event (to the sender) and an
``alert`` event (to the facilitators).
"""

from __future__ import annotations

from .stages.crisis import HINTS, detect
from .stages.crisis import hint as _hint
from .verdict import CRISIS_KINDS, CrisisKind, Verdict

__all__ = ["CRISIS_KINDS", "HINTS", "CrisisKind", "crisis_hint", "crisis_kind", "detect"]


def crisis_kind(verdict: Verdict) -> CrisisKind | None:
    """The crisis kind of a verdict, or None when it is not a crisis."""
    return verdict.crisis_kind if verdict.crisis else None


def crisis_hint(kind: CrisisKind) -> str:
    """The suggested response shown to facilitators in the alert (never message text)."""
    return _hint(kind)
