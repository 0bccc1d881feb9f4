"""The live-server helper itself: hooks run around the real server, failures surface."""

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import FastAPI

from app.config import Settings
from app.main import LifespanHook
from tests.support.server import serve


async def test_hooks_enter_after_the_database_and_exit_in_reverse(settings: Settings) -> None:
    calls: list[str] = []

    def hook(name: str) -> LifespanHook:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            assert app.state.engine is not None  # the database comes first
            calls.append(f"enter {name}")
            yield
            calls.append(f"exit {name}")

        return lifespan

    async with serve(settings, hooks=[hook("a"), hook("b")]) as server:
        assert calls == ["enter a", "enter b"]
        async with httpx.AsyncClient(base_url=server.url) as client:
            assert (await client.get("/healthz")).status_code == 200
    assert calls == ["enter a", "enter b", "exit b", "exit a"]


async def test_a_failing_start_up_raises_instead_of_hanging(settings: Settings) -> None:
    @asynccontextmanager
    async def broken(app: FastAPI) -> AsyncIterator[None]:
        raise OSError("room log unreachable")
        yield

    with pytest.raises(RuntimeError, match="failed to start"):
        async with serve(settings, hooks=[broken]):
            pytest.fail("the server must not report ready")
