"""How failures a user can cause become HTTP answers: always JSON saying what and how to fix.

Every error, 500 included, has one shape (`ErrorBody`), and the OpenAPI schema says so for
every status an endpoint can answer, so clients and contract tests need no special cases.
"""

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from domain.refusals import Wording
from workflows.errors import EXPIRED, FORBIDDEN, HANDING_OVER, INVALID_INPUT, WRONG_STATE

RETRY_AFTER_SECONDS = 30
log = logging.getLogger(__name__)


class FieldProblem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    """`code` is stable for programs, `detail` is for people, `field` names the input at fault
    (dotted, e.g. `party.bin`); a 422 lists every problem in `errors`."""

    code: str
    detail: str
    field: str | None = None
    errors: list[FieldProblem] | None = None


_DESCRIPTIONS = {
    400: "The body cannot be read as its Content-Type says (e.g. not UTF-8 JSON)",
    401: "No token, or one that is not accepted",
    403: "The caller's role or office may not do this",
    404: "No such case (or not one the caller may see)",
    409: "The case is not in a state that takes this",
    413: "The request body is larger than REQUEST_MAX_BYTES",
    422: "The input is not valid; `field` names it",
    503: "A part the answer needs is down; retry after `Retry-After` seconds",
}
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text} for status, text in _DESCRIPTIONS.items()
}


class ApiError(Exception):
    """An error with its HTTP status, a stable code and a message for the caller; a refusal
    of the case also keeps its `wording`, which the pages translate (the JSON body does not
    carry it)."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
        wording: Wording | None = None,
        problems: list[FieldProblem] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}
        self.wording = wording
        self.problems = problems


def not_found(audit_id: str) -> ApiError:
    return ApiError(404, "not_found", f"no audit with id {audit_id}")


def handing_over(error: WorkflowUpdateFailedError) -> bool:
    cause = error.cause
    return isinstance(cause, ApplicationError) and cause.type == HANDING_OVER


def from_update_failure(error: WorkflowUpdateFailedError) -> ApiError:
    """A validator's or handler's refusal, with the workflow's own message."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        details = cause.details[0] if cause.details else {}
        wording = Wording.from_details(details)
        if cause.type in (EXPIRED, HANDING_OVER):
            expired = cause.type == EXPIRED
            # a handover lasts a moment; a worker that was away may stay away a while
            retry_after = RETRY_AFTER_SECONDS if expired else 1
            code = "expired" if expired else "handing_over"
            return ApiError(503, code, cause.message, headers={"Retry-After": str(retry_after)})
        if cause.type == FORBIDDEN:
            return ApiError(403, "forbidden", cause.message, wording=wording)
        if cause.type == WRONG_STATE:
            return ApiError(409, "wrong_state", cause.message, wording=wording)
        if cause.type == INVALID_INPUT:
            field = details.get("field") if isinstance(details, dict) else None
            return ApiError(422, "invalid", cause.message, field, wording=wording)
    raise error


def answer(status: int, body: ErrorBody, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status, content=body.model_dump(exclude_none=True), headers=headers
    )


async def api_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, ApiError)
    problems = error.problems
    if problems is None and error.status == 422:  # listed as a schema's 422 lists them
        problems = [FieldProblem(field=error.field or "", message=error.message)]
    body = ErrorBody(code=error.code, detail=error.message, field=error.field, errors=problems)
    return answer(error.status, body, error.headers)


async def validation_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, RequestValidationError)
    problems = [
        FieldProblem(field=".".join(str(part) for part in item["loc"][1:]), message=item["msg"])
        for item in error.errors()
    ]
    first = problems[0] if problems else FieldProblem(field="", message="invalid request")
    detail = f"{first.field}: {first.message}" if first.field else first.message
    body = ErrorBody(code="invalid", detail=detail, field=first.field or None, errors=problems)
    return answer(422, body)


_HTTP_CODES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}


async def http_error_handler(_request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, HTTPException)
    code = _HTTP_CODES.get(error.status_code, "http_error")
    return answer(error.status_code, ErrorBody(code=code, detail=str(error.detail)), error.headers)


async def database_down_handler(_request: Request, error: Exception) -> JSONResponse:
    """The database refused or dropped the connection: a retry later will do, nothing 500."""
    log.warning("database unavailable: %s", error)
    body = ErrorBody(
        code="database_unavailable",
        detail="the database does not answer now; nothing was stored by this request unless "
        "it says otherwise; retry later",
    )
    return answer(503, body, {"Retry-After": str(RETRY_AFTER_SECONDS)})


async def unexpected_error_handler(request: Request, error: Exception) -> JSONResponse:
    log.exception("unexpected error answering %s %s", request.method, request.url.path)
    body = ErrorBody(
        code="internal",
        detail="an unexpected error; it has been logged. Retry later, or report the time.",
    )
    return answer(500, body)


Handler = Callable[[Request, Exception], Awaitable[JSONResponse]]
# Which handler answers which error, most specific first (the app registers these).
HANDLERS: tuple[tuple[type[Exception], Handler], ...] = (
    (ApiError, api_error_handler),
    (RequestValidationError, validation_error_handler),
    (HTTPException, http_error_handler),
    (OperationalError, database_down_handler),
    (InterfaceError, database_down_handler),
    (Exception, unexpected_error_handler),
)


async def late_answer(request: Request, error: Exception) -> dict[str, Any]:
    """The error body the app would have answered `error` with, for a streamed reply whose
    status has already been sent: it becomes the reply's last line."""
    handler = next(handler for kind, handler in HANDLERS if isinstance(error, kind))
    reply = await handler(request, error)
    body: dict[str, Any] = json.loads(bytes(reply.body))
    return body
