"""What could be handed over about one pseudonym: everything a running server holds.

``subpoena(app, pseudonym, log_lines)`` plays an operator compelled to produce "everything
about the member called X". It looks where an operator could look:

- **memory**: every object reachable from ``app.state`` (the rooms service with its hub,
  room replicas, room log, rate limiters and connection counts; the login throttle; the
  metrics; the engine), walked with ``gc.get_referents``, so nothing is skipped because
  nobody thought of it. The walk does not enter modules, classes, code, event loops or the
  callbacks of futures: those lead to the whole process (the test's own variables included),
  not to what the server keeps;
- **database**: every row of every table, found by reflection (not from the models, so a
  table nobody declared would be read too);
- **logs**: every captured log line.

First the pseudonym is looked up in memory: any object whose ``name``/``n`` is that pseudonym
(under the room's name comparison, ``name_key``) gives its member id, device hash and, for a
held message, its hold id. Then every source is searched for the pseudonym and those
identifiers. While a meeting runs this finds the member, their words and the audit rows that
name their member id; once it has ended nothing links the pseudonym to anything, so the
result is empty. That is the property the test asserts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import logging
import sys
import types
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from app.rooms.state import name_key

MAX_OBJECTS = 2_000_000
"""A walk that reaches more objects than this has escaped into the whole process: fail."""

Source = Literal["memory", "database", "log"]


@dataclass(frozen=True)
class Finding:
    source: Source
    where: str
    value: str

    def __str__(self) -> str:
        return f"[{self.source}] {self.where}: {self.value[:120]!r}"


def _stops() -> tuple[set[int], tuple[type, ...]]:
    module_dicts = {id(vars(m)) for m in list(sys.modules.values()) if m is not None}
    kinds: tuple[type, ...] = (
        # Process-wide machinery, not server state: the loggers lead to every handler (the
        # test runner's capture included), the loop to every task of the process.
        logging.Logger,
        logging.Manager,
        logging.PlaceHolder,
        logging.Handler,
        types.ModuleType,
        type,
        types.CodeType,
        types.FrameType,
        asyncio.AbstractEventLoop,
    )
    return module_dicts, kinds


def walk(root: object, name: str) -> Iterator[tuple[str, object]]:
    """Every object reachable from ``root``, with a readable path of type names.

    Futures and tasks are entered through their coroutine and result only: their callbacks
    belong to whoever awaits them, which may be the test itself.
    """
    module_dicts, stop_kinds = _stops()
    seen: set[int] = set()
    stack: list[tuple[str, object]] = [(name, root)]
    while stack:
        path, obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        if len(seen) > MAX_OBJECTS:
            raise RuntimeError(f"walk from {name} escaped: more than {MAX_OBJECTS} objects")
        yield path, obj
        if isinstance(obj, str | bytes | bytearray | int | float | complex | bool) or obj is None:
            continue
        if isinstance(obj, stop_kinds) or id(obj) in module_dicts:
            continue
        if isinstance(obj, asyncio.Future):
            children: list[object] = []
            if isinstance(obj, asyncio.Task):
                children.append(obj.get_coro())
            elif obj.done() and not obj.cancelled() and obj.exception() is None:
                children.append(obj.result())
        elif isinstance(obj, types.FunctionType):
            # Not __globals__: a module's namespace is code, not state.
            children = [*(obj.__closure__ or ()), *(obj.__defaults__ or ()), obj.__kwdefaults__]
        elif isinstance(obj, dict):
            # gc.get_referents skips the keys of a dict whose keys are all strings (they cannot
            # form cycles), and rate-limit keys are exactly where an address would hide.
            children = [*obj.keys(), *obj.values()]
        else:
            children = list(gc.get_referents(obj))
        label = type(obj).__name__
        for child in children:
            stack.append((f"{path}/{label}", child))


def strings_in_memory(root: object, name: str = "app.state") -> Iterator[tuple[str, str]]:
    """(path, text) for every str, bytes or bytearray reachable from ``root``."""
    for path, obj in walk(root, name):
        if isinstance(obj, str):
            yield path, obj
        elif isinstance(obj, bytes | bytearray):
            yield path, bytes(obj).decode("utf-8", "replace")


def _identifiers_of(obj: object, key: str) -> set[str]:
    """Member id, device hash and hold id of a member or event named ``key`` (else none)."""
    if not dataclasses.is_dataclass(obj) or isinstance(obj, type):
        return set()
    for name_attr, id_attrs in (("name", ("id", "device")), ("n", ("m", "device", "h"))):
        value = getattr(obj, name_attr, None)
        if isinstance(value, str) and name_key(value) == key:
            found = (getattr(obj, attr, None) for attr in id_attrs)
            return {ident for ident in found if isinstance(ident, str) and ident}
    return set()


async def database_rows(engine: AsyncEngine) -> list[tuple[str, dict[str, Any]]]:
    """(table, row) for every row of every table the database has."""

    def read(connection: Connection) -> list[tuple[str, dict[str, Any]]]:
        rows: list[tuple[str, dict[str, Any]]] = []
        for table in inspect(connection).get_table_names():
            result = connection.execute(text(f'SELECT * FROM "{table}"'))
            rows.extend((table, dict(row._mapping)) for row in result)
        return rows

    async with engine.connect() as connection:
        return await connection.run_sync(read)


def _matches(value: object, pseudonym: str, identifiers: set[str]) -> bool:
    if not isinstance(value, str):
        return False
    if pseudonym.casefold() in value.casefold():
        return True
    return any(ident in value for ident in identifiers)


def _fields(obj: object) -> list[object]:
    return [getattr(obj, f.name, None) for f in dataclasses.fields(obj)]  # type: ignore[arg-type]


async def subpoena(
    app: Any, pseudonym: str, log_lines: Sequence[str], engine: AsyncEngine | None = None
) -> list[Finding]:
    """Everything ``app`` holds that could relate to ``pseudonym`` (module docstring).

    Memory findings are the strings that mention the pseudonym or one of its identifiers, and
    the records (members, events, held messages) with a field that does, shown whole: a
    message event names its sender only by member id, and its text is what matters.
    ``engine`` defaults to the app's own (the server must be running for that).
    """
    key = name_key(pseudonym)
    identifiers: set[str] = set()
    strings: list[tuple[str, str]] = []
    records: list[tuple[str, object]] = []
    for path, obj in walk(app.state, "app.state"):
        if isinstance(obj, str):
            strings.append((path, obj))
        elif isinstance(obj, bytes | bytearray):
            strings.append((path, bytes(obj).decode("utf-8", "replace")))
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            records.append((path, obj))
            identifiers |= _identifiers_of(obj, key)
    findings: list[Finding] = []
    for path, value in strings:
        if _matches(value, pseudonym, identifiers):
            findings.append(Finding("memory", path, value))
    for path, record in records:
        if any(_matches(value, pseudonym, identifiers) for value in _fields(record)):
            findings.append(Finding("memory", path, repr(record)))
    for table, row in await database_rows(engine or app.state.engine):
        for column, value in row.items():
            if _matches(value, pseudonym, identifiers):
                findings.append(Finding("database", f"{table}.{column} of {row}", str(value)))
    for number, line in enumerate(log_lines, 1):
        if _matches(line, pseudonym, identifiers):
            findings.append(Finding("log", f"line {number}", line))
    return findings


def report(findings: Iterable[Finding]) -> str:
    return "\n".join(str(f) for f in findings)
