"""Prometheus metrics of one app instance, in their own registry.

Each ``create_app()`` builds its own ``Metrics`` (``app.state.metrics``), so tests can run
several apps in one process without "duplicated timeseries" errors, and nothing lands in
prometheus_client's global registry. Metrics are counts only: no label ever carries a
meeting id, a member, a name or an address.

Label values are bounded: actions, categories and reconnect kinds come from fixed sets
(an unknown value is a programming error and raises ``ValueError``); error codes are free
strings, so at most ``MAX_ERROR_CODES`` distinct ones are kept and the rest count as
``"other"``.
"""

from typing import Any, Final, Literal, get_args

from prometheus_client import CollectorRegistry, Counter, Gauge, exposition, generate_latest

ModerationAction = Literal["allow", "warn", "redact", "hold", "block"]
ModerationCategory = Literal[
    "crisis", "pii", "harassment", "spam", "impersonation", "newcomer", "ok"
]
ReconnectKind = Literal["resume", "snapshot"]
SemanticOutcome = Literal[
    "crisis", "clear", "gated", "over_budget", "queue_full", "ended", "off", "error"
]

ACTIONS: Final = frozenset(get_args(ModerationAction))
CATEGORIES: Final = frozenset(get_args(ModerationCategory))
RECONNECT_KINDS: Final = frozenset(get_args(ReconnectKind))
SEMANTIC_OUTCOMES: Final = frozenset(get_args(SemanticOutcome))
MAX_ERROR_CODES: Final = 64
OTHER: Final = "other"
CONTENT_TYPE: Final = exposition.CONTENT_TYPE_LATEST


class Metrics:
    """The metric objects of one app. Update them through the attributes or helpers."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        self.connections = Gauge(
            "haven_connections", "Open WebSocket connections.", registry=registry
        )
        self.rooms = Gauge(
            "haven_rooms", "Rooms with a replica in this process.", registry=registry
        )
        self.messages_in = Counter(
            "haven_messages_in", "Chat messages received from members.", registry=registry
        )
        self.events_out = Counter(
            "haven_events_out", "Event deliveries to connections.", registry=registry
        )
        self.moderation_verdicts = Counter(
            "haven_moderation_verdicts",
            "Moderation verdicts by action and category.",
            ["action", "category"],
            registry=registry,
        )
        self.moderation_screen_seconds = Counter(
            "haven_moderation_screen_seconds",
            "Seconds the event loop spent screening chat messages (the gating pipeline). Its "
            "rate is the share of a core moderation takes; over the verdicts' rate, the time "
            "one message takes.",
            registry=registry,
        )
        self.reconnects = Counter(
            "haven_reconnects",
            "Reconnections by outcome: resume (missed events replayed) or snapshot.",
            ["kind"],
            registry=registry,
        )
        self.send_overflows = Counter(
            "haven_send_overflows",
            "Connections closed because their send queue overflowed (4008).",
            registry=registry,
        )
        self.errors = Counter(
            "haven_errors", "Errors sent to clients, by stable code.", ["code"], registry=registry
        )
        self.semantic_crisis = Counter(
            "haven_semantic_crisis_screens",
            "Delivered messages offered to the semantic crisis screen, by outcome: crisis, "
            "clear, or skipped (gated, over_budget, queue_full, ended, off) or failed (error).",
            ["outcome"],
            registry=registry,
        )
        self._error_codes: set[str] = set()
        # Label lookups cost a lock and a tuple per call; counted on every message.
        self._verdict_children: dict[tuple[str, str], Any] = {}
        self._semantic_children: dict[str, Any] = {}
        # Pre-create the bounded series so dashboards see zeros, not gaps.
        for action in ACTIONS:
            for category in CATEGORIES:
                self.moderation_verdicts.labels(action=action, category=category)
        for kind in RECONNECT_KINDS:
            self.reconnects.labels(kind=kind)
        for outcome in SEMANTIC_OUTCOMES:
            self.semantic_crisis.labels(outcome=outcome)

    def screened(self, seconds: float) -> None:
        """Count the event loop's time for one screen."""
        self.moderation_screen_seconds.inc(seconds)

    def verdict(self, action: str, category: str) -> None:
        """Count one verdict; raises ``ValueError`` for a label outside the fixed sets."""
        child = self._verdict_children.get((action, category))
        if child is None:
            if action not in ACTIONS or category not in CATEGORIES:
                raise ValueError(f"unknown moderation label {action!r}/{category!r}")
            child = self.moderation_verdicts.labels(action=action, category=category)
            self._verdict_children[(action, category)] = child
        child.inc()

    def reconnect(self, kind: str) -> None:
        if kind not in RECONNECT_KINDS:
            raise ValueError(f"unknown reconnect kind {kind!r}")
        self.reconnects.labels(kind=kind).inc()

    def semantic(self, outcome: str) -> None:
        """Count one semantic crisis screen outcome; ``ValueError`` outside the fixed set."""
        child = self._semantic_children.get(outcome)
        if child is None:
            if outcome not in SEMANTIC_OUTCOMES:
                raise ValueError(f"unknown semantic screen outcome {outcome!r}")
            child = self._semantic_children[outcome] = self.semantic_crisis.labels(outcome=outcome)
        child.inc()

    def error(self, code: str | int) -> None:
        """Count one error by code (protocol error code or close code)."""
        label = str(code)
        if label not in self._error_codes:
            if len(self._error_codes) >= MAX_ERROR_CODES:
                label = OTHER
            else:
                self._error_codes.add(label)
        self.errors.labels(code=label).inc()

    def render(self) -> bytes:
        """The Prometheus text exposition of this registry."""
        return generate_latest(self.registry)
