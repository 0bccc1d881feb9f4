"""The web client's pages that are not plain files under ``web/``, and the card they show.

The static mount serves ``web/`` at ``/``; these give the meeting link (``/m/{id}``, the URL
``app.meetings.service.meeting_url`` prints) and the facilitator console (``/console``, and
``/console/invite`` whose token travels in the fragment, never to the server) their pages, and
``/verify`` the page where a proof of attendance is checked.
The meeting id in the path is read by the page's script; nothing secret goes in a URL.

``GET /api/help`` is the crisis resources card behind every page's "Get help now" button: the
same card a member receives privately when a message raises concern, readable before anything
happens and without joining a meeting.
"""

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse

from app.moderation.resources import default_card

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

router = APIRouter()


@router.get("/m/{meeting_id}", include_in_schema=False)
async def meeting_page(meeting_id: str) -> FileResponse:
    return FileResponse(WEB_DIR / "m.html", media_type="text/html")


@router.get("/console", include_in_schema=False)
@router.get("/console/invite", include_in_schema=False)
async def console_page() -> FileResponse:
    return FileResponse(WEB_DIR / "console.html", media_type="text/html")


@router.get("/verify", include_in_schema=False)
async def verify_page() -> FileResponse:
    """Where a proof of attendance is checked (docs/api.md)."""
    return FileResponse(WEB_DIR / "verify.html", media_type="text/html")


@router.get("/api/help", tags=["help"], summary="The crisis resources card (public)")
async def help_card(request: Request) -> dict[str, Any]:
    rooms = getattr(request.app.state, "rooms", None)
    card: dict[str, Any] | None = getattr(rooms, "care_card", None)
    return card or default_card().to_wire()
