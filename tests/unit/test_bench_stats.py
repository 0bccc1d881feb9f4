"""The bench's accounting: percentiles, loss and duplicate counting, and the message token."""

import pytest

from bench import payload, stats


def test_percentile_is_nearest_rank_and_always_an_observed_value() -> None:
    values = sorted([5.0, 1.0, 4.0, 2.0, 3.0])
    assert stats.percentile(values, 50) == 3.0
    assert stats.percentile(values, 99) == 5.0
    assert stats.percentile(values, 100) == 5.0
    assert stats.percentile(values, 0) == 1.0
    hundred = [float(i) for i in range(1, 101)]
    assert stats.percentile(hundred, 99) == 99.0
    assert stats.percentile(hundred, 90) == 90.0


@pytest.mark.parametrize("q", [-1.0, 100.5])
def test_percentile_refuses_out_of_range_q(q: float) -> None:
    with pytest.raises(ValueError):
        stats.percentile([1.0], q)


def test_percentile_refuses_empty_input() -> None:
    with pytest.raises(ValueError):
        stats.percentile([], 50)


def test_summarize_orders_input_and_reports_zeros_when_empty() -> None:
    s = stats.summarize([30, 10, 20, 40])
    assert (s.n, s.p50, s.p99, s.max, s.mean) == (4, 20, 40, 40, 25.0)
    empty = stats.summarize([])
    assert empty == stats.Summary(0, 0.0, 0.0, 0.0, 0.0, 0.0)


def test_ledger_flags_duplicates_per_receiver() -> None:
    ledger = stats.ReceiverLedger()
    assert [ledger.record(u) for u in (1, 2, 2, 3, 1)] == [True, True, False, True, False]
    assert (ledger.received, ledger.unique, ledger.duplicates) == (5, 3, 2)


def test_tally_counts_lost_duplicate_and_foreign_ids() -> None:
    sent = {1, 2, 3, 4}
    t = stats.tally(sent, seen={1, 2, 9}, received=4)  # 2 arrived twice, 9 is another room's
    assert t == stats.Tally(expected=4, received=4, unique=3, lost=2, duplicates=1, unexpected=1)


def test_tally_of_a_perfect_receiver_is_clean() -> None:
    t = stats.tally(frozenset({7, 8}), seen={7, 8}, received=2)
    assert (t.lost, t.duplicates, t.unexpected) == (0, 0, 0)


def test_tally_counts_matches_the_set_version_when_nothing_leaks() -> None:
    by_sets = stats.tally({1, 2, 3, 4, 5}, seen={1, 2, 3}, received=5)
    by_counts = stats.tally_counts(sent_to_room=5, unique=3, received=5)
    assert by_counts == by_sets
    assert stats.tally_counts(sent_to_room=2, unique=3, received=3).unexpected == 1


def test_tallies_add_field_by_field() -> None:
    a = stats.Tally(10, 9, 8, 2, 1, 0)
    b = stats.Tally(5, 5, 5, 0, 0, 0)
    assert a + b == stats.Tally(15, 14, 13, 2, 1, 0)
    assert stats.ZERO + a == a


def test_rate_in_window_is_half_open() -> None:
    assert stats.rate_in_window([0.0, 0.5, 1.0, 1.5, 2.0], 0.0, 2.0) == 2.0
    assert stats.rate_in_window([1.0], 2.0, 2.0) == 0.0


def test_token_round_trips_and_hides_digits() -> None:
    uid = payload.make_uid(sender=1234, counter=56)
    text = payload.make_text(uid, sent_us=987_654_321)
    assert len(text.encode()) == payload.TARGET_BYTES
    assert not any(c.isdigit() for c in text)  # nothing a PII filter could call a number
    frame = b'{"s":3,"t":"msg","x":"' + text.encode() + b'"}'
    assert payload.find_token(frame) == (uid, 987_654_321)
    assert payload.find_token(b'{"t":"pong"}') is None


def test_token_letters_sort_like_numbers() -> None:
    # The generator compares send times as raw bytes to decide if a delivery is in the window.
    values = [0, 9, 10, 15, 16, 255, 4096, 10**9, 2**47]
    letters = [payload.encode_number(v, payload.TS_LEN).encode() for v in values]
    assert letters == sorted(letters)
    assert [payload.decode_number(x) for x in letters] == values
    with pytest.raises(ValueError):
        payload.encode_number(16**payload.TS_LEN, payload.TS_LEN)
