"""Verdicts as operators and the evaluation set see them: five coarse categories."""

from __future__ import annotations

from typing import Literal, get_args

from .verdict import Category, Verdict

ReportCategory = Literal["crisis", "pii", "harassment", "spam", "ok"]
REPORT_CATEGORIES: tuple[ReportCategory, ...] = get_args(ReportCategory)

# A member posing as the host (often to move people to a scam link) is deceptive spam for an
# operator; the newcomer cooldown is about who sent a message, not what it says.
_MAP: dict[Category, ReportCategory | None] = {
    "crisis": "crisis",
    "pii": "pii",
    "harassment": "harassment",
    "spam": "spam",
    "impersonation": "spam",
    "newcomer": None,
    "ok": "ok",
}


def report_categories(verdict: Verdict) -> list[ReportCategory]:
    """Sorted coarse categories of a verdict; ``["ok"]`` when nothing content-related."""
    found = {c for cat in verdict.categories if (c := _MAP[cat]) is not None and c != "ok"}
    return sorted(found) if found else ["ok"]


def report_line(verdict: Verdict) -> dict[str, object]:
    """The JSON object ``haven moderation check`` prints for one message (no text)."""
    return {
        "verdict": verdict.action,
        "categories": report_categories(verdict),
        "reasons": list(verdict.reasons),
    }
