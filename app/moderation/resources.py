"""The crisis resources card: what a member in crisis privately receives.

Built-in default for the US (988 Suicide & Crisis Lifeline, SAMHSA National Helpline,
emergency 911, Crisis Text Line). Operators replace or add cards per locale with a JSON file
(``HAVEN_CRISIS_RESOURCES_FILE``)::

    {
      "en-US": {"title": "...", "intro": "...", "lines": [
          {"name": "988 Suicide & Crisis Lifeline", "contact": "988", "how": "call"},
          {"name": "988 Suicide & Crisis Lifeline", "contact": "988", "how": "text"}]},
      "en-GB": {"title": "...", "lines": [
          {"name": "Samaritans", "contact": "116 123", "how": "call",
           "url": "https://www.samaritans.org"}]},
      "default": {...}
    }

Locale resolution: exact tag (case-insensitive), then the first card of the same language
("en" -> "en-GB" if it comes first in the file), then "default", then the built-in US card.
The file is read and validated once at start-up; an invalid file is a configuration error
(``ResourcesError``), never a silent fallback.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]


class ResourcesError(ValueError):
    """The resources file is missing, not JSON, or not a valid set of cards (says why)."""


class CareLine(BaseModel):
    """One way to get help: a named service, a number or address, and how to reach it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: Text
    contact: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=60)]
    how: Literal["call", "text", "chat"]
    url: str | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] | None = None

    @field_validator("url")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not (value.startswith("https://") and " " not in value):
            raise ValueError("url must start with https:// and contain no spaces")
        return value


class CareCard(BaseModel):
    """A card of crisis resources for one locale."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Text
    intro: Annotated[str, StringConstraints(strip_whitespace=True, max_length=400)] = ""
    lines: Annotated[tuple[CareLine, ...], Field(min_length=1, max_length=12)]
    locale: str = "en-US"

    def numbers(self) -> tuple[str, ...]:
        """Digits of the phone and SMS contacts (allow-listed by the PII stage)."""
        out = []
        for line in self.lines:
            digits = "".join(c for c in line.contact if c.isdigit())
            if line.how in ("call", "text") and len(digits) >= 3:
                out.append(digits)
        return tuple(dict.fromkeys(out))

    def to_wire(self) -> dict[str, Any]:
        """The card as sent in the ``care`` event (JSON-ready)."""
        return self.model_dump(mode="json", exclude_none=True)


DEFAULT_CARD = CareCard(
    title="You matter. Help is available right now.",
    intro=(
        "Free, confidential and open 24/7. If you are in immediate danger, call 911. "
        "You can stay in the meeting while you reach out."
    ),
    lines=(
        CareLine(
            name="988 Suicide & Crisis Lifeline",
            contact="988",
            how="call",
            url="https://988lifeline.org",
        ),
        CareLine(name="988 Suicide & Crisis Lifeline", contact="988", how="text"),
        CareLine(
            name="988 Suicide & Crisis Lifeline",
            contact="988lifeline.org/chat",
            how="chat",
            url="https://988lifeline.org/chat",
        ),
        CareLine(
            name="SAMHSA National Helpline (substance use, treatment referral)",
            contact="1-800-662-4357",
            how="call",
            url="https://www.samhsa.gov/find-help/national-helpline",
        ),
        CareLine(
            name="Crisis Text Line",
            contact="741741",
            how="text",
            note="Text HOME to 741741.",
            url="https://www.crisistextline.org",
        ),
        CareLine(name="Emergency services", contact="911", how="call"),
    ),
    locale="en-US",
)


def default_card() -> CareCard:
    """The built-in US card."""
    return DEFAULT_CARD


def parse_resources(data: Any) -> dict[str, CareCard]:
    """Validate the decoded JSON of a resources file into cards by locale tag."""
    if not isinstance(data, dict) or not data:
        raise ResourcesError("resources file must be a JSON object of cards by locale")
    cards: dict[str, CareCard] = {}
    for tag, raw in data.items():
        if not isinstance(tag, str) or not tag.strip() or len(tag) > 35:
            raise ResourcesError(f"bad locale tag {tag!r}")
        if not isinstance(raw, dict):
            raise ResourcesError(f"card {tag!r} must be a JSON object")
        try:
            cards[tag] = CareCard.model_validate({**raw, "locale": tag})
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ResourcesError(f"card {tag!r}: {problems}") from exc
    return cards


def pick_card(cards: dict[str, CareCard], locale: str) -> CareCard:
    """Resolve a locale against cards (see the module docstring)."""
    wanted = locale.strip().lower()
    by_tag = {tag.lower(): card for tag, card in cards.items()}
    if wanted in by_tag:
        return by_tag[wanted]
    language = wanted.split("-", 1)[0]
    for tag, card in cards.items():
        low = tag.lower()
        if low == language or low.startswith(language + "-"):
            return card
    return by_tag.get("default", DEFAULT_CARD)


def load_resources(path: Path | str | None, locale: str = "en-US") -> CareCard:
    """The care card for ``locale``: from the operator's JSON file, or the built-in US card.

    Raises ``ResourcesError`` when the file cannot be read or is invalid.
    """
    if path is None:
        return DEFAULT_CARD
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ResourcesError(f"cannot read {path}: {exc.strerror}") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResourcesError(f"{path} is not valid JSON: {exc}") from exc
    return pick_card(parse_resources(data), locale)
