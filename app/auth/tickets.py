"""Join tickets and resume tokens: signed, self-contained, never stored.

A **join ticket** says "this person may join meeting M as member X named N with role R" for
``ticket_ttl_s`` seconds, once: its nonce is claimed in the room log backend (shared by every
worker) on first use, so a replayed ticket is refused. It travels in the first WebSocket frame,
never in a URL, so proxies and access logs never see it.

A **resume token** lets the same member reconnect to the same meeting after a dropped link. It
carries no expiry of its own: it is valid while the room still has that member (the resume
window), and a removed member's token opens nothing.

Both are HMAC-signed with the server's secret key (itsdangerous); neither is written anywhere.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

from app.rooms.types import MeetingId, MemberId, Role


class TicketError(Exception):
    """Base: a ticket or token that cannot be used."""


class TicketExpired(TicketError):
    pass


class TicketInvalid(TicketError):
    pass


@dataclass(frozen=True, slots=True)
class Ticket:
    meeting: MeetingId
    member: MemberId
    name: str
    role: Role
    nonce: str
    account: str | None = None
    device: str | None = None
    grant: str | None = None
    """For a facilitator: :meth:`TicketSigner.grant` of the account when the ticket was
    issued. A password reset or a disabled account voids it, and with it the room powers the
    ticket gave (``app.rooms.lifespan.watch_accounts``)."""


@dataclass(frozen=True, slots=True)
class ResumeClaim:
    meeting: MeetingId
    member: MemberId


def new_member_id() -> MemberId:
    """48 random bits: unique within a meeting in practice, meaningless outside it."""
    return MemberId(secrets.token_urlsafe(6))


def device_hash(meeting: str, device: str | None) -> str | None:
    """The form in which a browser's per-meeting device token is kept (for bans)."""
    if not device:
        return None
    return hashlib.sha256(f"{meeting}\x00{device}".encode()).hexdigest()[:32]


class TicketSigner:
    def __init__(self, secret: str, ttl_s: int) -> None:
        self._tickets = URLSafeTimedSerializer(secret, salt="haven.ticket.v1")
        self._resume = URLSafeSerializer(secret, salt="haven.resume.v1")
        self._grant_key = hashlib.sha256(f"haven.grant.v1\x00{secret}".encode()).digest()
        self.ttl_s = ttl_s

    def grant(self, account: str, password_hash: str) -> str:
        """What a facilitator's ticket holds of its account: a keyed digest of the account's
        password hash, which a password reset changes (it reveals nothing of either)."""
        digest = hmac.new(self._grant_key, f"{account}\x00{password_hash}".encode(), "sha256")
        return digest.hexdigest()[:24]

    def issue(
        self,
        meeting: str,
        name: str,
        role: Role,
        *,
        account: str | None = None,
        device: str | None = None,
        grant: str | None = None,
    ) -> tuple[str, Ticket]:
        ticket = Ticket(
            meeting=MeetingId(meeting),
            member=new_member_id(),
            name=name,
            role=role,
            nonce=secrets.token_urlsafe(12),
            account=account,
            device=device_hash(meeting, device),
            grant=grant,
        )
        body = {
            "mid": ticket.meeting,
            "m": ticket.member,
            "n": ticket.name,
            "r": ticket.role,
            "nonce": ticket.nonce,
            "acc": ticket.account,
            "dev": ticket.device,
            "g": ticket.grant,
        }
        return self._tickets.dumps(body), ticket

    def verify(self, token: str) -> Ticket:
        """The ticket's claims; raises :class:`TicketExpired` or :class:`TicketInvalid`."""
        try:
            body = self._tickets.loads(token, max_age=self.ttl_s)
        except SignatureExpired as exc:
            raise TicketExpired("ticket expired") from exc
        except BadSignature as exc:
            raise TicketInvalid("ticket invalid") from exc
        try:
            role = body["r"]
            if role not in ("host", "cofac", "member"):
                raise TicketInvalid("ticket invalid")
            return Ticket(
                meeting=MeetingId(str(body["mid"])),
                member=MemberId(str(body["m"])),
                name=str(body["n"]),
                role=role,
                nonce=str(body["nonce"]),
                account=body.get("acc"),
                device=body.get("dev"),
                grant=body.get("g"),
            )
        except (KeyError, TypeError) as exc:
            raise TicketInvalid("ticket invalid") from exc

    def resume_token(self, meeting: str, member: str) -> str:
        return self._resume.dumps({"mid": meeting, "m": member})

    def verify_resume(self, token: str) -> ResumeClaim:
        try:
            body = self._resume.loads(token)
            return ResumeClaim(meeting=MeetingId(str(body["mid"])), member=MemberId(str(body["m"])))
        except (BadSignature, KeyError, TypeError) as exc:
            raise TicketInvalid("resume token invalid") from exc
