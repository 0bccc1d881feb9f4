"""Settings of a Haven server, read from ``HAVEN_*`` environment variables.

Contract:
- Nothing here runs at import time. ``load_settings()`` (the CLI) or ``Settings()`` (tests,
  ``create_app(None)``) builds one immutable ``Settings``; the app factory receives it and
  every component reads it from ``app.state.settings``.
- Validation refuses values that would be unsafe or silently wrong (a wildcard origin, an
  in-memory room log shared by several workers, a secret key file readable by others, a
  message limit that cannot fit in a frame) rather than guessing.
- Loading has two side effects, both inside ``data_dir``: the directory is created (mode 0700)
  and, when ``HAVEN_SECRET_KEY`` is unset, ``secret.key`` is read or generated (mode 0600).
  Every worker process then reads the same key.
- ``load_settings()`` turns any failure into ``ConfigError`` whose ``str()`` is one line naming
  the environment variable, e.g. ``invalid setting HAVEN_DATABASE_URL: ...``; it never echoes
  the value, which may hold a password.
"""

import contextlib
import ipaddress
import os
import secrets
import stat
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

import limits
from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from app.rooms.types import MAX_CAPACITY, MAX_TEXT_CHARS

ENV_PREFIX = "HAVEN_"
SECRET_KEY_FILE = "secret.key"
DATABASE_FILE = "haven.db"
MIN_SECRET_CHARS = 32
# Worst case of UTF-8 per character, plus room for the JSON envelope of a `say` command.
_BYTES_PER_CHAR = 4
_FRAME_OVERHEAD = 1024
_MIN_QUEUED_FRAMES = 4
_ROOM_LOG_SCHEMES = frozenset({"memory", "redis", "rediss"})
# Sync drivers would block the event loop; the friendly short forms map to the async ones.
_DRIVER_ALIASES = {
    "sqlite": "sqlite+aiosqlite",
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
}
_DRIVERS = frozenset({"sqlite+aiosqlite", "postgresql+asyncpg"})
_PLACEHOLDER_SECRETS = frozenset({"changeme", "change-me", "secret", "haven", "password"})

LogLevel = Literal["critical", "error", "warning", "info", "debug"]
CommaList = Annotated[list[str], NoDecode]


class ConfigError(ValueError):
    """A setting is unusable. ``str(error)`` is one line naming the environment variable."""

    def __init__(self, env_name: str, problem: str) -> None:
        super().__init__(problem)
        self.env_name = env_name
        self.problem = problem

    def __str__(self) -> str:
        return f"invalid setting {self.env_name}: {self.problem}"


def env_name(field: str) -> str:
    """The canonical environment variable of a Settings field."""
    return ENV_PREFIX + field.upper()


def _derived_database_url(data: dict[str, Any]) -> str:
    return f"sqlite+aiosqlite:///{data['data_dir'] / DATABASE_FILE}"


def _secret_from_data_dir(data: dict[str, Any]) -> SecretStr:
    # Pydantic calls a data-taking factory only when every earlier field validated.
    return SecretStr(read_or_create_secret(data["data_dir"] / SECRET_KEY_FILE))


def read_or_create_secret(path: Path) -> str:
    """Return the key stored at ``path``, creating it (mode 0600) on first use.

    Creation is atomic (write a private temporary file, then hard-link it into place), so
    workers starting at once all end up with the one key that won. Raises ``ConfigError``
    naming HAVEN_SECRET_KEY when the file is readable by others, too short or unwritable.
    """
    name = env_name("secret_key")
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as file:
                file.write(secrets.token_urlsafe(48) + "\n")
                file.flush()
                os.fsync(file.fileno())
            # If another worker won the race, its key is the one everyone reads.
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)
        except OSError as exc:
            raise ConfigError(name, f"cannot create {path}: {exc.strerror}") from exc
        finally:
            tmp.unlink(missing_ok=True)
    try:
        mode = path.stat().st_mode
        key = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(name, f"cannot read {path}: {exc.strerror}") from exc
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise ConfigError(name, f"{path} is accessible to other users; run: chmod 600 {path}")
    if len(key) < MIN_SECRET_CHARS:
        raise ConfigError(name, f"{path} holds fewer than {MIN_SECRET_CHARS} characters")
    return key


class Settings(BaseSettings):
    """Every knob of a Haven server; docs/configuration.md lists them (a test keeps it in step)."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        frozen=True,
        validate_by_name=True,
        extra="forbid",
    )

    # Field order matters: database_url and secret_key are derived from data_dir.
    data_dir: Path = Field(
        default=Path("var"),
        description="Directory for the SQLite database and the generated secret key.",
    )
    database_url: str = Field(
        default_factory=_derived_database_url,
        repr=False,
        description=(
            "SQLAlchemy URL: `sqlite+aiosqlite:///path` or "
            "`postgresql+asyncpg://user:pass@host/db`. Default: `{data_dir}/haven.db`."
        ),
    )
    room_log_url: str = Field(
        default="memory://",
        repr=False,
        validation_alias=AliasChoices("HAVEN_ROOM_LOG_URL", "HAVEN_ROOM_LOG"),
        description=(
            "Room event log: `memory://` (one process) or `redis://host:port/db` "
            "(several workers or hosts). Also read from HAVEN_ROOM_LOG."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Address `haven serve` listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="TCP port of `haven serve`.")
    workers: int = Field(
        default=1, ge=1, le=64, description="Worker processes; more than 1 needs a redis:// log."
    )
    allowed_origins: CommaList = Field(
        default_factory=list,
        description=(
            "Comma-separated extra origins allowed to open the WebSocket "
            "(e.g. `https://haven.example.org`). Empty: same origin only."
        ),
    )
    secret_key: SecretStr = Field(
        default_factory=_secret_from_data_dir,
        description=(
            "Key that signs tickets and tokens (32+ characters). "
            "Default: read or generated in `{data_dir}/secret.key` (mode 0600)."
        ),
    )
    retention_days: int = Field(
        default=30, ge=1, le=3650, description="Days to keep occurrences and the audit log."
    )
    log_level: LogLevel = Field(
        default="info", description="critical, error, warning, info, debug."
    )
    public_url: str | None = Field(
        default=None, description="External URL of the site, used in printed links."
    )
    behind_tls: bool = Field(
        default=False,
        description="Set when clients reach Haven over HTTPS: Secure cookies and HSTS.",
    )
    trusted_proxies: CommaList = Field(
        default_factory=list,
        description=(
            "Comma-separated IPs/CIDRs of reverse proxies whose X-Forwarded-For is believed. "
            "Empty: proxy headers are ignored."
        ),
    )
    ticket_ttl_s: int = Field(default=60, ge=5, le=600, description="Lifetime of a join ticket.")
    resume_window_s: int = Field(
        # Ten minutes: a phone on a weak signal, or put down with its screen off, drops its
        # link for minutes at a time; coming back as someone new would cost its place in the
        # queue, its time on a proof of attendance, and a newcomer's review of its messages.
        default=600,
        ge=0,
        le=3600,
        description="How long an away member can resume.",
    )
    log_max_events: int = Field(
        default=1000, ge=10, le=100_000, description="Events kept per room for resume."
    )
    log_max_age_s: int = Field(
        default=900, ge=10, le=86_400, description="Age after which room events are trimmed."
    )
    send_queue_max_frames: int = Field(
        default=256, ge=8, le=65_536, description="Frames queued per connection before closing."
    )
    send_queue_max_bytes: int = Field(
        default=1024 * 1024,
        ge=16 * 1024,
        le=64 * 1024 * 1024,
        description="Bytes queued per connection before closing it (4008, resumable).",
    )
    max_frame_bytes: int = Field(
        default=16 * 1024,
        ge=1024,
        le=1024 * 1024,
        description="Largest WebSocket frame accepted (1009 above).",
    )
    max_text_chars: int = Field(
        default=MAX_TEXT_CHARS,
        ge=1,
        le=MAX_TEXT_CHARS,
        description="Longest chat message, in characters (the protocol carries at most 2000).",
    )
    rate_burst: int = Field(default=5, ge=1, le=10_000, description="Messages a member may burst.")
    rate_per_s: float = Field(
        default=1.0, gt=0, le=1000, description="Sustained messages per second per member."
    )
    max_conns_per_ip: int = Field(
        default=20, ge=1, le=100_000, description="Open WebSockets per client address."
    )
    join_rate_per_ip: str = Field(
        default="10/minute", description="Join tickets per client address (`limits` syntax)."
    )
    room_capacity_default: int = Field(
        default=100, ge=2, le=MAX_CAPACITY, description="Capacity of a new meeting (2-500)."
    )
    ping_interval_s: float = Field(
        default=20.0, gt=0, le=600, description="WebSocket keepalive ping interval."
    )
    ping_timeout_s: float = Field(
        default=20.0, gt=0, le=600, description="Close a WebSocket whose pong is this late."
    )
    handshake_timeout_s: float = Field(
        default=10.0,
        gt=0,
        le=120,
        description="Each HTTP request, and a WebSocket's first frame, must arrive within this.",
    )
    session_ttl_s: int = Field(
        default=43_200, ge=300, le=30 * 86_400, description="Lifetime of a facilitator session."
    )
    account_check_s: float = Field(
        default=5.0,
        gt=0,
        le=300,
        description=(
            "How often facilitators in running meetings are checked against their accounts: "
            "a disabled account or a reset password takes them out of the room."
        ),
    )
    demo: bool = Field(default=False, description="Create a demo meeting at start-up.")
    crisis_resources_file: Path | None = Field(
        default=None, description="JSON file of crisis lines shown to members (default: built-in)."
    )
    moderation: bool = Field(
        default=True,
        description="Screen every message (crisis care, privacy warnings, abuse). Off: benchmarks.",
    )
    semantic_crisis: bool = Field(
        default=True,
        description=(
            "After delivery, also screen messages for crisis by sentence similarity (MiniLM, "
            "in one child process, at most 40 a second) and send the care card and the "
            "facilitator alert for what the rules miss. Needs `moderation`."
        ),
    )
    semantic_crisis_share: float = Field(
        default=0.25,
        gt=0,
        le=1,
        description=(
            "The share of one CPU core the semantic crisis screen may keep busy; messages "
            "beyond it are left to the rules (counted as over_budget)."
        ),
    )

    @field_validator("data_dir")
    @classmethod
    def _usable_data_dir(cls, value: Path) -> Path:
        path = value.expanduser().absolute()
        try:
            path.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise ValueError(f"cannot create directory {path}: {exc.strerror}") from exc
        if not os.access(path, os.W_OK | os.X_OK):
            raise ValueError(f"directory {path} is not writable")
        return path

    @field_validator("database_url")
    @classmethod
    def _async_database_url(cls, value: str) -> str:
        try:
            url = make_url(value)
        except ArgumentError:
            raise ValueError(
                "not a database URL; use sqlite+aiosqlite:///path/haven.db or "
                "postgresql+asyncpg://user:password@host/dbname"
            ) from None
        url = url.set(drivername=_DRIVER_ALIASES.get(url.drivername, url.drivername))
        if url.drivername not in _DRIVERS:
            raise ValueError(
                f"driver {url.drivername!r} is not supported; use sqlite+aiosqlite or "
                "postgresql+asyncpg"
            )
        if url.drivername.startswith("sqlite"):
            _check_sqlite_file(url)
        return url.render_as_string(hide_password=False)

    @field_validator("room_log_url")
    @classmethod
    def _known_room_log(cls, value: str) -> str:
        scheme = urlsplit(value).scheme
        if scheme not in _ROOM_LOG_SCHEMES:
            raise ValueError("use memory:// or redis://host:port/db")
        return value

    @field_validator("allowed_origins", "trusted_proxies", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("allowed_origins")
    @classmethod
    def _exact_origins(cls, value: list[str]) -> list[str]:
        return [_origin(item) for item in value]

    @field_validator("trusted_proxies")
    @classmethod
    def _proxy_networks(cls, value: list[str]) -> list[str]:
        out = []
        for item in value:
            # Trusting every peer would let any client forge its address and dodge limits.
            try:
                network = ipaddress.ip_network(item.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{item!r} is not an IP address or CIDR network") from None
            # As the network it names: uvicorn reads "10.0.0.5/8" (host bits set) strictly,
            # fails, and would keep it as a literal host that no client address ever equals.
            out.append(str(network) if "/" in item else item.strip())
        return out

    @field_validator("secret_key")
    @classmethod
    def _strong_secret(cls, value: SecretStr) -> SecretStr:
        key = value.get_secret_value()
        if key.strip().lower() in _PLACEHOLDER_SECRETS:
            raise ValueError("is a placeholder; unset it to generate a key in data_dir")
        if len(key) < MIN_SECRET_CHARS:
            raise ValueError(f"must be at least {MIN_SECRET_CHARS} characters")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_level(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError("must be an http:// or https:// URL")
        if parts.query or parts.fragment:
            raise ValueError("must not have a query string or fragment")
        return value.rstrip("/")

    @field_validator("join_rate_per_ip")
    @classmethod
    def _rate_syntax(cls, value: str) -> str:
        try:
            limits.parse(value)
        except ValueError:
            raise ValueError("use the form N/second|minute|hour, e.g. 10/minute") from None
        return value

    @field_validator("crisis_resources_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"{value} is not a readable file")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> "Settings":
        if self.workers > 1 and self.room_log_url.startswith("memory:"):
            raise ConfigError(
                env_name("room_log_url"),
                f"memory:// lives in one process but HAVEN_WORKERS={self.workers}; use redis://",
            )
        if self.max_text_chars * _BYTES_PER_CHAR + _FRAME_OVERHEAD > self.max_frame_bytes:
            raise ConfigError(
                env_name("max_text_chars"),
                f"a message of {self.max_text_chars} characters may not fit in a frame of "
                f"HAVEN_MAX_FRAME_BYTES={self.max_frame_bytes}",
            )
        if self.send_queue_max_bytes < _MIN_QUEUED_FRAMES * self.max_frame_bytes:
            # A queue that fills with one frame would close members at the first burst.
            raise ConfigError(
                env_name("send_queue_max_bytes"),
                f"must hold at least {_MIN_QUEUED_FRAMES} maximal frames "
                f"({_MIN_QUEUED_FRAMES} x HAVEN_MAX_FRAME_BYTES)",
            )
        if self.public_url is not None:
            https = self.public_url.startswith("https://")
            if https != self.behind_tls:
                # A mismatch means either insecure cookies over HTTPS or cookies that an
                # HTTP-only site can never send back.
                raise ConfigError(
                    env_name("behind_tls"),
                    f"must be {'true' if https else 'false'} when HAVEN_PUBLIC_URL is "
                    f"{'https' if https else 'http'}",
                )
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def database_url_safe(self) -> str:
        """The database URL with any password masked, for messages."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def _check_sqlite_file(url: URL) -> None:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        # Each pooled connection would see its own empty database, and a restart loses all.
        raise ValueError("an in-memory SQLite database is not supported; give a file path")
    parent = Path(database).expanduser().absolute().parent
    if not parent.is_dir():
        raise ValueError(f"directory {parent} does not exist")


def _origin(value: str) -> str:
    if value == "*":
        # A wildcard would let any web page open a WebSocket with a visitor's cookies.
        raise ValueError("'*' is not allowed; list each origin")
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an origin like https://haven.example.org")
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
        raise ValueError(f"{value!r} is not an origin: drop the path")
    return f"{parts.scheme}://{parts.netloc}".lower()


def known_env_names() -> frozenset[str]:
    """Every environment variable Settings reads (canonical names and aliases)."""
    names: set[str] = set()
    for field, info in Settings.model_fields.items():
        names.add(env_name(field))
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.update(choice for choice in alias.choices if isinstance(choice, str))
    return frozenset(names)


def get_settings(**overrides: Any) -> Settings:
    """Build Settings from the environment; keyword overrides win (tests use them)."""
    return Settings(**overrides)


def load_settings(**overrides: Any) -> Settings:
    """Like ``get_settings`` but every failure becomes one ``ConfigError``.

    Also refuses unknown ``HAVEN_*`` variables: a typo such as HAVEN_BEHIND_TSL would
    otherwise be ignored silently and leave the unsafe default in place.
    """
    unknown = sorted(
        name for name in os.environ if name.startswith(ENV_PREFIX) and name not in known_env_names()
    )
    if unknown:
        raise ConfigError(unknown[0], "unknown setting (see docs/configuration.md)")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise _first_error(exc) from None


def _first_error(exc: ValidationError) -> ConfigError:
    # A derived default is skipped when its source failed; that is not a second mistake.
    errors = [e for e in exc.errors() if e["type"] != "default_factory_not_called"]
    error = errors[0]
    cause = error.get("ctx", {}).get("error")
    if isinstance(cause, ConfigError):
        return cause
    loc = error["loc"]
    field = str(loc[0]) if loc else "?"
    # A field reported under an alias is already an environment name.
    name = field if field.startswith(ENV_PREFIX) else env_name(field)
    # The message only, never error["input"]: the value may hold a password.
    message = str(error["msg"]).removeprefix("Value error, ")
    more = len(errors) - 1
    if more:
        message += f" (and {more} more invalid setting{'s' if more > 1 else ''})"
    return ConfigError(name, message)
