"""Join-time pseudonym checks for the rooms core (rules in ``stages/impersonation.py``)."""

from __future__ import annotations

from .stages.impersonation import (
    MAX_NAME_CHARS,
    RESERVED_WORDS,
    is_confusable,
    pseudonym_problem,
    skeleton,
)

__all__ = ["MAX_NAME_CHARS", "RESERVED_WORDS", "is_confusable", "pseudonym_problem", "skeleton"]
