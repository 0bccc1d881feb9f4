"""Canary strings, the byte forms a leak could take, and a scanner that counts what it read.

A canary is a random token put where a secret goes (a pseudonym, a message, a passcode...).
After a scripted meeting, every file, log line and metrics page is searched for every canary
in every form below; one hit is a leak.

Tokens are ``CANARY`` followed by consonants without a doubled letter, on purpose: the
moderation pipeline folds digits inside words (leetspeak) and collapses repeated letters in
its matching form, and a hex token could trip the phone-number detector. A token made this
way reads the same in the display form, the matching form and lower case, so a copy in any
of them is found (the search is case-insensitive, which also catches the casefolded name key
``app.rooms.state.name_key`` keeps beside each pseudonym).
"""

from __future__ import annotations

import ipaddress
import json
import re
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, quote_plus

from app.moderation.normalise import matching_form

_CONSONANTS = "BCDFGHJKLMNPQRSTVWXZ"
TOKEN_LETTERS = 14
TOKEN = re.compile(rf"CANARY[{_CONSONANTS}]{{{TOKEN_LETTERS}}}", re.IGNORECASE)


def token() -> str:
    """``CANARY`` + 14 random consonants, no letter twice in a row (see the module docstring)."""
    letters: list[str] = []
    while len(letters) < TOKEN_LETTERS:
        letter = secrets.choice(_CONSONANTS)
        if not letters or letters[-1] != letter:
            letters.append(letter)
    return "CANARY" + "".join(letters)


def searched(text: str) -> list[str]:
    """What to look for to find ``text``: itself, and each canary token in it alone (a
    partial copy, a truncated one, a normalised one, still carries the token)."""
    return list(dict.fromkeys([text, *TOKEN.findall(text)]))


def forms(text: str) -> dict[str, bytes]:
    """The byte forms of ``text`` a file, log or database could hold it in.

    UTF-8 as is; UTF-16 in both byte orders (SQLite can store text that way, and so can a
    Windows-side log shipper); URL-encoded both ways (``%20`` and ``+``: a path or query
    string); JSON-escaped with ``\\u`` escapes (a JSON log line or a JSON column); and the
    moderation matching form. Identical byte strings are kept once.
    """
    variants = {
        "utf-8": text.encode(),
        "utf-16-le": text.encode("utf-16-le"),
        "utf-16-be": text.encode("utf-16-be"),
        "url": quote(text, safe="").encode(),
        "url-plus": quote_plus(text).encode(),
        "json": json.dumps(text)[1:-1].encode(),
        "matching": matching_form(text).encode(),
    }
    out: dict[str, bytes] = {}
    seen: set[bytes] = set()
    for name, data in variants.items():
        if data.lower() not in seen:
            seen.add(data.lower())
            out[name] = data
    return out


def address_forms(address: str) -> dict[str, bytes]:
    """An IPv4 address as text (all the forms of :func:`forms`) and as packed hex."""
    out = forms(address)
    out["hex"] = ipaddress.ip_address(address).packed.hex().encode()
    return out


@dataclass(frozen=True)
class Needle:
    label: str
    """What the secret was, e.g. ``pseudonym:ann`` or ``address:127.0.0.43``."""
    form: str
    data: bytes
    """Lower-cased: haystacks are lower-cased too, so the search ignores ASCII case."""


@dataclass(frozen=True)
class Hit:
    label: str
    form: str
    where: str
    context: bytes

    def __str__(self) -> str:
        return f"{self.label} ({self.form}) in {self.where}: ...{self.context!r}..."


@dataclass
class Scanner:
    """Searches haystacks for every needle and keeps count of what it searched."""

    needles: list[Needle] = field(default_factory=list)
    haystacks: list[str] = field(default_factory=list)
    bytes_scanned: int = 0

    @classmethod
    def of(cls, secrets_: Mapping[str, str], addresses: Iterable[str] = ()) -> Scanner:
        needles = [
            Needle(label, form if part == text else f"{form}, token alone", data.lower())
            for label, text in secrets_.items()
            for part in searched(text)
            for form, data in forms(part).items()
        ]
        needles += [
            Needle(f"address:{address}", form, data.lower())
            for address in addresses
            for form, data in address_forms(address).items()
        ]
        return cls(needles)

    @property
    def labels(self) -> set[str]:
        return {n.label for n in self.needles}

    def scan(self, where: str, data: bytes) -> list[Hit]:
        self.haystacks.append(where)
        self.bytes_scanned += len(data)
        low = data.lower()
        hits = []
        for needle in self.needles:
            at = low.find(needle.data)
            if at >= 0:
                context = data[max(0, at - 40) : at + len(needle.data) + 40]
                hits.append(Hit(needle.label, needle.form, where, context))
        return hits

    def scan_text(self, where: str, text: str) -> list[Hit]:
        return self.scan(where, text.encode())

    def scan_files(self, files: Mapping[str, bytes]) -> list[Hit]:
        return [hit for name, data in sorted(files.items()) for hit in self.scan(name, data)]


def read_tree(root: Path) -> dict[str, bytes]:
    """Every regular file under ``root`` (recursively), by path relative to ``root``."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file()
    }


def in_sqlite_files(directory: Path, values: Mapping[str, str]) -> set[str]:
    """Labels of ``values`` present, in any form, in ``haven.db`` or its -wal/-shm/-journal."""
    files = {n: d for n, d in read_tree(directory).items() if n.startswith("haven.db")}
    assert "haven.db" in files, sorted(files)
    return {hit.label for hit in Scanner.of(values).scan_files(files)}
