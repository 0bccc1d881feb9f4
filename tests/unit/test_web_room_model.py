"""The web client's room model (web/js/room.js, no DOM) under node: it must keep what the
server keeps."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOM_JS = Path(__file__).resolve().parents[2] / "web" / "js" / "room.js"
PROBE = """
import { Room } from %s;
const [welcome, events] = JSON.parse(process.argv[1]);
const r = new Room(welcome);
const seen = [];
const view = ([k, v]) => [k, { r: v.r, muted: !!v.muted }];
for (const e of events) {
  r.apply(e);
  const members = Object.fromEntries([...r.members].map(view));
  seen.push({ position: r.position(), muted: r.muted, warned: r.warned, members });
}
console.log(JSON.stringify(seen));
"""


def run(welcome: dict[str, Any], events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is missing: run `make test` (it installs the test tools)")
    script = PROBE % json.dumps(ROOM_JS.as_uri())
    done = subprocess.run(
        [node, "--input-type=module", "-e", script, json.dumps([welcome, events])],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    return list(json.loads(done.stdout))


def welcome(me: str, role: str, *, visible: bool = True, **room: Any) -> dict[str, Any]:
    members = [
        {"m": "host", "n": "Host", "r": "host"},
        {"m": "ann", "n": "Ann", "r": "member", "muted": True},
        {"m": "bob", "n": "Bob", "r": "member"},
    ]
    body: dict[str, Any] = {"phase": "live", "members_visible": visible, "hands": [], **room}
    if visible or role != "member":
        body["members"] = members
    else:
        body["members"] = [m for m in members if m["m"] == me]
    return {"t": "welcome", "me": me, "role": role, "seq": 5, "room": body}


def test_a_mute_outlives_a_promotion_but_not_the_host_role() -> None:
    seen = run(
        welcome("host", "host"),
        [
            {"s": 6, "t": "role", "m": "ann", "r": "cofac"},
            {"s": 7, "t": "role", "m": "ann", "r": "host"},
        ],
    )
    assert seen[0]["members"]["ann"] == {"r": "cofac", "muted": True}
    assert seen[1]["members"]["ann"] == {"r": "host", "muted": False}


def test_with_the_list_hidden_the_place_in_the_queue_is_the_servers() -> None:
    seen = run(
        welcome("bob", "member", visible=False),
        [{"s": 6, "t": "hand", "m": "bob", "up": True}],
    )
    # Bob sees only his own hand: the place comes from the server's `queue` frame (roomview),
    # never from counting a list that holds him alone.
    assert seen[0]["position"] is None


def test_a_snapshot_taken_after_the_share_warning_keeps_it() -> None:
    # A member who resumes (or is admitted) after the 30-second warning: the timer still says
    # the time is nearly, or already, up.
    floor = {"m": "ann", "n": "Ann", "until": None, "warned": True}
    seen = run(welcome("bob", "member", floor=floor), [{"s": 6, "t": "count", "c": 3}])
    assert seen[0]["warned"] is True
    floor = {"m": "ann", "n": "Ann", "until": 10_000}  # an older server: no field, no warning
    assert (
        run(welcome("bob", "member", floor=floor), [{"s": 6, "t": "count", "c": 3}])[0]["warned"]
        is False
    )
