"""The web client's pages that are not plain files under ``web/``, and the card they show.

The static mount serves ``web/`` at ``/``; these give the meeting link (``/m/{id}``, the URL
``app.meetings.service.meeting_url`` prints) and the facilitator console (``/console``, and
``/console/invite`` whose token travels in the fragment, never to the server) their pages, and
``/verify`` the page where a proof of attendance is checked.
The meeting id in the path is read by the page's script; nothing secret goes in a URL.

``/sw.js``, the service worker, is served with its cache named after the web client's files
(:func:`shell_version`): any change to them is a new worker with a cache of its own, which
takes over once no page of the old release is open (``web/sw.js``), so a page never mixes two
releases' modules.

``GET /api/help`` is the crisis resources card behind every page's "Get help now" button: the
same card a member receives privately when a message raises concern, readable before anything
happens and without joining a meeting.
"""

import functools
import hashlib
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from app.moderation.resources import default_card

WEB_DIR = Path(__file__).resolve().parents[2] / "web"

router = APIRouter()

SW_CACHE_PLACEHOLDER = "haven-shell-dev"
"""The cache name written in ``web/sw.js``; served, it is ``haven-shell-<version>``."""


def shell_version(web_dir: Path) -> str:
    """A digest of every file of the web client but the worker itself (names and bytes)."""
    return _digest(web_dir, _listing(web_dir))


def _listing(web_dir: Path) -> tuple[tuple[str, int, int], ...]:
    """Each file's path, size and modification time: what says the files changed."""
    files = sorted(p for p in web_dir.rglob("*") if p.is_file() and p.name != "sw.js")
    return tuple(
        (p.relative_to(web_dir).as_posix(), (st := p.stat()).st_size, st.st_mtime_ns) for p in files
    )


@functools.lru_cache(maxsize=4)
def _digest(web_dir: Path, listing: tuple[tuple[str, int, int], ...]) -> str:
    digest = hashlib.sha256()
    for name, _, _ in listing:
        digest.update(name.encode() + b"\0")
        digest.update((web_dir / name).read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def _service_worker() -> bytes:
    """``web/sw.js`` with its cache named after the files as they are now: read again after an
    edit without a restart (the files are listed on each request, read only when changed)."""
    source = (WEB_DIR / "sw.js").read_text(encoding="utf-8")
    named = f"haven-shell-{shell_version(WEB_DIR)}"
    return source.replace(f"'{SW_CACHE_PLACEHOLDER}'", f"'{named}'").encode()


@router.get("/sw.js", include_in_schema=False)
async def service_worker() -> Response:
    # Always checked with the server (a browser also bypasses its HTTP cache for a worker's
    # updates); the worker itself then serves the shell from its own versioned cache.
    return Response(
        _service_worker(),
        media_type="text/javascript",
        headers={"cache-control": "no-cache"},
    )


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
