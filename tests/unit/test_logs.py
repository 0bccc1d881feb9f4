"""The privacy filter and the formatters, record by record."""

import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from app.logs import (
    IP_MASK,
    REDACTED,
    JsonFormatter,
    PrivacyFilter,
    ReadableFormatter,
    build_handler,
    log_config,
    mask_addresses,
)


@pytest.mark.parametrize(
    ("raw", "masked"),
    [
        ("client 127.0.0.42:5555 joined", f"client {IP_MASK}:5555 joined"),
        ("('203.0.113.9', 8000)", f"('{IP_MASK}', 8000)"),
        ("from ::1", f"from {IP_MASK}"),
        ("[2001:db8::7]:443", f"[{IP_MASK}]:443"),
        ("fe80::1%eth0 up", f"{IP_MASK} up"),
        ("mapped ::ffff:192.0.2.1.", f"mapped {IP_MASK}."),
        ("2001:0db8:0000:0000:0000:ff00:0042:8329", IP_MASK),
        # Not addresses: left readable.
        ("starts at 18:30:00", "starts at 18:30:00"),
        ("mac aa:bb:cc:dd:ee:ff", "mac aa:bb:cc:dd:ee:ff"),
        ("version 1.2.3.4.5", "version 1.2.3.4.5"),
        ("took 12.5 ms", "took 12.5 ms"),
    ],
)
def test_mask_addresses(raw: str, masked: str) -> None:
    assert mask_addresses(raw) == masked


def record(
    msg: str, *args: object, name: str = "app.test", level: int = logging.INFO, **extra: object
) -> logging.LogRecord:
    made = logging.LogRecord(name, level, __file__, 1, msg, args or None, None)
    for key, value in extra.items():
        setattr(made, key, value)
    return made


def test_filter_renders_and_masks_the_message() -> None:
    rec = record("connection from %s closed", "198.51.100.4")
    assert PrivacyFilter().filter(rec)
    assert rec.getMessage() == f"connection from {IP_MASK} closed"
    assert rec.args is None


def test_filter_redacts_content_like_extra_fields() -> None:
    rec = record(
        "hello",
        text="I relapsed",
        x="my number is 555",
        pseudonym="Sam",
        ticket="t",
        token="r",
        passcode="p",
        password="pw",
        peer="10.1.2.3",
        nested={"name": "Sam", "count": 2},
        room="abc",
    )
    PrivacyFilter().filter(rec)
    for key in ("text", "x", "pseudonym", "ticket", "token", "passcode", "password"):
        assert getattr(rec, key) == REDACTED
    assert rec.peer == IP_MASK  # type: ignore[attr-defined]
    assert rec.nested == {"name": REDACTED, "count": 2}  # type: ignore[attr-defined]
    assert rec.room == "abc"  # type: ignore[attr-defined]
    assert rec.name == "app.test"  # the logger name is not a pseudonym


def test_filter_redacts_mapping_arguments() -> None:
    rec = logging.LogRecord(
        "app.test",
        logging.INFO,
        __file__,
        1,
        "%(name)s said %(n)d",
        ({"name": "Sam", "n": 3},),
        None,
    )
    PrivacyFilter().filter(rec)
    assert rec.getMessage() == f"{REDACTED} said 3"


def test_filter_masks_exception_text() -> None:
    try:
        raise ConnectionError("reset by 192.0.2.77")
    except ConnectionError:
        rec = logging.LogRecord(
            "app.test",
            logging.ERROR,
            __file__,
            1,
            "failed",
            None,
            exc_info=sys.exc_info(),
        )
    PrivacyFilter().filter(rec)
    assert rec.exc_text is not None
    assert "192.0.2.77" not in rec.exc_text
    assert IP_MASK in rec.exc_text


@pytest.mark.parametrize(
    ("name", "level", "msg", "args"),
    [
        # uvicorn's sansio, websockets and wsproto WebSocket lines: address + path with query.
        ("uvicorn.error", logging.INFO, '%s - "WebSocket %s" [accepted]', ("1.2.3.4:5", "/ws?t=1")),
        ("uvicorn.error", logging.INFO, '%s - "WebSocket %s" 403', ("1.2.3.4:5", "/ws?t=1")),
        ("uvicorn.error", logging.INFO, '%s - "WebSocket %s" %d', ("1.2.3.4:5", "/ws", 404)),
        # websockets' frame dumps at DEBUG carry message text.
        ("uvicorn.error", logging.DEBUG, "< TEXT %s", ("'I relapsed' [10 bytes]",)),
        ("websockets.server", logging.DEBUG, "> TEXT %s", ("'hi' [2 bytes]",)),
    ],
)
def test_filter_drops_lines_that_only_carry_private_data(
    name: str, level: int, msg: str, args: tuple[object, ...]
) -> None:
    assert not PrivacyFilter().filter(record(msg, *args, name=name, level=level))


def test_filter_is_idempotent() -> None:
    rec = record("from %s", "192.0.2.1", token="abc")
    PrivacyFilter().filter(rec)
    first = (rec.getMessage(), rec.token)  # type: ignore[attr-defined]
    PrivacyFilter().filter(rec)
    assert (rec.getMessage(), rec.token) == first  # type: ignore[attr-defined]


def test_json_lines_carry_level_logger_message_and_extras() -> None:
    rec = record("joined %s", "room", route="/ws", status=101)
    PrivacyFilter().filter(rec)
    line = JsonFormatter().format(rec)
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["level"] == "info"
    assert entry["logger"] == "app.test"
    assert entry["msg"] == "joined room"
    assert entry["route"] == "/ws" and entry["status"] == 101
    assert entry["ts"].endswith("+00:00")


def test_readable_format_for_terminals() -> None:
    rec = record("GET %s %d", "/healthz", 200, route="/healthz")
    line = ReadableFormatter().format(rec)
    assert line.endswith("INFO    app.test: GET /healthz 200 route=/healthz")


@pytest.fixture
def isolated_logger() -> Iterator[logging.Logger]:
    logger = logging.getLogger("app.test.isolated")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    yield logger
    logger.handlers.clear()
    logger.propagate = True


def test_build_handler_applies_filter_and_json(isolated_logger: logging.Logger) -> None:
    stream = io.StringIO()
    isolated_logger.addHandler(build_handler(stream, json_lines=True))
    isolated_logger.info("peer %s", "2001:db8::1", extra={"pseudonym": "Sam"})
    entry = json.loads(stream.getvalue())
    assert entry["msg"] == f"peer {IP_MASK}"
    assert entry["pseudonym"] == REDACTED


def test_json_chosen_when_stream_is_not_a_terminal() -> None:
    handler = build_handler(io.StringIO())
    assert isinstance(handler.formatter, JsonFormatter)


def test_log_config_keeps_frame_dumps_out_even_at_debug() -> None:
    config = log_config("debug", json_lines=True)
    assert config["root"]["level"] == "DEBUG"
    for name in ("uvicorn.error", "websockets"):
        assert config["loggers"][name]["level"] == "INFO"
    assert config["loggers"]["uvicorn.access"]["handlers"] == []
    assert config["loggers"]["uvicorn.access"]["propagate"] is False
    assert config["handlers"]["default"]["filters"] == ["privacy"]
    assert config["formatters"]["haven"]["json_lines"] is True
