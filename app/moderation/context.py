"""What the pipeline knows about the sender and the room when it screens a message."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .policy import Policy

Role = Literal["host", "cofac", "member"]


@dataclass(frozen=True, slots=True)
class ScreenContext:
    """Sender and room facts for one ``Pipeline.screen`` call (the rooms core builds it).

    ``recent`` holds this sender's recent messages, newest last, in matching form: keep
    ``app.moderation.normalise.matching_form(text)`` of each delivered message (it is not
    readable text worth logging either; keep it in memory only). The last 10 are used.
    """

    role: Role = "member"
    policy: Policy = field(default_factory=Policy)
    recent: Sequence[str] = ()
    facilitator_names: Sequence[str] = ()
    confirmed: bool = False
    joined_s_ago: float = 1e9
    sent_count: int = 0
    trusted: bool = False

    @property
    def is_facilitator(self) -> bool:
        return self.role != "member"
