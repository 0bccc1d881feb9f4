"""Text UTF-8 cannot encode, piece by piece: the check, ``InputModel``, and the two handlers.

The live server's routes are covered in tests/security/test_bad_text.py; here the handlers
run on a bare FastAPI app, so the backstop is exercised by a model that does not derive from
``InputModel``, which no Haven route has.
"""

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, Field, ValidationError, field_validator

from app.api.validation import (
    INVALID_TEXT,
    InputModel,
    has_unencodable_text,
    unencodable_text_handler,
    validation_error_handler,
)
from app.auth.schemas import LoginRequest
from app.logs import build_handler
from app.meetings.schemas import MeetingCreate, MeetingUpdate
from app.rooms.router import TicketRequest

LONE = "\ud800"
CANARY = "canary-of-the-validation-test"


@pytest.mark.parametrize(
    "value",
    [
        LONE,
        "\udc80",  # what surrogateescape makes of a byte that is not UTF-8 (a CLI argument)
        f"fine {LONE} text",
        {"key": LONE},
        {LONE: "value"},
        [1, "ok", {"deep": [("x", {LONE})]}],
        "ana\x00",  # NUL: PostgreSQL refuses it in text
        {"title": "a\x00b"},
    ],
)
def test_unencodable_text_is_found_anywhere(value: object) -> None:
    assert has_unencodable_text(value)


@pytest.mark.parametrize(
    "value",
    ["", "plain", "Café, Καλημέρα, 你好, 😀 \U0010ffff", {"é": ["😀", 1, None, 2.5]}, 42, None],
)
def test_valid_text_passes(value: object) -> None:
    assert not has_unencodable_text(value)


def test_deep_nesting_does_not_recurse() -> None:
    value: object = LONE
    for _ in range(100_000):
        value = [value]
    assert has_unencodable_text(value)


def test_input_model_refuses_before_any_other_rule() -> None:
    seen: list[str] = []

    class Probe(InputModel):
        text: str = Field(max_length=3)

        @field_validator("text")
        @classmethod
        def _note(cls, value: str) -> str:
            seen.append(value)
            return value

    with pytest.raises(ValidationError) as refused:
        Probe.model_validate({"text": f"{CANARY}{LONE}"})
    assert [error["type"] for error in refused.value.errors()] == [INVALID_TEXT]
    assert seen == []
    assert Probe(text="abc").text == "abc"


@pytest.mark.parametrize(
    ("model", "data"),
    [
        (LoginRequest, {"username": "ana", "password": LONE}),
        (TicketRequest, {"passcode": LONE}),
        (TicketRequest, {"device": f"{CANARY}{LONE}"}),
        (MeetingCreate, {"title": LONE}),
        (MeetingCreate, {"title": "ok", "readings": [{"title": "r", "text": LONE}]}),
        (MeetingCreate, {"title": "ok", "policy": {LONE: 1}}),
        (MeetingUpdate, {"description": LONE}),
    ],
)
def test_every_request_body_model_refuses_unencodable_text(
    model: type[BaseModel], data: dict[str, object]
) -> None:
    with pytest.raises(ValidationError) as refused:
        model.model_validate(data)
    assert [error["type"] for error in refused.value.errors()] == [INVALID_TEXT]


class Unguarded(BaseModel):
    """A body model that forgot ``InputModel``: only the app-wide handlers stand."""

    text: str
    count: int = 0


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    app = FastAPI()
    app.add_exception_handler(RequestValidationError, validation_error_handler)
    app.add_exception_handler(UnicodeEncodeError, unencodable_text_handler)

    @app.post("/hash")
    async def hash_it(body: Unguarded) -> dict[str, int]:
        return {"bytes": len(body.text.encode())}

    @app.post("/ascii")
    async def ascii_only(body: Unguarded) -> dict[str, int]:
        return {"bytes": len(body.text.encode("ascii"))}  # a server bug for "é"

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as http:
        yield http


async def _post(client: httpx.AsyncClient, path: str, body: object) -> httpx.Response:
    # ensure_ascii: a lone surrogate travels as the escape \ud800, which json.loads accepts.
    return await client.post(
        path, content=json.dumps(body), headers={"content-type": "application/json"}
    )


def _is_invalid_text(response: httpx.Response) -> bool:
    return (
        response.status_code == 422
        and response.json()["detail"]["code"] == INVALID_TEXT
        and CANARY not in response.text
    )


async def test_the_backstop_turns_a_surrogate_that_got_through_into_422(
    client: httpx.AsyncClient, isolated_root: io.StringIO
) -> None:
    response = await _post(client, "/hash", {"text": f"{CANARY}{LONE}"})
    assert _is_invalid_text(response), response.text
    logged = isolated_root.getvalue()
    assert "should derive from InputModel" in logged
    assert "/hash" in logged
    assert CANARY not in logged


async def test_a_validation_error_quoting_unencodable_text_is_422_not_500(
    client: httpx.AsyncClient,
) -> None:
    # FastAPI's list would echo the input, and could not be rendered.
    response = await _post(client, "/hash", {"text": "ok", "count": f"{CANARY}{LONE}"})
    assert _is_invalid_text(response), response.text
    response = await _post(client, "/hash", {f"{CANARY}{LONE}": 1})  # only in a key
    assert _is_invalid_text(response), response.text


async def test_other_errors_keep_their_shape(client: httpx.AsyncClient) -> None:
    not_a_number = await _post(client, "/hash", {"text": "x", "count": "many"})
    assert not_a_number.status_code == 422
    assert isinstance(not_a_number.json()["detail"], list)  # FastAPI's shape (docs/api.md)
    assert (await _post(client, "/hash", {"text": "Café 😀"})).json() == {"bytes": 10}
    # A UnicodeEncodeError that is not about a surrogate is the server's bug: still a 500.
    assert (await _post(client, "/ascii", {"text": "Café"})).status_code == 500


@pytest.fixture
def isolated_root() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = build_handler(stream, json_lines=True)
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
