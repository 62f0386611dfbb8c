"""Errors the case services raise; the API and the web turn each into one clear answer."""


class CaseError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or {}


class NotFound(CaseError):
    status, code = 404, "not_found"


class Forbidden(CaseError):
    status, code = 403, "forbidden"


class Conflict(CaseError):
    status, code = 409, "stale_version"


class Invalid(CaseError):
    status, code = 422, "invalid"


class NotPossible(CaseError):
    status, code = 422, "action_not_possible"
