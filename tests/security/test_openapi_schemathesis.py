"""schemathesis against Haven's own OpenAPI document, on the live server of the abuse suite.

Every operation of ``/api/openapi.json`` gets generated requests, valid and invalid (schemathesis
4's examples, coverage and fuzzing phases: boundary values, wrong types, missing and unknown
fields, bodies that are not JSON), sent over HTTP to the real server with an administrator's
bearer token so the account endpoints are reached too. Every response must be no server error
(5xx), carry a documented status code and content type, and match the documented schema.

Examples are bounded to keep ``make test`` fast on a shared 2-core machine: ``EXAMPLES`` per
operation in the fuzzing phase (plus the coverage phase's deterministic cases), and fewer for
the operations that run argon2 on most requests. ``CASES_RUN`` counts the requests sent.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.config import Settings
from app.main import create_app
from tests.security.harness import ThreadedHaven

EXAMPLES = 50
ARGON2_EXAMPLES = 10
# Operations that verify or hash a password run argon2 (0.1-0.3 s of CPU each here): fewer
# examples and no coverage phase (its boundary cases of every body field number in hundreds).
ARGON2_BOUND = [
    "POST /api/auth/login",
    "DELETE /api/auth/totp",
    "POST /api/auth/invites/accept",
    "POST /api/meetings",  # a passcode in the body is hashed
]
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
SETTINGS: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
    "database": None,
}
CASES_RUN: dict[str, int] = {}


def _openapi() -> dict[str, Any]:
    # The document depends on code only; unvalidated Settings with a key of their own touch no
    # data directory at collection time (a clean checkout has none). A test below checks that
    # the live server serves exactly this.
    settings = Settings.model_construct(behind_tls=False, secret_key=SecretStr("k" * 64))
    return create_app(settings).openapi()


OPENAPI = _openapi()
schema = schemathesis.openapi.from_dict(OPENAPI)
argon2_schema = schemathesis.openapi.from_dict(
    OPENAPI, config=schemathesis.Config.from_dict({"phases": {"coverage": {"enabled": False}}})
)


class Tokens:
    """A valid facilitator session for each call; renewed after a generated logout ends it."""

    def __init__(self, haven: ThreadedHaven) -> None:
        self.haven = haven
        self._lock = threading.Lock()
        self.token = self._new()

    def _new(self) -> str:
        return self.haven.submit(self.haven.session_token("host")).result(10)

    def renew(self) -> None:
        with self._lock:
            self.token = self._new()


_tokens: Tokens | None = None


def tokens_for(haven: ThreadedHaven) -> Tokens:
    global _tokens  # noqa: PLW0603 - one session for the module, made on first use
    if _tokens is None or _tokens.haven is not haven:
        _tokens = Tokens(haven)
    return _tokens


def call(case: Any, haven: ThreadedHaven) -> None:
    key = f"{case.method} {case.path}"
    CASES_RUN[key] = CASES_RUN.get(key, 0) + 1
    tokens = tokens_for(haven)
    assert haven.live is not None
    try:
        case.call_and_validate(
            base_url=haven.live.url,
            headers={"authorization": f"Bearer {tokens.token}"},
            checks=CHECKS,
            timeout=10,
        )
    finally:
        if case.path == "/api/auth/logout":
            tokens.renew()
    assert haven.alive(), "the server died"


@schema.exclude(name=ARGON2_BOUND).parametrize()
@settings(max_examples=EXAMPLES, **SETTINGS)
def test_every_operation_answers_as_documented_and_never_5xx(
    case: Any, haven: ThreadedHaven
) -> None:
    call(case, haven)


@argon2_schema.include(name=ARGON2_BOUND).parametrize()
@settings(max_examples=ARGON2_EXAMPLES, **SETTINGS)
def test_password_operations_answer_as_documented_and_never_5xx(
    case: Any, haven: ThreadedHaven
) -> None:
    call(case, haven)


async def test_the_live_server_serves_the_document_under_test(haven: ThreadedHaven) -> None:
    assert haven.live is not None
    async with httpx.AsyncClient(base_url=haven.live.url) as http:
        served = (await http.get("/api/openapi.json")).json()
    assert served == OPENAPI
