"""Two workers share meetings through Redis: one order for all, and resume on either."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from app.config import Settings
from tests.support.rooms import Meeting, create_meeting
from tests.support.server import serve


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
