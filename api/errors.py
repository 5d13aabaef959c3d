"""How failures a user can cause become HTTP answers: always JSON saying what and how to fix."""

from fastapi import Request
from fastapi.responses import JSONResponse
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from workflows.errors import EXPIRED, FORBIDDEN, INVALID_INPUT, WRONG_STATE

RETRY_AFTER_SECONDS = 30


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a message for the caller."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def not_found(audit_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no audit with id {audit_id}")


def from_update_failure(error: WorkflowUpdateFailedError) -> ApiError:
    """A validator's or handler's refusal, with the workflow's own message."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        if cause.type == EXPIRED:
            return ApiError(
                503, "expired", cause.message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
            )
        if cause.type == FORBIDDEN:
            return ApiError(403, "forbidden", cause.message)
        if cause.type == WRONG_STATE:
            return ApiError(409, "wrong_state", cause.message)
        if cause.type == INVALID_INPUT:
            details = cause.details[0] if cause.details else {}
            field = details.get("field") if isinstance(details, dict) else None
            return ApiError(422, "invalid", cause.message, field)
    raise error


async def api_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    body: dict[str, str] = {"code": error.code, "detail": error.message}
    if error.field:
        body["field"] = error.field
    return JSONResponse(status_code=error.status, content=body, headers=error.headers)
