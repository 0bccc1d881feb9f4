"""A pure room for tests: decide + apply with a manual clock, no event loop, no log backend."""

from __future__ import annotations

from dataclasses import dataclass, field

from app.rooms import commands as sys
from app.rooms.decide import AnyCommand, Rejection, decide
from app.rooms.events import Envelope, RoomEvent
from app.rooms.reducer import apply
from app.rooms.state import RoomConfig, RoomState, name_key
from app.rooms.types import MeetingId, MemberId, Role, Seq


@dataclass
class PureRoom:
    config: RoomConfig = field(default_factory=lambda: RoomConfig(meeting_id=MeetingId("room")))
    now: int = 1_000_000
    log: list[Envelope] = field(default_factory=list)
    state: RoomState = field(init=False)

    def __post_init__(self) -> None:
        self.state = RoomState(config=self.config)

    def run(self, actor: str | None, cmd: AnyCommand) -> tuple[RoomEvent, ...] | Rejection:
        decision = decide(self.state, MemberId(actor) if actor else None, cmd, self.now)
        if isinstance(decision, Rejection):
            return decision
        for event in decision:
            envelope = Envelope(seq=Seq(len(self.log) + 1), at=self.now, event=event)
            self.log.append(envelope)
            self.state = apply(self.state, envelope)
        return decision

    def join(self, member: str, role: Role = "member", name: str | None = None, **kw: object):
        name = name or member.capitalize()
        return self.run(
            None,
            sys.Join(
                member=MemberId(member),
                name=name,
                key=name_key(name),
                role=role,
                conn=f"c-{member}",
                **kw,  # type: ignore[arg-type]
            ),
        )

    def ok(self, actor: str | None, cmd: AnyCommand) -> tuple[RoomEvent, ...]:
        result = self.run(actor, cmd)
        assert not isinstance(result, Rejection), result
        return result

    def refused(self, actor: str | None, cmd: AnyCommand) -> str:
        before = self.state
        result = self.run(actor, cmd)
        assert isinstance(result, Rejection), result
        assert self.state == before
        return result.code


def refold(config: RoomConfig, log: list[Envelope]) -> RoomState:
    state = RoomState(config=config)
    for envelope in log:
        state = apply(state, envelope)
    return state
