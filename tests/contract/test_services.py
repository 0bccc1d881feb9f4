"""The throwaway services the contract suites run against are real and isolated per test."""

import pytest
import redis.asyncio as redis
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine


@pytest.mark.redis
async def test_redis_url_is_a_live_empty_redis(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert await client.ping()
        assert await client.dbsize() == 0
        await client.set("left-behind", "1")  # the next test must not see it
    finally:
        await client.aclose()


@pytest.mark.redis
async def test_redis_is_flushed_between_tests(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    try:
        assert await client.get("left-behind") is None
    finally:
        await client.aclose()


@pytest.mark.postgres
async def test_postgres_url_is_a_fresh_database(postgres_url: str) -> None:
    engine = create_async_engine(postgres_url)
    try:
        async with engine.connect() as connection:
            version = (await connection.execute(text("SHOW server_version"))).scalar_one()
            tables = (
                await connection.execute(
                    text(
                        "SELECT count(*) FROM information_schema.tables WHERE table_schema='public'"
                    )
                )
            ).scalar_one()
    finally:
        await engine.dispose()
    assert int(str(version).split(".")[0]) >= 13
    assert tables == 0
