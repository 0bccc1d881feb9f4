"""Every table, imported in one place so ``Base.metadata`` is complete for Alembic."""

from app.auth.models import Facilitator, FacilitatorSession, Invite
from app.meetings.models import AuditEntry, Meeting, MeetingFacilitator, Occurrence
from app.store.base import Base

metadata = Base.metadata

__all__ = [
    "AuditEntry",
    "Base",
    "Facilitator",
    "FacilitatorSession",
    "Invite",
    "Meeting",
    "MeetingFacilitator",
    "Occurrence",
    "metadata",
]
