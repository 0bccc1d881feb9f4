"""Property-based fuzzing of the room protocol against the live server, over WebSockets.

``tests/unit/rooms/test_properties.py`` drives the pure reducer with a RuleBasedStateMachine
(roles change only by facilitator action, seqs gapless, removed and banned members never
reappear, no duplicate hands, state = refold of the log). This is the shorter run of the same
idea end to end: each hypothesis example is a fresh meeting with a host, a co-facilitator, two
members and a bystander; the host and the two members send a random sequence of frames, valid
commands (aimed at each other) and invalid ones (random JSON, wrong types, unknown fields,
huge numbers, unicode, deep nesting, non-JSON text, binary, now and then an oversized frame).
After each example, from the outside:

- the server answers: every connection still open gets a ``pong``; none was closed with a code
  other than the documented ones for what was sent (no 1011, no bare drop);
- the meeting goes on: a message of the co-facilitator (never targeted) reaches the bystander;
- every frame the server sent matches /api/protocol.json, every ``error`` has a documented
  code, and the bystander's seqs only increase;
- nobody became host or co-facilitator without a facilitator's ``role``/``host`` command.

The co-facilitator and the bystander are never aimed at and ``end`` is never sent, so each
example's end state can be checked; the pure fuzzer covers those.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import websockets
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from tests.security.harness import Addresses, BoundMeeting, ThreadedHaven, started
from tests.support.rooms import UNIT_S, Member, SchemaValidator

EXAMPLES = 40
RUNS = {"examples": 0, "frames": 0, "errors": 0, "role_changes": 0, "closed": 0}

FUZZERS = ("host", "ann", "bob")
TARGETS = ("@host", "@ann", "@bob")
DOCUMENTED_ERRORS = {
    # docs/protocol.md, "Error codes"
    "bad_json", "bad_frame", "unknown_type", "binary_frame", "too_long", "rate_limited",
    "not_allowed", "not_member", "in_lobby", "muted", "chat_closed", "slow_mode", "not_live",
    "ended", "no_such_member", "no_such_hold", "no_hands", "no_floor", "self_target",
    "invalid", "blocked", "no_facilitator",
}  # fmt: skip
REACTIONS = ("heart", "clap", "hug", "thanks", "strength")

# -- frames ------------------------------------------------------------------------------------

targets = st.sampled_from(TARGETS) | st.text(max_size=40)
words = st.text(min_size=1, max_size=120)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63, max_value=10**400)  # beyond every int64
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=60)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=15,
)


def _frame(t: str, **fields: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({"t": st.just(t), **fields})


VALID = st.one_of(
    _frame("say", cid=st.text(min_size=1, max_size=40), x=words),
    _frame("dm", cid=st.text(min_size=1, max_size=40), x=words, m=st.none() | targets),
    _frame("react", to=st.integers(1, 60), r=st.sampled_from(REACTIONS)),
    _frame("hand", up=st.booleans()),
    _frame("yield"),
    _frame("report", m=targets, why=st.text(max_size=200)),
    _frame("block", m=targets),
    _frame("unblock", m=targets),
    _frame("ping"),
    _frame("leave"),
    _frame("start"),
    _frame("admit", m=targets),
    _frame("deny", m=targets),
    _frame("admit_all"),
    _frame("mute", m=targets, on=st.booleans()),
    _frame("mute_all", on=st.booleans()),
    _frame("remove", m=targets, ban=st.booleans()),
    _frame("to_lobby", m=targets),
    _frame("lobby_say", x=words),
    _frame("lock", on=st.booleans()),
    _frame("slow", secs=st.integers(0, 3600)),
    _frame("floor", m=st.none() | targets),
    _frame("floor_end"),
    _frame("pin", i=st.none() | st.integers(0, 99)),
    _frame("role", m=targets, r=st.sampled_from(["cofac", "member"])),
    _frame("host", m=targets),
    _frame("review", h=st.text(min_size=1, max_size=32), ok=st.booleans()),
    _frame("trust", m=targets),
)


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid frame with one thing wrong: a field of the wrong type, one unknown, one missing,
    or an unknown type."""
    frame = dict(draw(VALID))
    how = draw(st.sampled_from(["retype", "unknown", "drop", "t"]))
    keys = [k for k in frame if k != "t"]
    if how == "retype" and keys:
        frame[draw(st.sampled_from(keys))] = draw(json_values)
    elif how == "drop" and keys:
        del frame[draw(st.sampled_from(keys))]
    elif how == "t":
        frame["t"] = draw(st.text(max_size=12) | json_values)
    else:
        frame[draw(st.sampled_from(["role", "r", "m", "by", "me", "admin", "s", "v"]))] = draw(
            json_values
        )
    return frame


def deep(depth: int) -> str:
    return '{"t":"say","cid":"d","x":' + "[" * depth + "]" * depth + "}"


RAW = st.one_of(
    st.text(max_size=200),  # mostly not JSON at all
    st.builds(json.dumps, json_values),  # JSON, but rarely an object with a good "t"
    st.builds(deep, st.integers(1, 8000)),
    st.binary(max_size=64),
    st.just("x" * 20_000),  # over the 16 KiB frame limit: 1009 for this sender
    st.just('{"t":"say","cid":"n","x":"hi","ok":NaN}'),
)
FRAMES = st.one_of(VALID, VALID, mutated(), RAW)
members = st.sampled_from(TARGETS)
# Facilitator commands aimed at the other fuzzers, so that roles really change now and then
# (a promoted member then fuzzes with a facilitator's powers).
AIMED = st.one_of(
    _frame("role", m=members, r=st.sampled_from(["cofac", "member"])),
    _frame("host", m=members),
    _frame("mute", m=members, on=st.booleans()),
    _frame("remove", m=members, ban=st.booleans()),
    _frame("to_lobby", m=members),
    _frame("admit", m=members),
    _frame("floor", m=members),
    _frame("trust", m=members),
)
SCRIPTS = st.lists(
    st.tuples(st.sampled_from(FUZZERS), FRAMES) | st.tuples(st.sampled_from(FUZZERS), AIMED),
    min_size=2,
    max_size=15,
)


# -- one example -------------------------------------------------------------------------------


@dataclass
class Cast:
    meeting: BoundMeeting
    members: dict[str, Member]
    checker: Member
    bystander: Member
    ids: dict[str, str] = field(default_factory=dict)
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    closed: dict[str, int | None] = field(default_factory=dict)
    oversized: set[str] = field(default_factory=set)
    left: set[str] = field(default_factory=set)
    why: dict[str, str] = field(default_factory=dict)


def aimed(value: Any, ids: dict[str, str]) -> Any:
    """Replace the placeholders ``@host``, ``@ann``, ``@bob`` with those members' ids."""
    if isinstance(value, str) and value in TARGETS:
        return ids[value[1:]]
    if isinstance(value, dict):
        return {k: aimed(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [aimed(v, ids) for v in value]
    return value


async def assemble(meeting: BoundMeeting, cohost: BoundMeeting, schema: dict[str, Any]) -> Cast:
    meeting.validator = cohost.validator = SchemaValidator(schema)
    host, bystander = await started(meeting)
    checker = await cohost.host()
    members = {"host": host, "ann": await meeting.join("Ann"), "bob": await meeting.join("Bob")}
    cast = Cast(meeting, members, checker, bystander)
    cast.ids = {name: member.me for name, member in members.items()}
    return cast


async def play(cast: Cast, script: list[tuple[str, Any]]) -> None:
    for actor, frame in script:
        member = cast.members[actor]
        if actor in cast.closed:
            continue
        payload: str | bytes
        if isinstance(frame, dict):
            frame = aimed(frame, cast.ids)
            payload = json.dumps(frame, ensure_ascii=False)
            cast.sent.append((actor, frame))
            if frame.get("t") == "leave" and set(frame) == {"t"}:
                cast.left.add(actor)
        else:
            payload = frame
        if len(payload) > cast.meeting.server.settings.max_frame_bytes:
            cast.oversized.add(actor)
        try:
            await member.ws.send(payload)
        except websockets.ConnectionClosed as exc:
            cast.closed[actor] = exc.rcvd.code if exc.rcvd else None
            cast.why[actor] = repr(exc)
        RUNS["frames"] += 1


async def settle(cast: Cast) -> None:
    """Ping every fuzzer still connected; each answers ``pong`` (or, for a fuzzer that used up
    its commands' limit, a ``rate_limited`` error: pings count against it) or has been closed."""
    for actor, member in cast.members.items():
        if actor in cast.closed:
            continue
        try:
            await member.send({"t": "ping"})
            await member.until(
                lambda f: (
                    f.get("t") == "pong"
                    or (f.get("t") == "error" and f.get("code") == "rate_limited")
                ),
                timeout=5 * UNIT_S,
            )
        except websockets.ConnectionClosed as exc:
            cast.closed[actor] = exc.rcvd.code if exc.rcvd else None
            cast.why[actor] = repr(exc)


def check_closes(cast: Cast) -> None:
    for actor, code in cast.closed.items():
        allowed: set[int | None] = {1008, 4010, 4011}  # flood of bad frames; removed; banned
        if actor in cast.oversized:
            # 1009, or no close frame at all: a client that keeps writing after the server's
            # close gets a reset, which may discard the close frame still unread.
            allowed |= {1009, None}
        if actor in cast.left:
            # 1000 says the protocol; today the server just closes the socket after ``leave``.
            allowed |= {1000, None}
        mine = [f for a, f in cast.sent if a == actor]
        got = cast.members[actor].frames[-6:]
        assert code in allowed, (actor, code, cast.why.get(actor), mine, got)


def check_frames(cast: Cast) -> None:
    """Typed errors only, and no promotion without a facilitator's command."""
    everyone = [*cast.members.values(), cast.checker, cast.bystander]
    for member in everyone:
        for frame in member.frames:
            if frame.get("t") == "error":
                assert frame["code"] in DOCUMENTED_ERRORS, frame
                RUNS["errors"] += 1
    RUNS["closed"] += len(cast.closed)
    facilitators = {cast.ids["host"], cast.checker.me}
    for event in cast.bystander.frames:
        if event.get("t") != "role":
            continue
        promoted, role = event["m"], event["r"]
        RUNS["role_changes"] += 1
        if role == "host" and promoted == cast.ids["host"]:
            # The meeting's owner hosts again whenever nobody holds the role (the host it
            # handed the meeting to left): the server's rule, not a command.
            facilitators.add(promoted)
            continue
        if role in ("host", "cofac"):
            assert any(
                sender_id in facilitators
                and (
                    (frame.get("t") == "role" and frame.get("m") == promoted and frame["r"] == role)
                    or (frame.get("t") == "host" and role == "host" and frame.get("m") == promoted)
                    or (frame.get("t") == "host" and role == "cofac" and sender_id == promoted)
                )
                for sender_id, frame in ((cast.ids[a], f) for a, f in cast.sent)
            ), (event, cast.sent)
            facilitators.add(promoted)
        else:
            facilitators.discard(promoted)
    assert cast.bystander.welcome["role"] == "member"
    assert cast.checker.welcome["role"] == "cofac"


async def run_example(
    haven: ThreadedHaven,
    address: str,
    tokens: dict[str, str],
    schema: dict[str, Any],
    script: list[Any],
) -> None:
    meeting_id = await haven.create_meeting("host", co_facilitators=["cohost"])
    meeting = BoundMeeting(haven, meeting_id, tokens["host"], address)
    cohost = meeting.seen_from(address, tokens["cohost"])
    try:
        cast = await assemble(meeting, cohost, schema)
        await play(cast, script)
        await settle(cast)
        check_closes(cast)
        # The fuzzers may have muted everyone or turned on slow mode: the bystander listens
        # and the co-facilitator, whom those never bind, speaks.
        cid = await cast.checker.say(f"still here {secrets.token_hex(2)}")
        await cast.bystander.event("msg", cid=cid, timeout=5 * UNIT_S)
        await cast.bystander.send({"t": "ping"})
        await cast.bystander.event("pong")
        assert (await meeting.http.get("/healthz")).status_code == 200
        assert haven.alive()
        check_frames(cast)
    finally:
        await cohost.aclose()
        await meeting.aclose()
    RUNS["examples"] += 1


# The server thread (uvicorn, the rooms) may touch the global random state while hypothesis
# draws the next example in this thread; that is not a strategy using ``random``.
@pytest.mark.filterwarnings("ignore:Do not use the `random` module inside strategies")
def test_random_frames_from_every_role_never_break_the_meeting(
    haven: ThreadedHaven, addresses: Addresses
) -> None:
    tokens = {
        name: haven.submit(haven.session_token(name)).result(10) for name in ("host", "cohost")
    }
    assert haven.live is not None
    schema = httpx.get(f"{haven.live.url}/api/protocol.json").json()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        # No shrinking: each replay of a live example costs a meeting and up to seconds of
        # timeouts; the failing script is reported as generated (15 frames at most).
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(script=SCRIPTS)
    # Found by this test: the host hands the meeting to a member who then leaves, and the
    # owner hosts again by the server's rule.
    @example(script=[("host", {"t": "host", "m": "@ann"}), ("ann", {"t": "leave"})])
    def play_script(script: list[tuple[str, Any]]) -> None:
        asyncio.run(run_example(haven, addresses.new(), tokens, schema, script))

    play_script()
    assert RUNS["examples"] >= EXAMPLES
    assert haven.alive()
