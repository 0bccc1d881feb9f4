"""Newcomer cooldown: hold the first messages of a member who has just joined.

A raid of fresh pseudonyms is the common way to bomb a meeting; holding each newcomer's first
``policy.newcomer_cooldown`` messages (while they joined less than ``newcomer_window_s`` ago)
lets facilitators approve real newcomers and drop the rest. Facilitators and members a
facilitator trusted are exempt; a crisis message is never held back by this stage.
"""

from __future__ import annotations

from ..context import ScreenContext
from ..message import Message
from ..verdict import StageResult


class NewcomerStage:
    name = "newcomer"

    def check(self, msg: Message, ctx: ScreenContext) -> StageResult | None:
        policy = ctx.policy
        if ctx.is_facilitator or ctx.trusted or policy.newcomer_cooldown == 0:
            return None
        if ctx.joined_s_ago >= policy.newcomer_window_s:
            return None
        if ctx.sent_count >= policy.newcomer_cooldown:
            return None
        return StageResult("newcomer", "hold", ("newcomer.cooldown",), lifted_by_crisis=True)
