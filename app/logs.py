"""Logging: one handler on the root logger, a privacy filter on it, JSON lines or plain text.

What a log line may carry is decided here, once, for every library:
- ``PrivacyFilter`` sits on the handler, so it sees records from every logger that
  propagates to the root (uvicorn, SQLAlchemy, Haven). It masks IPv4 and IPv6 addresses,
  replaces extra fields and mapping arguments named like content or credentials
  (``SENSITIVE_FIELDS``) with ``[redacted]``, renders the message early so the masked text
  is what every formatter sees, and drops uvicorn's own WebSocket lines (they carry the
  client address and the path with its query string) and WebSocket frame dumps (they carry
  message text). Exceptions are logged with their stack and types but without their
  messages (``exception_text``), which routinely quote the data that failed. Lines of the
  ``asyncio`` logger (the event loop's "Task exception was never retrieved", "Exception in
  callback ...", from any loop, uvloop's included) keep only a fixed description and the
  exception's type (``asyncio_message``): asyncio writes the exception's message and the reprs
  of tasks, callbacks and their arguments into the message itself. It is defence in depth:
  code must still never log content.
- uvicorn's access log is off; ``app.api.access_log`` logs method, route template and
  status instead.
- ``uvicorn.error`` and ``websockets`` never go below INFO, because at DEBUG the websockets
  protocol logs frame payloads, i.e. what members typed.

Format: JSON lines (orjson) when stderr is not a terminal, so a log shipper can parse them;
short readable lines on a terminal.
"""

import ipaddress
import logging
import logging.config
import re
import sys
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import IO, Any

import orjson

SENSITIVE_FIELDS = frozenset(
    {"text", "x", "name", "pseudonym", "ticket", "token", "passcode", "password"}
)
REDACTED = "[redacted]"
IP_MASK = "[ip]"
# Exceptions whose message describes the machine, not data (a reset connection, a full disk,
# a timeout): logged with it, addresses masked. Every other message is withheld.
MESSAGE_KEPT: tuple[type[BaseException], ...] = (OSError,)
_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"

# Loggers that would log message text or SQL parameters below INFO.
_FLOOR_INFO = ("uvicorn.error", "websockets", "aiosqlite")
_LEVELS = {
    "critical": "CRITICAL",
    "error": "ERROR",
    "warning": "WARNING",
    "info": "INFO",
    "debug": "DEBUG",
}

# What an asyncio line may say. The event loop's exception handler (asyncio's and uvloop's)
# renders its context into the message: its first line, then "key: repr(value)" lines (the
# task with its coroutine's result or exception, the future, the callback with its
# arguments, the transport, the protocol), and ``str(exc)`` shows up in a task's repr. So a
# line is kept only as one of these fixed texts, cut to the fixed start for those that go on
# with a repr; anything else is ``ASYNCIO_UNKNOWN``. A %-template (logger.warning("Executing
# %s took %.3f seconds", handle, dt)) is asyncio's own text: it stays, without its arguments.
ASYNCIO_FIXED = frozenset(
    {
        "Unhandled exception in event loop",
        "Unhandled error in exception handler",
        "Exception in default exception handler",
        "unhandled exception during asyncio.run() shutdown",
        "Unhandled exception in client_connected_cb",
        "Unknown exception in SIGCHLD handler",
        "Error on reading from the event loop self pipe",
        "Error on transport creation for incoming connection",
        "socket.accept() out of system resource",
        "Accept failed on a socket",
        "protocol.pause_writing() failed",
        "protocol.resume_writing() failed",
        "socket.send() raised exception.",
        "SSL connection is closed",
        "SSL handshake failed",
        "SSL handshake failed on verifying the certificate",
        "Error calling eof_received()",
        "Fatal error on transport",
        "Fatal error on pipe transport",
        "Fatal error on SSL protocol",
        "Fatal read error on socket transport",
        "Fatal write error on socket transport",
        "Fatal read error on pipe transport",
        "Fatal write error on pipe transport",
        "Fatal read error on datagram transport",
        "Fatal write error on datagram transport",
        "Fatal error: protocol.data_received() call failed.",
        "Fatal error: protocol.buffer_updated() call failed.",
        "Fatal error: protocol.get_buffer() call failed.",
        "Fatal error: protocol.eof_received() call failed.",
    }
)
ASYNCIO_PREFIXES = (
    "Task was destroyed but it is pending!",
    "Exception in callback",
    "an error occurred during closing of asynchronous generator",
    "An open stream was garbage collected prior to establishing network connection",
)
# "Task exception was never retrieved", "_GatheringFuture exception ...": a class name.
_NEVER_RETRIEVED = re.compile(r"[A-Za-z_]\w{0,63} exception was never retrieved")
ASYNCIO_UNKNOWN = "the event loop reported a problem (details withheld)"
_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[a-zA-Z%]")

_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\w.]*\d)")
# Candidates only: ipaddress decides, so "12:30:45" or a MAC address stays readable.
_IPV6_CANDIDATE = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]*(?:%[\w.]+)?")
# Set on an asyncio record once its message is replaced: a second pass (a second handler with
# the filter) must not take the fixed description for a message of its own.
_ASYNCIO_DONE = "haven_asyncio_done"
_RESERVED_ATTRS = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message", "taskName", _ASYNCIO_DONE}
)


def mask_addresses(text: str) -> str:
    """Replace every IPv6 and IPv4 address in ``text`` with ``[ip]``."""
    if ":" in text:
        text = _IPV6_CANDIDATE.sub(_mask_ipv6, text)
    if "." in text:
        text = _IPV4.sub(IP_MASK, text)
    return text


def _mask_ipv6(match: re.Match[str]) -> str:
    candidate = match.group(0)
    bare = candidate.split("%", 1)[0].rstrip(":.")
    try:
        ipaddress.IPv6Address(bare)
    except ValueError:
        return candidate
    return IP_MASK + candidate[len(bare) :] if "%" not in candidate else IP_MASK


def _scrub(value: Any) -> Any:
    """Mask addresses in strings and redact sensitive keys, recursively."""
    if isinstance(value, str):
        return mask_addresses(value)
    if isinstance(value, Mapping):
        return {
            key: REDACTED if key in SENSITIVE_FIELDS else _scrub(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [_scrub(item) for item in value]
    return value


def _is_uvicorn_websocket_line(record: logging.LogRecord) -> bool:
    msg = record.msg if isinstance(record.msg, str) else ""
    if record.name.startswith("uvicorn") and '"WebSocket %s"' in msg:
        return True
    # websockets' protocol debug output: "< TEXT '...' [12 bytes]", "> TEXT ...".
    return record.levelno <= logging.DEBUG and msg.startswith(("< ", "> "))


def _is_asyncio(record: logging.LogRecord) -> bool:
    return record.name == "asyncio" or record.name.startswith("asyncio.")


class PrivacyFilter(logging.Filter):
    """Mask addresses and redact content-like fields; drop lines that only carry those.

    Mutates the record (message rendered and masked, or for the ``asyncio`` logger replaced
    by :func:`asyncio_message`; ``args`` cleared; exception text rendered by
    :func:`exception_text` and masked), so it is idempotent and every later formatter sees
    masked text.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        if _is_uvicorn_websocket_line(record):
            return False
        if _is_asyncio(record) and not getattr(record, _ASYNCIO_DONE, False):
            record.msg = asyncio_message(record)
            record.args = None
            setattr(record, _ASYNCIO_DONE, True)
        for key, value in _extras(record).items():
            setattr(record, key, REDACTED if key in SENSITIVE_FIELDS else _scrub(value))
        if isinstance(record.args, Mapping):
            record.args = _scrub(record.args)
        try:
            message = record.getMessage()
        except (TypeError, ValueError, KeyError):
            # A malformed format call: keep the template, never the arguments.
            message = str(record.msg)
        record.msg = mask_addresses(message)
        record.args = None
        if record.exc_info and record.exc_info[1] is not None:
            # Always from exc_info: another handler may have cached the full text already.
            record.exc_text = exception_text(record.exc_info[1])
        if record.exc_text:
            record.exc_text = mask_addresses(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_addresses(record.stack_info)
        return True


def asyncio_message(record: logging.LogRecord) -> str:
    """A fixed description of an ``asyncio`` record, plus its exception's type name.

    Never the rendered message: see ``ASYNCIO_FIXED``. The exception itself (stack and type)
    still goes to ``exc`` through ``exception_text``."""
    template = record.msg if isinstance(record.msg, str) else ""
    first = template.split("\n", 1)[0].strip()
    if record.args:
        description = _PLACEHOLDER.sub(_placeholder, first) or ASYNCIO_UNKNOWN
    elif first in ASYNCIO_FIXED or _NEVER_RETRIEVED.fullmatch(first):
        description = first
    else:
        description = next(
            (prefix for prefix in ASYNCIO_PREFIXES if first.startswith(prefix)), ASYNCIO_UNKNOWN
        )
    exc = record.exc_info[1] if record.exc_info else None
    return description if exc is None else f"{description} ({type_name(exc)})"


def _placeholder(match: re.Match[str]) -> str:
    return "%" if match.group(0) == "%%" else "..."


def type_name(exc: BaseException) -> str:
    """``ValueError``, or ``module.Name`` for an exception class outside builtins."""
    kind = type(exc)
    if kind.__module__ == "builtins":
        return kind.__qualname__
    return f"{kind.__module__}.{kind.__qualname__}"


def _exception_line(exc: BaseException) -> str:
    name = type_name(exc)
    if isinstance(exc, MESSAGE_KEPT):
        return f"{name}: {exc}\n"
    return f"{name}: [message withheld]\n"


def exception_text(exc: BaseException) -> str:
    """A traceback like ``logging.Formatter.formatException``'s, without exception messages.

    Where it happened (every frame, the chain of causes, each exception's type) stays; what
    the exception says goes, except for ``MESSAGE_KEPT`` types: a message routinely quotes the
    data that failed (pydantic's ``input_value=...``, SQLAlchemy's ``[parameters: ...]``, a
    ``ValueError(f"bad {text!r}")``), and here that data is what a member typed or their name.
    """
    chain: list[tuple[BaseException, str | None]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link: str | None = None
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    lines: list[str] = []
    for item, link_to_next in reversed(chain):
        if item.__traceback__ is not None:
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(item.__traceback__))
        lines.append(_exception_line(item))
        if link_to_next is not None:
            lines.append(link_to_next)
    return "".join(lines).rstrip("\n")


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _RESERVED_ATTRS}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, extra fields, exc."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exc"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return orjson.dumps(entry, default=str).decode()


class ReadableFormatter(logging.Formatter):
    """``HH:MM:SS LEVEL logger: message key=value`` for a terminal."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{key}={value}" for key, value in extras.items())
        return line


def wants_json(stream: IO[str] | None = None) -> bool:
    """JSON lines unless the stream (stderr by default) is a terminal."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


def make_formatter(json_lines: bool) -> logging.Formatter:
    return JsonFormatter() if json_lines else ReadableFormatter()


def build_handler(
    stream: IO[str] | None = None, *, json_lines: bool | None = None
) -> logging.Handler:
    """A stream handler with Haven's formatter and the privacy filter (tests attach one)."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(make_formatter(wants_json(stream) if json_lines is None else json_lines))
    handler.addFilter(PrivacyFilter())
    return handler


def log_config(level: str = "info", *, json_lines: bool | None = None) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: used as uvicorn's ``log_config`` and by the CLI.

    It is a plain dict of importable names so uvicorn can re-apply it in each worker
    process. Pass ``log_level=None`` to uvicorn alongside it: uvicorn would otherwise lower
    ``uvicorn.error`` to DEBUG, where frame payloads are logged.
    """
    root_level = _LEVELS[level.lower()]
    floor = root_level if logging.getLevelName(root_level) >= logging.INFO else "INFO"
    json_lines = wants_json() if json_lines is None else json_lines
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"privacy": {"()": "app.logs.PrivacyFilter"}},
        "formatters": {"haven": {"()": "app.logs.make_formatter", "json_lines": json_lines}},
        "handlers": {
            "default": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "haven",
                "filters": ["privacy"],
            }
        },
        "root": {"handlers": ["default"], "level": root_level},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True, "level": root_level},
            # Replaced by app.api.access_log, which logs no address and no query string.
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
            **{name: {"level": floor, "propagate": True} for name in _FLOOR_INFO},
            "sqlalchemy.engine": {"level": "WARNING", "propagate": True},
            # Alembic narrates each connection at INFO; app.store.migrate logs what changed.
            "alembic": {"level": "WARNING", "propagate": True},
        },
    }


def _unraisable(unraisable: Any) -> None:
    """``sys.unraisablehook``: the exception's type only (its message and the object's repr
    could hold anything), through the log and its privacy filter, never straight to stderr."""
    logging.getLogger("haven").error(
        "unraisable exception: %s", type_name(unraisable.exc_value or Exception())
    )


def route_stray_output() -> None:
    """Warnings and unraisable exceptions go through the log (its privacy filter included)
    instead of being written to stderr as they are. Called once per server process."""
    logging.captureWarnings(True)
    sys.unraisablehook = _unraisable


def setup_logging(level: str = "info", *, json_lines: bool | None = None) -> None:
    """Install Haven's logging in this process (CLI commands; uvicorn does it for serve)."""
    logging.config.dictConfig(log_config(level, json_lines=json_lines))
