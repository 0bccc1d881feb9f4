"""Per-room moderation policy: defaults plus the meeting's ``policy`` JSON overrides.

A policy is a frozen, validated value built once per room (``Policy.from_overrides``) and
passed to every screen call through ``ScreenContext``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .verdict import Action, Category

# Recovery resources members commonly point each other to; links to them are not spam.
DEFAULT_LINK_DOMAINS: tuple[str, ...] = (
    "988lifeline.org",
    "samhsa.gov",
    "findtreatment.gov",
    "aa.org",
    "na.org",
    "smartrecovery.org",
    "al-anon.org",
)

# Crisis and help lines are never personal data: members must be able to share them.
DEFAULT_ALLOWED_NUMBERS: tuple[str, ...] = (
    "988",
    "911",
    "999",
    "112",
    "000",
    "18006624357",  # SAMHSA National Helpline
    "18002738255",  # former US National Suicide Prevention Lifeline
    "18007997233",  # US National Domestic Violence Hotline
    "18006564673",  # RAINN
    "741741",  # Crisis Text Line
    "116123",  # Samaritans (UK, IE)
    "08001111",  # Childline UK
    "131114",  # Lifeline Australia
    "18334564566",  # Talk Suicide Canada
    "9152987821",  # iCall India
)


class PolicyError(ValueError):
    """Raised by ``Policy.from_overrides`` when the overrides are invalid (message says why)."""


class Policy(BaseModel):
    """Moderation policy of one room. Every field has a safe default.

    - ``harassment``: insults, slurs, threats aimed at people: ``hold`` (default) or ``block``.
    - ``spam``: floods, duplicates, mass mentions, solicitation: ``warn``/``hold``/``block``.
    - ``impersonation``: a member claiming facilitator authority: ``warn``/``hold``/``block``.
    - ``links``: what happens when a member (not a facilitator) posts a link:
      ``allow``/``warn``/``hold``/``block`` (default, reason ``links.not_allowed``).
      Domains in ``link_domains`` (and their subdomains) are always allowed.
    - ``redact_pii``: False (default): personal data triggers a private warning and the
      message is not sent until the sender confirms; True: the message goes out at once with
      the personal data replaced by ``[hidden]``.
    - ``allowed_numbers``: extra phone numbers (digits only) that are never personal data,
      such as local crisis lines; the built-in crisis lines are always allowed.
    - ``newcomer_cooldown`` / ``newcomer_window_s``: the first N messages of a member who
      joined less than ``window`` seconds ago are held for review (0 disables).
    - ``review_fallback``: what a held message becomes when no facilitator is present.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    harassment: Literal["hold", "block"] = "hold"
    spam: Literal["warn", "hold", "block"] = "block"
    impersonation: Literal["warn", "hold", "block"] = "hold"
    links: Literal["allow", "warn", "hold", "block"] = "block"
    link_domains: tuple[str, ...] = DEFAULT_LINK_DOMAINS
    redact_pii: bool = False
    allowed_numbers: tuple[str, ...] = ()
    newcomer_cooldown: int = Field(default=2, ge=0, le=100)
    newcomer_window_s: float = Field(default=300.0, ge=0, le=86_400)
    review_fallback: Literal["allow", "block"] = "block"

    @field_validator("link_domains")
    @classmethod
    def _domains(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for domain in value:
            d = domain.strip().lower().removeprefix("www.")
            if not d or "." not in d or any(c.isspace() or c in "/@:" for c in d):
                raise ValueError(f"not a domain name: {domain!r}")
            out.append(d)
        return tuple(out)

    @field_validator("allowed_numbers")
    @classmethod
    def _numbers(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for number in value:
            digits = "".join(c for c in number if c.isdigit())
            if not 3 <= len(digits) <= 15:
                raise ValueError(f"not a phone number: {number!r}")
            out.append(digits)
        return tuple(out)

    def action_for(self, category: Category) -> Action:
        """The configured action for a category whose action is a policy choice."""
        if category == "harassment":
            return self.harassment
        if category == "spam":
            return self.spam
        if category == "impersonation":
            return self.impersonation
        if category == "pii":
            return "redact" if self.redact_pii else "warn"
        if category == "newcomer":
            return "hold"
        return "allow"

    @classmethod
    def from_overrides(cls, overrides: Mapping[str, Any] | None) -> Policy:
        """Build a policy from defaults plus JSON overrides (a meeting's ``policy`` column).

        Lists are accepted where tuples are expected (JSON has no tuples). Unknown keys and
        wrong types raise ``PolicyError`` with a readable message; nothing is silently dropped.
        """
        if overrides is None:
            return cls()
        if not isinstance(overrides, Mapping):
            raise PolicyError("policy overrides must be a JSON object")
        data: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in overrides.items()
        }
        window = data.get("newcomer_window_s")
        # JSON has one number type; an integer window is fine.
        if isinstance(window, int) and not isinstance(window, bool):
            data["newcomer_window_s"] = float(window)
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'policy'}: {err['msg']}"
                for err in exc.errors()
            )
            raise PolicyError(problems) from exc

    def to_overrides(self) -> dict[str, Any]:
        """The fields that differ from the defaults, as JSON-ready values."""
        default = Policy()
        out: dict[str, Any] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value != getattr(default, name):
                out[name] = list(value) if isinstance(value, tuple) else value
        return out
