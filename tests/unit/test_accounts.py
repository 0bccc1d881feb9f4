"""Pure parts of facilitator accounts: hashing, TOTP replay, throttling, meeting schemas."""

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from app.auth import totp
from app.auth.passwords import hash_password, password_problem, verify_password
from app.auth.throttle import LoginThrottle
from app.meetings.schemas import MeetingCreate, MeetingSpec, MeetingUpdate

NOW = datetime(2026, 11, 23, 12, 0, 10, tzinfo=UTC)


def test_argon2id_hash_verifies_and_refuses() -> None:
    stored = hash_password("correct horse battery")
    assert stored.startswith("$argon2id$")
    assert verify_password(stored, "correct horse battery").ok
    assert not verify_password(stored, "correct horse batterY").ok
    assert not verify_password("not a hash", "anything").ok
    # No stored hash (unknown user): still a full verification, and a refusal.
    assert not verify_password(None, "correct horse battery").ok


def test_weaker_parameters_are_rehashed_on_login() -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse b")
    result = verify_password(weak, "correct horse b")
    assert result.ok
    assert result.rehash is not None and result.rehash != weak


def test_password_rules() -> None:
    assert password_problem("x" * 11) is not None
    assert password_problem("x" * 12) is None
    assert password_problem("x" * 1025) is not None


def test_totp_window_and_replay() -> None:
    enrollment = totp.new_enrollment("ana")
    secret = enrollment.secret
    code = totp.code_at(secret, NOW)

    step = totp.accepted_step(secret, code, NOW, None)

    assert step is not None
    assert totp.accepted_step(secret, code, NOW, step) is None  # replay
    # One step of clock drift either way is tolerated, two are not.
    assert totp.accepted_step(secret, code, NOW + timedelta(seconds=30), None) == step
    assert totp.accepted_step(secret, code, NOW + timedelta(seconds=61), None) is None
    later = totp.code_at(secret, NOW + timedelta(seconds=30))
    assert totp.accepted_step(secret, later, NOW + timedelta(seconds=30), step) == step + 1
    for junk in ("", "12345", "1234567", "abcdef", "１２３４５６"):
        assert totp.accepted_step(secret, junk, NOW, None) is None


def test_throttle_counts_accounts_and_addresses_separately() -> None:
    throttle = LoginThrottle("2/15 minutes", "3/15 minutes")
    throttle.fail("Ana", "192.0.2.1")
    assert throttle.retry_after("ana", "192.0.2.1") is None
    throttle.fail("ana", "198.51.100.7")  # usernames compare case-insensitively
    wait = throttle.retry_after("ana", "203.0.113.9")
    assert wait is not None and 0 < wait <= 900
    throttle.clear("ana")
    assert throttle.retry_after("ana", "203.0.113.9") is None
    throttle.fail("ben", "192.0.2.1")
    throttle.fail("cleo", "192.0.2.1")
    assert throttle.retry_after("dan", "192.0.2.1") is not None  # the address is spent
    assert throttle.retry_after("dan", "192.0.2.2") is None


def test_throttle_keeps_no_address_in_clear() -> None:
    throttle = LoginThrottle()
    throttle.fail("ana", "192.0.2.123")
    # Reaches into the limiter on purpose: the claim is about what memory holds.
    assert "192.0.2.123" not in repr(vars(throttle._limiter.storage))


def test_update_merges_and_revalidates() -> None:
    spec = MeetingSpec.from_create(MeetingCreate(title="Share", format="open-share"), 100)
    merged = spec.merged(MeetingUpdate(title="Renamed", weekdays=[4, 0, 0]), 100)
    assert (merged.title, merged.weekdays, merged.capacity) == ("Renamed", [0, 4], 100)
    with pytest.raises(ValidationError):
        spec.merged(MeetingUpdate(format="peer-mentoring", capacity=3), 100)
    assert MeetingSpec.from_create(MeetingCreate(title="x"), 1000).capacity == 500


def test_a_format_change_resets_what_the_update_did_not_set() -> None:
    group = MeetingSpec.from_create(MeetingCreate(title="Share", format="open-share"), 100)
    mentoring = group.merged(MeetingUpdate(format="peer-mentoring"), 100)
    assert (mentoring.capacity, mentoring.listed) == (2, False)
    # Back to a group: seats for a group, and still out of the directory until listed.
    again = mentoring.merged(MeetingUpdate(format="12-step"), 80)
    assert (again.capacity, again.listed, again.share_limit_s) == (80, False, 180)
    sized = mentoring.merged(MeetingUpdate(format="smart-recovery", capacity=12, listed=True), 80)
    assert (sized.capacity, sized.listed) == (12, True)
