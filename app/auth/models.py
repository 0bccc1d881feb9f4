"""Tables of facilitator accounts, their sessions and invitations.

Participants have no rows anywhere: they join with a pseudonym that lives in the room log
only. Tokens are stored as SHA-256 hex digests, so a copy of the database cannot be replayed
as a login.
"""

import uuid
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.store.base import Base
from app.store.types import UTCDateTime, utc_now

SHA256_HEX_CHARS = 64


def new_facilitator_id() -> str:
    return uuid.uuid4().hex


class Facilitator(Base):
    __tablename__ = "facilitators"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_facilitator_id)
    # Stored lower-case (the service normalises), so the unique index is case-insensitive.
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id PHC string
    totp_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    # A secret shown at enrolment but not yet confirmed with a code: it does not guard logins
    # until confirmed, so a half-finished enrolment cannot lock the facilitator out.
    totp_pending_secret: Mapped[str | None] = mapped_column(String(64), default=None)
    # The TOTP time step last accepted: a code for this step or an older one is a replay.
    totp_last_step: Mapped[int | None] = mapped_column(Integer, default=None)
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)


class FacilitatorSession(Base):
    __tablename__ = "facilitator_sessions"

    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX_CHARS), primary_key=True)
    facilitator_id: Mapped[str] = mapped_column(
        ForeignKey("facilitators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Invite(Base):
    __tablename__ = "invites"

    token_hash: Mapped[str] = mapped_column(String(SHA256_HEX_CHARS), primary_key=True)
    created_by: Mapped[str] = mapped_column(
        ForeignKey("facilitators.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utc_now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
