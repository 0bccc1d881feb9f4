"""Start-up and shut-down of the meetings package (a lifespan hook for ``app.main``).

On entry: with ``settings.demo``, the demo account and meeting (``app.meetings.demo``); its id
goes on ``app.state.demo_meeting_id`` (None otherwise) so the room core can open it. Then the
retention purge starts as a background task: once now, then hourly. On exit the task is
cancelled and awaited.
"""

import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI

from app.auth.dependencies import system_clock
from app.meetings.demo import announcement, ensure_demo
from app.meetings.purge import run_periodically
from app.meetings.runtime import RecentViews
from app.tasks import running


@asynccontextmanager
async def meetings_lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings = app.state.settings

    def now() -> datetime:
        # Read on every call: tests may install app.state.clock after start-up.
        clock = getattr(app.state, "clock", system_clock)
        return clock()

    app.state.demo_meeting_id = None
    app.state.meeting_views = RecentViews()
    if settings.demo:
        demo = await ensure_demo(app.state.sessionmaker, now(), settings.room_capacity_default)
        if demo is not None:
            app.state.demo_meeting_id = demo.meeting_id
            base = settings.public_url or f"http://{settings.host}:{settings.port}"
            # stdout, not the log: the password is for the operator's eyes once, and log
            # files outlive the terminal.
            print(announcement(demo, base), file=sys.stdout, flush=True)

    purge = run_periodically(app.state.sessionmaker, settings.retention_days, now)
    async with running(purge, name="retention-purge"):
        yield
