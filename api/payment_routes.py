"""The treasury feed: single payments, a day's statement as JSON, or the same as CSV."""

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.cases import CaseGateway, WorkerUnavailable
from api.deps import AuditIdParam, Db, Gateway, allow
from api.errors import ApiError
from api.schemas import EdgeInput, PaymentAccepted, PaymentRequest, UnmatchedPayment
from db import unmatched
from domain.clock import local_date
from domain.identifiers import AUDIT_ID_PATTERN
from workflows.cameral_audit import CameralAudit

router = APIRouter()
CSV_COLUMNS = ("audit_id", "reference", "amount", "paid_at", "kind")
MAX_BATCH = 5000

Outcome = Literal["accepted", "duplicate", "queued", "unknown_audit", "closed", "invalid"]


class StatementLine(PaymentRequest):
    audit_id: str


class Statement(EdgeInput):
    payments: Annotated[list[StatementLine], Field(min_length=1, max_length=MAX_BATCH)]


class LineResult(BaseModel):
    line: int
    audit_id: str | None
    reference: str | None
    result: Outcome
    detail: str


class StatementResult(BaseModel):
    results: list[LineResult]
    accepted: int
    duplicates: int
    rejected: int


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


@router.post("/payments/batch", response_model=StatementResult)
async def record_statement(
    who: Annotated[Principal, allow("treasury")], body: Statement, cases: Gateway, db: Db
) -> StatementResult:
    """A day's statement: each line is reported on; one bad line does not stop the rest."""
    results = [
        await _apply(cases, db, number, line.audit_id, line)
        for number, line in enumerate(body.payments, start=1)
    ]
    return _summary(results)


@router.post(
    "/payments/import",
    response_model=StatementResult,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_statement(
    who: Annotated[Principal, allow("treasury")], request: Request, cases: Gateway, db: Db
) -> StatementResult:
    """CSV with a header row `audit_id,reference,amount,paid_at,kind` (kind may be empty)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ApiError(415, "encoding", "the statement must be UTF-8 text") from error
    reader = csv.DictReader(io.StringIO(text))
    missing = [c for c in CSV_COLUMNS[:4] if c not in (reader.fieldnames or [])]
    if missing:
        raise ApiError(
            422, "invalid", f"CSV header lacks {', '.join(missing)}; expected {CSV_COLUMNS}"
        )
    rows = list(reader)
    if not rows or len(rows) > MAX_BATCH:
        raise ApiError(422, "invalid", f"a statement has 1 to {MAX_BATCH} lines")
    results: list[LineResult] = []
    for number, row in enumerate(rows, start=1):
        audit_id = (row.get("audit_id") or "").strip()
        try:
            payment = PaymentRequest(
                reference=row.get("reference") or "",
                amount=row.get("amount") or "",
                paid_at=row.get("paid_at") or "",
                kind=(row.get("kind") or "").strip() or None,
            )
        except ValidationError as error:
            problems = "; ".join(f"{e['loc'][0]}: {e['msg']}" for e in error.errors())
            results.append(
                LineResult(
                    line=number,
                    audit_id=audit_id,
                    reference=row.get("reference"),
                    result="invalid",
                    detail=problems,
                )
            )
            continue
        results.append(await _apply(cases, db, number, audit_id, payment))
    return _summary(results)


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


def _summary(results: list[LineResult]) -> StatementResult:
    return StatementResult(
        results=results,
        accepted=sum(r.result == "accepted" for r in results),
        duplicates=sum(r.result == "duplicate" for r in results),
        rejected=sum(r.result not in ("accepted", "duplicate") for r in results),
    )
