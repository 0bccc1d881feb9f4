"""Per-app metric registries with bounded label values."""

import pytest

from app.metrics import MAX_ERROR_CODES, OTHER, Metrics


def test_each_app_has_its_own_registry() -> None:
    first, second = Metrics(), Metrics()
    first.messages_in.inc()
    assert b"haven_messages_in_total 1.0" in first.render()
    assert b"haven_messages_in_total 0.0" in second.render()


def test_bounded_series_exist_from_the_start() -> None:
    text = Metrics().render().decode()
    assert 'haven_moderation_verdicts_total{action="block",category="spam"} 0.0' in text
    assert 'haven_reconnects_total{kind="resume"} 0.0' in text
    assert 'haven_reconnects_total{kind="snapshot"} 0.0' in text


def test_screen_time_adds_up() -> None:
    metrics = Metrics()
    metrics.screened(0.25)
    metrics.screened(0.5)
    text = metrics.render().decode()
    assert "haven_moderation_screen_seconds_total 0.75" in text


def test_unknown_labels_are_refused() -> None:
    metrics = Metrics()
    with pytest.raises(ValueError, match="moderation label"):
        metrics.verdict("ban", "spam")
    with pytest.raises(ValueError, match="moderation label"):
        metrics.verdict("block", "Sam said something")
    with pytest.raises(ValueError, match="reconnect kind"):
        metrics.reconnect("retry")


def test_error_codes_are_capped() -> None:
    metrics = Metrics()
    for n in range(MAX_ERROR_CODES + 10):
        metrics.error(f"code_{n}")
    metrics.error(4008)
    metrics.error("code_0")
    text = metrics.render().decode()
    assert f'haven_errors_total{{code="{OTHER}"}} 11.0' in text
    assert 'haven_errors_total{code="code_0"} 2.0' in text
    assert text.count("haven_errors_total{") == MAX_ERROR_CODES + 1
