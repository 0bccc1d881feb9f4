"""Two workers share meetings through Redis: one order for all, and resume on either."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path

import httpx

from app.config import Settings
from tests.support.rooms import UNIT_S, Meeting, create_meeting
from tests.support.server import LiveServer, serve
from tests.support.services import free_port


@asynccontextmanager
async def two_workers(tmp_path: Path, redis_url: str) -> AsyncIterator[tuple[Meeting, Meeting]]:
    """Two servers on one Redis, and one meeting as seen through each."""
    settings = Settings(data_dir=tmp_path / "data", room_log_url=redis_url)
    async with (
        serve(settings) as one,
        serve(settings, migrate=False) as two,
        httpx.AsyncClient(base_url=one.url) as http_one,
        httpx.AsyncClient(base_url=two.url) as http_two,
    ):
        meeting_one = await create_meeting(one, http_one)
        meeting_two = Meeting(two, meeting_one.id, meeting_one.token, http_two)
        meeting_two.validator = meeting_one.validator
        yield meeting_one, meeting_two


async def test_two_workers_serve_one_meeting_and_members_resume_on_the_other(
    tmp_path: Path, redis_url: str
) -> None:
    async with two_workers(tmp_path, redis_url) as (meeting_one, meeting_two):
        host = await meeting_one.host()
        await host.send({"t": "start"})
        await host.event("phase", p="live")
        ann = await meeting_two.join("Ann")  # on the other worker
        assert ann.welcome["room"]["phase"] == "live"
        bob = await meeting_one.join("Bob")

        await ann.say("from worker two", cid="a1")
        await bob.say("from worker one", cid="b1")
        orders = []
        for member in (host, ann, bob):
            got = [(await member.event("msg"))["s"] for _ in range(2)]
            orders.append(got)
        assert orders[0] == orders[1] == orders[2]

        # Bob's link drops; he resumes on worker two and gets exactly what he missed.
        bob.ws.transport.abort()
        await host.event("away", m=bob.me)
        await ann.say("while you were away", cid="a2")
        await host.event("msg", cid="a2")
        resumed = await meeting_two.resume(bob)
        assert resumed.welcome["replay"] is True and resumed.me == bob.me
        missed = await resumed.event("msg")
        assert missed["cid"] == "a2"

        # A facilitator's control on worker one reaches members on worker two.
        await host.send({"t": "mute", "m": ann.me, "on": True})
        await ann.event("mute", m=ann.me, on=True)

        await host.send({"t": "end"})
        assert await ann.closed() == 4004
        assert await resumed.closed() == 4004


async def test_a_member_resumes_on_a_worker_that_did_not_follow_the_meeting_yet(
    tmp_path: Path, redis_url: str
) -> None:
    async with two_workers(tmp_path, redis_url) as (meeting_one, meeting_two):
        host = await meeting_one.host()
        await host.send({"t": "start"})
        await host.event("phase", p="live")
        ann = await meeting_one.join("Ann")  # worker two has nobody of this meeting
        ann.ws.transport.abort()
        await host.event("away", m=ann.me)
        await host.say("while you were away", cid="h1")
        resumed = await meeting_two.resume(ann)
        assert resumed.welcome["replay"] is True and resumed.me == ann.me
        assert (await resumed.event("msg"))["cid"] == "h1"
        await resumed.say("back, on the other worker", cid="a1")
        await host.event("msg", cid="a1")


async def test_a_flushed_redis_closes_members_resumably_and_the_meeting_can_restart(
    tmp_path: Path, redis_url: str
) -> None:
    import redis.asyncio as aioredis

    settings = Settings(data_dir=tmp_path / "data", room_log_url=redis_url)
    async with serve(settings) as server, httpx.AsyncClient(base_url=server.url) as http:
        meeting = await create_meeting(server, http)
        host = await meeting.host()
        await host.send({"t": "start"})
        await host.event("phase", p="live")
        ann = await meeting.join("Ann")
        client = aioredis.from_url(redis_url)
        await client.flushall()
        await client.aclose()
        # History is gone: members are told to come back, not left on a silent replica.
        assert await ann.closed(timeout=10) == 4008
        assert await host.closed(timeout=10) == 4008
        again = await meeting.host()
        assert again.welcome["room"]["phase"] == "waiting"
        assert again.welcome["epoch"] != host.welcome["epoch"]


@contextmanager
def worker_process(settings: Settings, log: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """`haven serve` in a child process on the same database and Redis; yields it and its URL
    once uvicorn has started. Its log goes to ``log`` (a pipe left unread would block it)."""
    port = free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("HAVEN_")}
    env.update(
        HAVEN_DATA_DIR=str(settings.data_dir),
        HAVEN_ROOM_LOG_URL=settings.room_log_url,
        HAVEN_RESUME_WINDOW_S=str(settings.resume_window_s),
        HAVEN_PORT=str(port),
    )
    haven = str(Path(sys.executable).with_name("haven"))
    with log.open("wb") as out:
        process = subprocess.Popen([haven, "serve"], env=env, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 60
        while b"Application startup complete" not in log.read_bytes():
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        yield process, f"http://127.0.0.1:{port}"
    finally:
        process.kill()
        process.wait(timeout=30)


async def test_members_of_a_worker_that_crashes_go_away_and_their_seats_come_free(
    tmp_path: Path, redis_url: str
) -> None:
    """Ann and Bob are connected through a worker that is killed (SIGKILL: it appends nothing
    more). The other worker finds it gone from its missed heartbeats: the host sees both go
    away, then leave when their resume window ends, and the meeting goes on."""
    settings = Settings(data_dir=tmp_path / "data", room_log_url=redis_url, resume_window_s=1)
    async with serve(settings) as one, httpx.AsyncClient(base_url=one.url) as http_one:
        meeting = await create_meeting(one, http_one)
        host = await meeting.host()
        await host.send({"t": "start"})
        await host.event("phase", p="live")
        with worker_process(settings, tmp_path / "two.log") as (two, url):
            async with httpx.AsyncClient(base_url=url) as http_two:
                there = Meeting(
                    LiveServer("127.0.0.1", int(url.rsplit(":", 1)[1]), one.app, settings),
                    meeting.id,
                    meeting.token,
                    http_two,
                )
                ann = await there.join("Ann")
                bob = await there.join("Bob")
                for member in (ann, bob):
                    await host.event("join", m=member.me)
                await ann.say("said on worker two", cid="a1")
                await host.event("msg", cid="a1")
                two.send_signal(signal.SIGKILL)
                two.wait(timeout=30)
        # Their links dropped with the process, without a close frame.
        assert await ann.closed() is None and await bob.closed() is None
        gone = {ann.me, bob.me}
        away = {(await host.event("away", timeout=20 * UNIT_S))["m"] for _ in gone}
        assert away == gone
        left = {}
        for _ in gone:
            frame = await host.event("leave", timeout=10 * UNIT_S)
            left[frame["m"]] = frame["why"]
        assert left == {ann.me: "timeout", bob.me: "timeout"}
        carol = await meeting.join("Carol")
        await carol.say("still here", cid="c1")
        await host.event("msg", cid="c1")


async def test_a_co_facilitator_taken_off_the_team_on_a_worker_without_the_meeting_is_demoted(
    tmp_path: Path, redis_url: str
) -> None:
    """The edit reaches a worker that follows none of the meeting (it runs on the other one):
    that worker opens the room for the command."""
    settings = Settings(data_dir=tmp_path / "data", room_log_url=redis_url)
    async with (
        serve(settings) as one,
        serve(settings, migrate=False) as two,
        httpx.AsyncClient(base_url=one.url) as http_one,
    ):
        cole_account = await create_meeting(one, http_one, username="cole")  # for a session
        ours = await create_meeting(one, http_one, co_facilitators=["cole"])
        host = await ours.host()
        await host.send({"t": "start"})
        await host.event("phase", p="live")
        cole = await Meeting(one, ours.id, cole_account.token, http_one).join(facilitator=True)
        assert cole.welcome["role"] == "cofac"
        rooms_two = two.app.state.rooms
        assert rooms_two.hub.get(ours.id) is None
        async with httpx.AsyncClient(base_url=two.url) as http_two:
            edited = await http_two.patch(
                f"/api/meetings/{ours.id}",
                json={"co_facilitators": []},
                headers={"authorization": f"Bearer {ours.token}"},
            )
        assert edited.status_code == 200, edited.text
        await cole.event("role", m=cole.me, r="member")
        await host.event("role", m=cole.me, r="member")
        await host.say("the meeting goes on", cid="h1")
        await cole.event("msg", cid="h1")
