"""Tables of meetings, their co-facilitators, occurrences and the moderation audit.

Minimal metadata only: a meeting's definition, when each occurrence ran and how many
attended at the peak, and who did what to which meeting-scoped member id. Never message text,
pseudonyms or addresses (docs/privacy.md). Enumerated columns (format, chat_mode, action) are
plain strings validated by the wire schemas, so adding a value needs no table rebuild.
"""

import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base
from app.store.types import UTCDateTime, utc_now

MEETING_ID_CHARS = 12
MEMBER_ID_CHARS = 32


def new_meeting_id() -> str:
    """A 12-character URL-safe random slug (72 bits): unguessable for unlisted meetings."""
    return secrets.token_urlsafe(9)


class Meeting(Base):
    __tablename__ = "meetings"

    id: Mapped[str] = mapped_column(
        String(MEETING_ID_CHARS), primary_key=True, default=new_meeting_id
    )
    owner_id: Mapped[str] = mapped_column(ForeignKey("facilitators.id"), index=True)
    title: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    format: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(35))  # BCP-47, e.g. "en" or "pt-BR"
    timezone: Mapped[str] = mapped_column(String(64))  # IANA key, e.g. "Europe/Paris"
    weekdays: Mapped[str] = mapped_column(String(13))  # "0,2,4"; 0 = Monday
    start_time: Mapped[str] = mapped_column(String(5))  # "HH:MM", local to timezone
    duration_min: Mapped[int] = mapped_column(Integer)
    capacity: Mapped[int] = mapped_column(Integer)
    passcode_hash: Mapped[str | None] = mapped_column(String(255), default=None)
    lobby: Mapped[bool] = mapped_column(Boolean, default=False)
    chat_mode: Mapped[str] = mapped_column(String(16), default="open")
    members_visible: Mapped[bool] = mapped_column(Boolean, default=True)
    share_limit_s: Mapped[int] = mapped_column(Integer)
    # [{"title": ..., "text": ...}]: the facilitator's readings, not members' words.
    readings: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    listed: Mapped[bool] = mapped_column(Boolean, default=True)
    policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, onupdate=utc_now)


class MeetingFacilitator(Base):
    """A co-facilitator of a meeting (the owner is not repeated here)."""

    __tablename__ = "meeting_facilitators"

    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), primary_key=True
    )
    facilitator_id: Mapped[str] = mapped_column(
        ForeignKey("facilitators.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class Occurrence(Base):
    """One run of a meeting: when it started and ended and its peak head count."""

    __tablename__ = "occurrences"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    peak_members: Mapped[int] = mapped_column(Integer, default=0)


class AuditEntry(Base):
    """A moderation action: who did what to which meeting-scoped member, and when. No text."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    meeting_id: Mapped[str] = mapped_column(
        ForeignKey("meetings.id", ondelete="CASCADE"), index=True
    )
    occurrence_id: Mapped[int | None] = mapped_column(
        ForeignKey("occurrences.id", ondelete="SET NULL"), default=None, index=True
    )
    # None when the actor is a member promoted for one meeting: they have no account.
    facilitator_id: Mapped[str | None] = mapped_column(
        ForeignKey("facilitators.id", ondelete="SET NULL"), default=None, index=True
    )
    actor_member: Mapped[str] = mapped_column(String(MEMBER_ID_CHARS))
    action: Mapped[str] = mapped_column(String(32))
    target_member: Mapped[str | None] = mapped_column(String(MEMBER_ID_CHARS), default=None)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now, index=True)
