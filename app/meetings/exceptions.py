"""Errors of meeting management, raised by the service and translated by the router.

MeetingError
├── MeetingNotFound       unknown id (also: not visible to this caller)          404
├── MeetingForbidden      a facilitator who may not do this to this meeting     403
├── UnknownFacilitators   co-facilitator usernames that have no account          422
└── InvalidMeeting        the merged definition breaks a rule                     422
"""


class MeetingError(Exception):
    code = "meeting_error"
    status = 400
    message = "meeting error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.message)


class MeetingNotFound(MeetingError):
    code = "meeting_not_found"
    status = 404
    message = "no such meeting"


class MeetingForbidden(MeetingError):
    code = "forbidden"
    status = 403
    message = "only this meeting's facilitators (or an administrator) may do this"


class UnknownFacilitators(MeetingError):
    code = "unknown_facilitators"
    status = 422

    def __init__(self, usernames: list[str]) -> None:
        # Usernames are facilitators' account names, typed by a facilitator: safe to echo back.
        super().__init__("no facilitator account named: " + ", ".join(sorted(usernames)))
        self.usernames = usernames


class InvalidMeeting(MeetingError):
    code = "invalid_meeting"
    status = 422
