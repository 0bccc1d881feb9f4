"""The privacy filter and the formatters, record by record."""

import asyncio
import gc
import io
import json
import logging
import sys
from collections.abc import Iterator

import pytest

from app.logs import (
    ASYNCIO_UNKNOWN,
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


# --- the asyncio logger ---------------------------------------------------------------------

# What a member typed, as it could reach an exception message, a coroutine's arguments or a
# callback's. Built at run time, so no source line of a traceback below carries it either.
SECRET = " ".join(["I", "want", "to", "end", "it", "all"])


@pytest.fixture
def root_output() -> Iterator[list[io.StringIO]]:
    """Both production formats on the root logger, as ``log_config`` installs them."""
    streams = [io.StringIO(), io.StringIO()]
    handlers = [
        build_handler(streams[0], json_lines=True),
        build_handler(streams[1], json_lines=False),
    ]
    root = logging.getLogger()
    for handler in handlers:
        root.addHandler(handler)
    try:
        yield streams
    finally:
        for handler in handlers:
            root.removeHandler(handler)


async def _share(text: str) -> None:
    raise ValueError(text)


def _failure(text: str) -> ValueError:
    try:
        raise ValueError(text)
    except ValueError as exc:
        return exc


def test_the_loops_exception_handler_logs_no_content(root_output: list[io.StringIO]) -> None:
    loop = asyncio.new_event_loop()
    try:
        task = loop.create_task(_share(SECRET))  # repr: coro=<_share() ...> exception=...
        loop.run_until_complete(asyncio.wait([task]))
        future = loop.create_future()
        future.set_exception(ValueError(SECRET))  # repr: exception=ValueError('...')
        handle = loop.call_soon(print, SECRET)  # repr: <Handle print('...')>
        handle.cancel()
        # What asyncio's Handle._run passes when a callback raises, and then some.
        loop.call_exception_handler(
            {
                "message": f"Exception in callback print({SECRET!r})",
                "exception": _failure(SECRET),
                "handle": handle,
                "task": task,
                "future": future,
                "protocol": SECRET,
            }
        )
        loop.call_exception_handler({"message": f"{SECRET} happened", "task": task})
        loop.call_exception_handler({"exception": _failure(SECRET)})
        assert task.exception() is not None and future.exception() is not None
    finally:
        loop.close()
    as_json, readable = (stream.getvalue() for stream in root_output)
    for output in (as_json, readable):
        assert SECRET not in output
        assert "Handle" not in output and "Task" not in output and "Future" not in output
    entries = [json.loads(line) for line in as_json.splitlines()]
    assert [(entry["logger"], entry["level"], entry["msg"]) for entry in entries] == [
        ("asyncio", "error", "Exception in callback (ValueError)"),
        ("asyncio", "error", ASYNCIO_UNKNOWN),
        ("asyncio", "error", "Unhandled exception in event loop (ValueError)"),
    ]
    # Where it happened stays; what the exception said does not.
    assert "in _failure" in entries[0]["exc"]
    assert entries[0]["exc"].endswith("ValueError: [message withheld]")
    assert "asyncio: Exception in callback (ValueError)" in readable


def test_a_task_exception_never_retrieved_logs_no_content(root_output: list[io.StringIO]) -> None:
    async def main() -> None:
        task = asyncio.get_running_loop().create_task(_share(SECRET))
        await asyncio.sleep(0.01)
        del task
        gc.collect()

    asyncio.run(main())
    as_json, readable = (stream.getvalue() for stream in root_output)
    assert SECRET not in as_json and SECRET not in readable
    entry = json.loads(as_json.splitlines()[0])
    assert entry["msg"] == "Task exception was never retrieved (ValueError)"
    assert "in _share" in entry["exc"]


@pytest.mark.parametrize(
    ("msg", "args", "shown"),
    [
        # asyncio's %-templates are its own text: they stay, never their arguments.
        (
            "Executing %s took %.3f seconds",
            (f"<Handle cb({SECRET!r})>", 0.5),
            "Executing ... took ... seconds",
        ),
        ("%r: %s", (SECRET, SECRET), "...: ..."),
        (
            "Task was destroyed but it is pending!\ntask: <Task coro=<_share()>>",
            (),
            "Task was destroyed but it is pending!",
        ),
        (
            "_GatheringFuture exception was never retrieved\nfuture: <...>",
            (),
            "_GatheringFuture exception was never retrieved",
        ),
        (
            "Fatal read error on socket transport\nprotocol: <P>",
            (),
            "Fatal read error on socket transport",
        ),
        (
            f"an error occurred during closing of asynchronous generator <g {SECRET}>",
            (),
            "an error occurred during closing of asynchronous generator",
        ),
        (f"Getting address info {SECRET} took 3ms", (), ASYNCIO_UNKNOWN),
    ],
)
def test_asyncio_lines_keep_only_fixed_text(msg: str, args: tuple[object, ...], shown: str) -> None:
    rec = record(msg, *args, name="asyncio", level=logging.WARNING)
    assert PrivacyFilter().filter(rec)
    assert rec.getMessage() == shown
    PrivacyFilter().filter(rec)  # idempotent: a second handler's filter changes nothing
    assert rec.getMessage() == shown
    assert SECRET not in JsonFormatter().format(rec)


def test_warnings_and_unraisable_exceptions_go_through_the_privacy_filter(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Both are written straight to stderr by default, past the log's filter."""
    import warnings

    from app.logs import route_stray_output

    stream = io.StringIO()
    root = logging.getLogger()
    handler = build_handler(stream, json_lines=False)
    handler.addFilter(PrivacyFilter())
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    root.addHandler(handler)
    try:
        # Another test's app may have turned capture on already, before pytest's own
        # per-test recorder replaced ``showwarning``: start from off.
        logging.captureWarnings(False)
        route_stray_output()
        with warnings.catch_warnings():
            warnings.simplefilter("always")
            warnings.warn("slow client 203.0.113.7 said hello", ResourceWarning, stacklevel=1)

        class Broken:
            def __del__(self) -> None:
                raise ValueError("Sam at 203.0.113.7 wrote: I relapsed")

        Broken()
        gc.collect()
    finally:
        root.removeHandler(handler)
        logging.captureWarnings(False)
    written = stream.getvalue()
    err = capsys.readouterr().err
    assert "slow client" in written and "unraisable exception: ValueError" in written
    assert "203.0.113.7" not in written + err
    assert "relapsed" not in written + err and "Sam" not in written + err
