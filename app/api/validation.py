"""Text that UTF-8 cannot encode is refused with ``422 invalid_text``, before any work is done.

JSON can carry a UTF-16 surrogate on its own, as an escape (``"\\ud800"``) or as the bytes
``ED A0 80`` (``json.loads`` decodes bytes with ``surrogatepass``), and Starlette's
``json.loads`` turns either into a ``str`` that no UTF-8 encoder accepts. Left in, it reaches
argon2 (a password, a passcode), hashlib (a device token), SQLite (a title, a reading) or
itsdangerous (a name in a ticket) and raises ``UnicodeEncodeError``: a 500. Even FastAPI's
own 422 for such a body is a 500, since its error list echoes the input and the response is
encoded as UTF-8. No Haven field has any use for such text, so it is refused, in three places:

- ``InputModel``: every request body model derives from it. Its "before" validator walks the
  raw input (keys and values, at any depth) ahead of every other rule of the model, so when
  the request is refused nothing has run yet: no argon2, no query, no throttle count. One
  check of the whole input, rather than an annotated ``str`` type on each field, also covers
  dict keys, free-form values (a meeting's moderation ``policy``), nested models and fields
  added later. The CLI builds the same models, so it gets a clear error too.
- ``validation_error_handler`` (app-wide): a validation error that is, or quotes, such text
  answers ``422 {"detail": {"code": "invalid_text", "message": ...}}`` (the API's error
  shape: the list FastAPI would build echoes the input, which cannot be rendered, and the
  one thing to say is which rule failed). Every other validation error keeps FastAPI's list
  shape (docs/api.md).
- ``unencodable_text_handler`` (app-wide): the backstop for a body model that does not derive
  from ``InputModel``. A ``UnicodeEncodeError`` over a surrogate that escapes an HTTP route
  answers the same 422 instead of a 500, and a warning (the stack, no message: app/logs.py)
  points at the route to fix. Any other ``UnicodeEncodeError`` is a server bug and stays a
  500.

``InputModel`` refuses a NUL character too: no Haven field has a use for it, and PostgreSQL
refuses it in text (a 500 from the database, where SQLite takes it). A NUL can be rendered, so
that refusal keeps FastAPI's list shape, with the error type ``invalid_text``.
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, model_validator
from pydantic_core import PydanticCustomError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.access_log import route_template

logger = logging.getLogger(__name__)

INVALID_TEXT = "invalid_text"
INVALID_TEXT_MESSAGE = (
    "The request contains text that cannot be stored (a NUL character, or a lone UTF-16 "
    "surrogate such as \\ud800); send text as UTF-8."
)
# The only code points UTF-8 cannot encode.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _encodable(text: str) -> bool:
    return text.isascii() or _SURROGATE.search(text) is None


def has_unencodable_text(value: object, *, nul: bool = True) -> bool:
    """Whether a string anywhere in ``value`` (a key, a value, at any depth) is not UTF-8, or
    (``nul``) holds a NUL.

    Iterative, not recursive: a body nested as deep as ``json.loads`` allows must not raise
    ``RecursionError`` here."""
    pending: list[object] = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if (nul and "\x00" in item) or not _encodable(item):
                return True
        elif isinstance(item, Mapping):
            pending.extend(item.keys())
            pending.extend(item.values())
        elif isinstance(item, list | tuple | set | frozenset):
            pending.extend(item)
    return False


class InputModel(BaseModel):
    """Base of every model built from outside input (request bodies, CLI arguments).

    Refuses text that UTF-8 cannot encode before any other rule runs (see the module)."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_unencodable_text(cls, data: Any) -> Any:
        if has_unencodable_text(data):
            raise PydanticCustomError(INVALID_TEXT, INVALID_TEXT_MESSAGE)
        return data


def invalid_text_response() -> JSONResponse:
    return JSONResponse(
        {"detail": {"code": INVALID_TEXT, "message": INVALID_TEXT_MESSAGE}}, status_code=422
    )


async def validation_error_handler(request: Request, exc: Exception) -> Response:
    """FastAPI's 422, except for text UTF-8 cannot encode: ``422 invalid_text`` in the API's
    error shape, nothing echoed (FastAPI's list would quote it and could not be rendered). A
    NUL can be rendered: it keeps FastAPI's list, whose error ``type`` is ``invalid_text``,
    the shape the OpenAPI document gives every 422."""
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if has_unencodable_text(list(errors), nul=False):
        return invalid_text_response()
    return await request_validation_exception_handler(request, exc)


async def unencodable_text_handler(request: Request, exc: Exception) -> Response:
    """The backstop: a surrogate that got past the request model is still the client's 422."""
    assert isinstance(exc, UnicodeEncodeError)
    failed = exc.object[exc.start : exc.end] if isinstance(exc.object, str) else ""
    if request.scope["type"] != "http" or not _SURROGATE.search(failed):
        raise exc
    # The route template, never the path: a path can carry an invite token.
    route = route_template(request.scope)
    logger.warning(
        "unencodable text reached %s %s: its body model should derive from InputModel",
        request.method,
        route,
        exc_info=exc,
        extra={"method": request.method, "route": route},
    )
    return invalid_text_response()
