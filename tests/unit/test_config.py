"""Settings: defaults, derived values, the secret key file, and refusals of unsafe values."""

import os
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from app.config import (
    SECRET_KEY_FILE,
    ConfigError,
    Settings,
    known_env_names,
    load_settings,
)


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run in an empty directory, so the default ./var lands under tmp_path."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_defaults_match_the_spec(in_tmp: Path) -> None:
    settings = Settings()
    assert settings.data_dir == in_tmp / "var"
    assert settings.database_url == f"sqlite+aiosqlite:///{in_tmp}/var/haven.db"
    assert settings.room_log_url == "memory://"
    assert (settings.host, settings.port, settings.workers) == ("127.0.0.1", 8000, 1)
    assert settings.allowed_origins == []
    assert settings.retention_days == 30
    assert settings.log_level == "info"
    assert settings.public_url is None
    assert settings.behind_tls is False
    assert settings.ticket_ttl_s == 60
    assert settings.resume_window_s == 600
    assert (settings.log_max_events, settings.log_max_age_s) == (1000, 900)
    assert (settings.send_queue_max_frames, settings.send_queue_max_bytes) == (256, 1024 * 1024)
    assert (settings.max_frame_bytes, settings.max_text_chars) == (16384, 2000)
    assert (settings.rate_burst, settings.rate_per_s) == (5, 1.0)
    assert settings.max_conns_per_ip == 20
    assert settings.join_rate_per_ip == "10/minute"
    assert settings.room_capacity_default == 100
    assert (settings.ping_interval_s, settings.ping_timeout_s) == (20, 20)
    assert settings.handshake_timeout_s == 10
    assert settings.session_ttl_s == 43200
    assert settings.demo is False
    assert settings.crisis_resources_file is None
    assert settings.trusted_proxies == []


def test_environment_overrides_with_prefix(in_tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HAVEN_DATA_DIR", str(in_tmp / "elsewhere"))
    monkeypatch.setenv("HAVEN_PORT", "9001")
    monkeypatch.setenv("HAVEN_ALLOWED_ORIGINS", "https://Haven.example.org/, http://localhost:3000")
    monkeypatch.setenv("HAVEN_ROOM_LOG", "redis://127.0.0.1:6379/0")
    monkeypatch.setenv("HAVEN_WORKERS", "4")
    monkeypatch.setenv("HAVEN_LOG_LEVEL", "WARNING")
    settings = load_settings()
    assert settings.port == 9001
    assert settings.database_url == f"sqlite+aiosqlite:///{in_tmp}/elsewhere/haven.db"
    assert settings.allowed_origins == ["https://haven.example.org", "http://localhost:3000"]
    assert settings.room_log_url == "redis://127.0.0.1:6379/0"
    assert settings.workers == 4
    assert settings.log_level == "warning"


def test_short_database_urls_get_the_async_driver(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, database_url="postgresql://u:pw@db.internal/haven")
    assert settings.database_url == "postgresql+asyncpg://u:pw@db.internal/haven"
    assert settings.database_url_safe == "postgresql+asyncpg://u:***@db.internal/haven"
    assert not settings.is_sqlite
    assert "pw" not in repr(settings)


def test_secret_key_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path)
    key_file = tmp_path / SECRET_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert len(first.secret_key.get_secret_value()) >= 32
    assert first.secret_key.get_secret_value() == key_file.read_text().strip()
    second = Settings(data_dir=tmp_path)
    assert second.secret_key == first.secret_key
    assert first.secret_key.get_secret_value() not in repr(first)


def test_new_data_dir_is_private(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path / "new")
    assert stat.S_IMODE((tmp_path / "new").stat().st_mode) == 0o700


def test_given_secret_key_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, secret_key="k" * 40)
    assert settings.secret_key.get_secret_value() == "k" * 40
    assert not (tmp_path / SECRET_KEY_FILE).exists()


def test_secret_key_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    Settings(data_dir=tmp_path)
    os.chmod(tmp_path / SECRET_KEY_FILE, 0o644)
    with pytest.raises(ConfigError) as caught:
        load_settings(data_dir=tmp_path)
    assert str(caught.value).startswith("invalid setting HAVEN_SECRET_KEY: ")
    assert "chmod 600" in str(caught.value)


@pytest.mark.parametrize(
    ("env", "value", "named", "says"),
    [
        ("HAVEN_DATABASE_URL", "mysql://root:hunter2@db/haven", "HAVEN_DATABASE_URL", "driver"),
        ("HAVEN_DATABASE_URL", "not a url", "HAVEN_DATABASE_URL", "not a database URL"),
        ("HAVEN_DATABASE_URL", "sqlite+aiosqlite://", "HAVEN_DATABASE_URL", "in-memory"),
        ("HAVEN_DATABASE_URL", "sqlite:////nonexistent/dir/x.db", "HAVEN_DATABASE_URL", "exist"),
        ("HAVEN_ROOM_LOG_URL", "kafka://x", "HAVEN_ROOM_LOG_URL", "redis://"),
        ("HAVEN_WORKERS", "2", "HAVEN_ROOM_LOG_URL", "memory://"),
        ("HAVEN_WORKERS", "0", "HAVEN_WORKERS", "greater than or equal to 1"),
        ("HAVEN_PORT", "http", "HAVEN_PORT", "integer"),
        ("HAVEN_ALLOWED_ORIGINS", "*", "HAVEN_ALLOWED_ORIGINS", "'*' is not allowed"),
        ("HAVEN_ALLOWED_ORIGINS", "https://a.org/path", "HAVEN_ALLOWED_ORIGINS", "drop the path"),
        ("HAVEN_TRUSTED_PROXIES", "*", "HAVEN_TRUSTED_PROXIES", "CIDR"),
        ("HAVEN_SECRET_KEY", "changeme", "HAVEN_SECRET_KEY", "placeholder"),
        ("HAVEN_SECRET_KEY", "short", "HAVEN_SECRET_KEY", "at least 32"),
        ("HAVEN_PUBLIC_URL", "https://haven.example.org", "HAVEN_BEHIND_TLS", "must be true"),
        ("HAVEN_PUBLIC_URL", "ftp://x", "HAVEN_PUBLIC_URL", "http"),
        ("HAVEN_LOG_LEVEL", "trace", "HAVEN_LOG_LEVEL", "info"),
        ("HAVEN_JOIN_RATE_PER_IP", "lots", "HAVEN_JOIN_RATE_PER_IP", "10/minute"),
        ("HAVEN_MAX_TEXT_CHARS", "5000", "HAVEN_MAX_TEXT_CHARS", "less than or equal to 2000"),
        ("HAVEN_MAX_FRAME_BYTES", "4096", "HAVEN_MAX_TEXT_CHARS", "fit in a frame"),
        ("HAVEN_ROOM_CAPACITY_DEFAULT", "1000", "HAVEN_ROOM_CAPACITY_DEFAULT", "equal to 500"),
        ("HAVEN_SEND_QUEUE_MAX_BYTES", "32768", "HAVEN_SEND_QUEUE_MAX_BYTES", "maximal frames"),
        ("HAVEN_CRISIS_RESOURCES_FILE", "/nonexistent.json", "HAVEN_CRISIS_RESOURCES_FILE", "file"),
        ("HAVEN_BEHIND_TSL", "true", "HAVEN_BEHIND_TSL", "unknown setting"),
    ],
)
def test_bad_values_give_one_line_naming_the_setting(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    env: str,
    value: str,
    named: str,
    says: str,
) -> None:
    monkeypatch.setenv("HAVEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv(env, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value)
    assert message.startswith(f"invalid setting {named}: ")
    assert says in message
    assert "\n" not in message
    assert "hunter2" not in message


def test_data_dir_that_cannot_be_created(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(ConfigError) as caught:
        load_settings(data_dir=blocker / "data")
    assert str(caught.value).startswith("invalid setting HAVEN_DATA_DIR: cannot create directory")


def test_settings_are_immutable(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    with pytest.raises(ValidationError):
        settings.port = 1  # type: ignore[misc]
    assert settings.model_copy(update={"port": 1}).port == 1


def test_every_field_has_an_environment_name() -> None:
    names = known_env_names()
    assert "HAVEN_ROOM_LOG" in names  # the short alias of HAVEN_ROOM_LOG_URL
    for field in Settings.model_fields:
        assert f"HAVEN_{field.upper()}" in names


def test_trusted_proxies_are_kept_as_the_networks_uvicorn_matches(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A network written with host bits set ("10.0.0.5/8") names 10.0.0.0/8: uvicorn parses
    its list strictly and would keep such an entry as a literal that no address equals."""
    from uvicorn.middleware.proxy_headers import _TrustedHosts

    monkeypatch.setenv("HAVEN_TRUSTED_PROXIES", "10.0.0.5/8, 127.0.0.1, fd00::1/64")
    proxies = Settings().trusted_proxies
    assert proxies == ["10.0.0.0/8", "127.0.0.1", "fd00::/64"]
    trusted = _TrustedHosts(proxies)
    assert "10.1.2.3" in trusted and "127.0.0.1" in trusted and "fd00::9" in trusted
    assert "11.0.0.1" not in trusted
