"""The treasury feed: single payments, a day's statement as JSON, or the same as CSV."""

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import Field
from sqlalchemy.engine import Engine
from starlette.requests import ClientDisconnect

from api.auth import Principal
from api.cases import CaseGateway, WorkerUnavailable
from api.deps import AuditIdParam, Db, Gateway, allow
from api.errors import ApiError, late_answer
from api.schemas import EdgeInput, PaymentAccepted, PaymentRequest, UnmatchedPayment
from api.statements import (
    AnswerWhileReading,
    LineResult,
    Outcome,
    Posting,
    StatementResult,
    Tally,
    answered,
    csv_postings,
    tally,
    totals,
)
from db import unmatched
from domain.clock import local_date
from domain.identifiers import AUDIT_ID_PATTERN
from workflows.cameral_audit import CameralAudit

router = APIRouter()
MAX_BATCH = 5000  # JSON statements are parsed whole; larger ones go as CSV
STATEMENT_FEED = "/payments/import"  # read as it arrives, bodies up to IMPORT_MAX_BYTES
NDJSON = "application/x-ndjson"
UNMATCHED_ID_MAX = 40  # the longest audit id a posting can be kept under


class StatementLine(PaymentRequest):
    audit_id: str


class Statement(EdgeInput):
    payments: Annotated[list[StatementLine], Field(min_length=1, max_length=MAX_BATCH)]


_STATEMENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "a result per line, in the statement's order; with `Accept: "
        f"{NDJSON}` each result is sent as its own JSON line as soon as it is known, "
        "then the totals",
        "content": {NDJSON: {"schema": {"type": "string"}}},
    }
}


@router.post(
    "/audits/{audit_id}/payments",
    status_code=202,
    response_model=PaymentAccepted,
    responses={409: {"description": "the case is closed; the payment is kept as unmatched"}},
)
async def record_payment(
    who: Annotated[Principal, allow("treasury")],
    audit_id: AuditIdParam,
    body: PaymentRequest,
    cases: Gateway,
    db: Db,
) -> PaymentAccepted:
    """A credit from the treasury feed, answered by the case: `accepted`, `duplicate` (the
    reference was already counted), or `queued` when no worker runs (Temporal keeps it and
    the case counts it once). For an unknown audit the payment is kept as unmatched (202,
    `unknown_audit`); for a closed one too, with a 409."""
    line = await _apply(cases, db, 1, audit_id, body)
    if line.result == "invalid":
        raise ApiError(422, "invalid", line.detail, "paid_at")
    if line.result == "closed":
        raise ApiError(409, "closed", line.detail)
    return PaymentAccepted(
        audit_id=audit_id, reference=body.reference, result=line.result, detail=line.detail
    )


@router.get("/payments/unmatched", response_model=list[UnmatchedPayment])
async def unmatched_payments(
    who: Annotated[Principal, allow("treasury", "supervisor", "operator")],
    db: Db,
    after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[UnmatchedPayment]:
    """Postings no running case counted, oldest first, for the treasury to reconcile
    (`after` = the last `id` seen, for the next page)."""
    rows = await run_in_threadpool(unmatched.listing, db, after, limit)
    return [UnmatchedPayment.model_validate(row, from_attributes=True) for row in rows]


@router.post("/payments/batch", response_model=StatementResult, responses=_STATEMENT_RESPONSES)
async def record_statement(
    who: Annotated[Principal, allow("treasury")],
    body: Statement,
    request: Request,
    cases: Gateway,
    db: Db,
) -> Response | StatementResult:
    """A day's statement: each line is reported on; one bad line does not stop the rest."""

    async def postings() -> AsyncIterator[Posting]:
        for number, line in enumerate(body.payments, start=1):
            yield Posting(
                line=number, audit_id=line.audit_id, reference=line.reference, payment=line
            )

    return await _answer(request, postings(), cases, db)


@router.post(
    STATEMENT_FEED,
    response_model=StatementResult,
    responses=_STATEMENT_RESPONSES,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_statement(
    who: Annotated[Principal, allow("treasury")], request: Request, cases: Gateway, db: Db
) -> Response | StatementResult:
    """CSV with a header row `audit_id,reference,amount,paid_at,kind` (kind may be empty), one
    posting per line, read as it arrives (up to IMPORT_MAX_BYTES)."""
    postings = csv_postings(request.stream())
    first = await anext(postings)  # the header is checked before anything is applied

    async def all_postings() -> AsyncIterator[Posting]:
        yield first
        async for posting in postings:
            yield posting

    return await _answer(request, all_postings(), cases, db)


async def _answer(
    request: Request, postings: AsyncIterator[Posting], cases: CaseGateway, db: Engine
) -> Response | StatementResult:
    async def apply(number: int, audit_id: str, payment: PaymentRequest) -> LineResult:
        return await _apply(cases, db, number, audit_id, payment)

    results = answered(postings, apply, request.app.state.settings.statement_concurrency)
    if NDJSON not in request.headers.get("accept", ""):
        return totals([line async for line in results])
    return AnswerWhileReading(_ndjson(request, results), media_type=NDJSON)


async def _ndjson(request: Request, results: AsyncIterator[LineResult]) -> AsyncIterator[str]:
    """Each result as a JSON line, then the totals. An error after the answer has begun
    (Temporal or the database gone, a body cut off at its size limit) is the last line,
    `{"error": ...}` as the app would have answered it; the lines before it stand."""
    counts = {name: 0 for name in get_args(Tally)}
    try:
        async for line in results:
            counts[tally(line)] += 1
            yield line.model_dump_json() + "\n"
    except ClientDisconnect:
        return  # nobody is listening; what was applied stands, a resend counts it once
    except Exception as error:
        yield json.dumps({"error": await late_answer(request, error)}) + "\n"
        return
    yield json.dumps(counts) + "\n"


async def _apply(
    cases: CaseGateway, db: Engine, number: int, audit_id: str, payment: PaymentRequest
) -> LineResult:
    """One posting, never lost: counted by its case, queued for it in Temporal when no
    worker runs, or kept as unmatched when the case is unknown or closed."""

    def result(outcome: Outcome, detail: str) -> LineResult:
        return LineResult(
            line=number,
            audit_id=audit_id,
            reference=payment.reference,
            result=outcome,
            detail=detail,
        )

    problem = _future(payment)
    if problem:
        return result("invalid", problem)
    if len(audit_id) > UNMATCHED_ID_MAX:
        return result("invalid", f"audit_id is longer than {UNMATCHED_ID_MAX} characters")
    if not AUDIT_ID_PATTERN.fullmatch(audit_id):
        await run_in_threadpool(unmatched.keep, db, audit_id, payment, "no such audit id")
        return result("unknown_audit", f"no audit with id {audit_id!r}; kept as unmatched")
    try:
        outcome = await cases.record_payment(audit_id, payment)
    except ApiError as error:
        if isinstance(error, WorkerUnavailable) or error.code == "expired":
            # No worker took it in time (down, or restarting): a signal waits in Temporal
            # until one does, and the case counts a reference once however it arrives.
            await cases.signal(audit_id, CameralAudit.post_payment, payment)
            return result("queued", "no worker answered now; the case will count it (once)")
        if error.status not in (404, 409):
            raise
        await run_in_threadpool(unmatched.keep, db, audit_id, payment, error.message)
        outcome_name: Outcome = "unknown_audit" if error.status == 404 else "closed"
        return result(outcome_name, f"{error.message}; kept as unmatched")
    if outcome == "accepted":
        return result("accepted", "counted")
    return result(
        "duplicate", f"reference {payment.reference} was already counted for this case; ignored"
    )


def _future(payment: PaymentRequest) -> str | None:
    """A payment dated after today (Almaty) is a feed error: it would count penalty ahead."""
    today = local_date(datetime.now(UTC))
    if payment.paid_at > today:
        return f"paid_at {payment.paid_at} is after today ({today})"
    return None
