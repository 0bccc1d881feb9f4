"""Nothing said in a meeting is kept: the proof, on a real server (tests/privacy/meeting_script.py).

One scripted meeting (SQLite file, in-memory room log) is run once for this module; each test
judges one part of what it left behind. The Redis variant runs the script again with the room
log on a throwaway redis-server. Every scan also has a positive control, so a scan that reads
nothing, or canaries that never reached the server, cannot pass for "no leak".
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import pytest_asyncio
import redis.asyncio as aioredis
from prometheus_client.parser import text_string_to_metric_families

from app.config import Settings
from app.meetings.purge import purge
from app.metrics import ACTIONS, CATEGORIES, MAX_ERROR_CODES, RECONNECT_KINDS, SEMANTIC_OUTCOMES
from app.store.engine import create_engine, create_sessionmaker
from tests.privacy.canaries import Hit, Scanner, in_sqlite_files, read_tree, searched
from tests.privacy.meeting_script import ADDRESSES, Evidence, run_meeting
from tests.privacy.subpoena import database_rows, report

# Secrets the server must hold in memory while the meeting runs (positive control). The
# others never reach the room at all: passcodes and passwords are checked and dropped, device
# tokens are hashed, a PII warning is answered before anything is kept, tickets and tokens
# are verified, not stored.
HELD_WHILE_LIVE = {
    "pseudonym:ann",
    "pseudonym:bob",
    "pseudonym:cat",
    "pseudonym:dan",
    "message:host",
    "message:rejected",
    "message:crisis",
    "message:approved",
    "message:share",
    "message:held-pending",
    "cid",
    "lobby",
    "message:private",
    "message:private-reply",
    "report:reason",
}
NEVER_IN_MEMORY = {
    "passcode",
    "passcode:wrong",
    "password:wrong",
    "device:ann",
    "device:dan",
    "message:pii",
}


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def meeting(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Evidence]:
    with pytest.MonkeyPatch.context() as env:
        # What the root conftest's autouse fixture does per test, for this module's run.
        for name in [n for n in os.environ if n.startswith("HAVEN_")]:
            env.delenv(name)
        yield await run_meeting(tmp_path_factory.mktemp("privacy"))


def scanner_for(evidence: Evidence) -> Scanner:
    return Scanner.of(evidence.secrets, ADDRESSES)


def leaks(evidence: Evidence, scanner: Scanner) -> list[Hit]:
    """Every canary or address in the data directory (while running after the meeting, and
    after shutdown), in any log line, or in the metrics page."""
    hits: list[Hit] = []
    for moment, files in (("ended", evidence.ended.files), ("stopped", evidence.files_after_stop)):
        hits += scanner.scan_files({f"data dir ({moment}): {n}": d for n, d in files.items()})
    for number, line in enumerate(evidence.log_lines, 1):
        hits += scanner.scan_text(f"log line {number}", line)
    hits += scanner.scan_text("/metrics", evidence.metrics)
    return hits


def labels_in(strings: list[tuple[str, str]], evidence: Evidence) -> dict[str, str]:
    """Label -> one memory path where that secret, its canary token or an address was found
    (case-insensitive, so casefolded and matching-form copies count)."""
    wanted = {
        **{label: searched(secret) for label, secret in evidence.secrets.items()},
        **{f"address:{a}": [a] for a in ADDRESSES},
    }
    every = [part for parts in wanted.values() for part in parts]
    pattern = re.compile("|".join(map(re.escape, every)), re.IGNORECASE)
    found: dict[str, str] = {}
    for path, text in strings:
        if not pattern.search(text):
            continue
        folded = text.casefold()
        for label, parts in wanted.items():
            if label not in found and any(part.casefold() in folded for part in parts):
                found[label] = path
    return found


# -- disk, logs, metrics -------------------------------------------------------------------------


def test_no_canary_or_address_reaches_disk_logs_or_metrics(meeting: Evidence) -> None:
    scanner = scanner_for(meeting)
    hits = leaks(meeting, scanner)
    assert not hits, "\n".join(map(str, hits))
    # What was scanned, so "no hits" means something.
    assert "haven.db" in meeting.files_after_stop
    assert any(name.endswith("haven.db-wal") for name in meeting.ended.files)
    assert len(meeting.log_lines) > 20
    assert {"ticket:ann", "resume:bob", "session:host", "passcode"} <= scanner.labels
    assert len(scanner.labels) >= 30 and len(scanner.needles) >= 140


def test_the_scan_sees_what_is_stored_by_design(meeting: Evidence) -> None:
    """Positive control: the database file is readable text to the scanner (the meeting's
    title and the facilitator's name are stored on purpose), and the canaries did travel:
    members received them."""
    by_design = Scanner.of(meeting.stored_by_design)
    stored = {hit.label for hit in by_design.scan("haven.db", meeting.files_after_stop["haven.db"])}
    assert stored == set(meeting.stored_by_design)
    frames = json.dumps(meeting.client_frames, ensure_ascii=False).encode()
    seen = {hit.label for hit in scanner_for(meeting).scan("client frames", frames)}
    assert {
        "pseudonym:ann",
        "message:crisis",
        "message:held-pending",
        "message:private",
        "message:private-reply",
        "slip:name",
        "report:reason",
    } <= seen


def test_access_log_has_route_templates_no_query_strings_no_addresses(meeting: Evidence) -> None:
    entries = meeting.log_entries
    access = [e for e in entries if e["logger"] == "app.access"]
    http = [e for e in access if "method" in e]
    sockets = [e for e in access if "method" not in e]
    assert {e["route"] for e in http} >= {"/api/meetings/{meeting_id}/tickets", "/metrics"}
    assert {e["msg"] for e in sockets} >= {"websocket accepted", "websocket closed"}
    for entry in http:
        assert set(entry) == {"ts", "level", "logger", "msg", "method", "route", "status", "ms"}
    for entry in sockets:
        assert set(entry) <= {"ts", "level", "logger", "msg", "route", "code"}
    for entry in access:
        assert "?" not in entry["route"] and meeting.meeting_id not in json.dumps(entry)
        assert "[ip]" not in json.dumps(entry)  # not even a masked address: none is logged
    assert not [e for e in entries if e["logger"] == "uvicorn.access"]
    assert not [e for e in entries if '"WebSocket' in e["msg"]]
    ids = re.compile("|".join(map(re.escape, meeting.member_ids.values())))
    assert not [line for line in meeting.log_lines if ids.search(line)]


def test_metric_labels_are_bounded_enums(meeting: Evidence) -> None:
    allowed = {
        "action": ACTIONS,
        "category": CATEGORIES,
        "kind": RECONNECT_KINDS,
        "outcome": SEMANTIC_OUTCOMES,
        "code": None,  # protocol error codes and close codes, capped in number
    }
    codes: set[str] = set()
    values: dict[str, float] = {}
    for family in text_string_to_metric_families(meeting.metrics):
        assert family.name.startswith("haven_"), family.name
        for sample in family.samples:
            values[sample.name + json.dumps(sample.labels, sort_keys=True)] = sample.value
            for name, value in sample.labels.items():
                assert name in allowed, (sample.name, name)
                bound = allowed[name]
                if bound is None:
                    assert re.fullmatch(r"[a-z_]{1,32}|\d{4}", value), value
                    codes.add(value)
                else:
                    assert value in bound, (sample.name, name, value)
    assert len(codes) <= MAX_ERROR_CODES + 1
    for secret in (meeting.meeting_id, *meeting.member_ids.values()):
        assert secret not in meeting.metrics
    # The metrics did count this meeting.
    assert values["haven_messages_in_total{}"] > 0
    assert values['haven_reconnects_total{"kind": "resume"}'] >= 1
    assert values['haven_moderation_verdicts_total{"action": "hold", "category": "newcomer"}'] >= 1
    # The loop's time for each screen: some, and no more than the meeting took.
    screened = sum(v for k, v in values.items() if k.startswith("haven_moderation_verdicts_total"))
    seconds = values["haven_moderation_screen_seconds_total{}"]
    assert 0 < seconds < 0.05 * screened, (seconds, screened)


# -- memory, meeting end and shutdown ---------------------------------------------------------


def test_ending_the_meeting_drops_room_state_held_messages_and_reports(meeting: Evidence) -> None:
    live, ended = meeting.live, meeting.ended
    # While it ran: the room, a message held for review, every secret of the room in memory.
    assert live.room_in_hub and live.room_in_meta and live.room_in_log
    assert live.holds == 1
    in_memory = labels_in(live.memory_strings, meeting)
    assert set(in_memory) >= HELD_WHILE_LIVE, HELD_WHILE_LIVE - set(in_memory)
    kept = NEVER_IN_MEMORY & set(in_memory)
    assert not kept, {k: in_memory[k] for k in kept}
    # Once it ended: nothing of the room, nothing of what was said, no address.
    assert not (ended.room_in_hub or ended.room_in_meta or ended.room_in_log)
    assert ended.holds == 0
    left = labels_in(ended.memory_strings, meeting)
    assert not left, left
    assert len(ended.memory_strings) > 1000  # the walk did cover the app's state


def test_shutdown_leaves_only_the_database_and_the_key(meeting: Evidence) -> None:
    assert meeting.data_dir_after_stop == ["haven.db", "secret.key"]
    assert meeting.temp_files == []


@pytest.mark.asyncio(loop_scope="module")
async def test_past_retention_a_purge_erases_the_meeting_metadata_from_disk(
    meeting: Evidence,
) -> None:
    """The occurrence and the audit of the scripted meeting, with the member ids they name,
    leave the file once the retention period has passed; the meeting's definition stays."""
    settings = Settings(data_dir=meeting.data_dir)
    ids = {f"member id:{who}": member for who, member in meeting.member_ids.items()}
    audited = in_sqlite_files(settings.data_dir, ids)
    assert {"member id:host", "member id:ann", "member id:dan"} <= audited
    engine = create_engine(settings)
    try:
        later = datetime.now(UTC) + timedelta(days=settings.retention_days, hours=1)
        report = await purge(create_sessionmaker(engine), later, settings.retention_days)
        rows = {table for table, _row in await database_rows(engine)}
    finally:
        await engine.dispose()
    assert report.occurrences == 1 and report.audit >= 8
    assert in_sqlite_files(settings.data_dir, ids) == set()
    assert in_sqlite_files(settings.data_dir, meeting.stored_by_design) == set(
        meeting.stored_by_design
    )
    assert {"meetings", "facilitators"} <= rows
    assert not {"occurrences", "audit"} & rows


# -- subpoena ------------------------------------------------------------------------------------


def test_subpoena_of_a_pseudonym_finds_nothing_once_the_meeting_ended(meeting: Evidence) -> None:
    live = meeting.live.subpoena
    # While the meeting ran, the pseudonym led to the member, their words, and through their
    # member id to the audit rows of facilitator actions taken on them.
    assert {f.source for f in live} == {"memory", "database"}, report(live)
    ann = meeting.member_ids["ann"]
    audit = [f for f in live if f.source == "database" and f.value == ann]
    assert audit and all(f.where.startswith("audit.") for f in audit), report(audit)
    assert any(meeting.secrets["message:crisis"] in f.value for f in live)
    # Once it ended, nothing the server holds relates to that pseudonym any more.
    assert meeting.ended.subpoena == [], report(meeting.ended.subpoena)
    assert meeting.subpoena_after_stop == [], report(meeting.subpoena_after_stop)


# -- Redis ---------------------------------------------------------------------------------------


@pytest.mark.redis
async def test_redis_room_log_keeps_nothing_once_the_meeting_ended(
    tmp_path: Path, redis_url: str
) -> None:
    evidence = await run_meeting(tmp_path, room_log_url=redis_url)
    scanner = scanner_for(evidence)
    mid = evidence.meeting_id
    live, ended = evidence.live.redis, evidence.ended.redis
    assert live is not None and ended is not None
    # While it ran, the room's stream held what was said (positive control).
    room_keys = sorted(k for k in live if mid in k)
    assert {k.rsplit(":", 1)[1] for k in room_keys} >= {"log", "seq", "epoch"}, room_keys
    said = scanner.scan("redis (live)", b"\n".join(v for k in room_keys for v in live[k]))
    assert {"message:crisis", "pseudonym:ann"} <= {hit.label for hit in said}
    # Once it ended: no key of that room; what is left (single-use ticket markers, for a
    # minute the mark that a room was dropped, named by a digest, and the worker's heartbeat,
    # named by its random id) holds none of the secrets.
    assert not [k for k in ended if mid in k], sorted(ended)
    left = ("haven:claim:ticket:", "haven:dropped:", "haven:worker:")
    assert all(k.startswith(left) for k in ended), sorted(ended)
    hits = [
        hit
        for key, values in ended.items()
        for hit in scanner.scan(f"redis key {key}", key.encode() + b"\n" + b"\n".join(values))
    ]
    assert not hits, "\n".join(map(str, hits))
    # Redis wrote nothing to its own directory either (no persistence configured).
    client = aioredis.Redis.from_url(redis_url)
    try:
        directory = Path((await client.config_get("dir"))["dir"])
    finally:
        await client.aclose()
    redis_files = read_tree(directory)
    assert not scanner.scan_files(redis_files)
    # And the rest, as in the SQLite run: disk, logs, metrics, memory, shutdown.
    hits = leaks(evidence, scanner)
    assert not hits, "\n".join(map(str, hits))
    assert not labels_in(evidence.ended.memory_strings, evidence)
    assert evidence.ended.subpoena == [], report(evidence.ended.subpoena)
    assert evidence.data_dir_after_stop == ["haven.db", "secret.key"]
