"""The treasury feed: single payments, a day's statement as JSON, or the same as CSV."""

import csv
import io
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from api.auth import Principal
from api.cases import CaseGateway
from api.deps import AuditIdParam, Case, Gateway, allow
from api.errors import ApiError
from api.schemas import PaymentAccepted, PaymentRequest
from domain.clock import local_date
from domain.identifiers import AUDIT_ID_PATTERN

router = APIRouter()
CSV_COLUMNS = ("audit_id", "reference", "amount", "paid_at", "kind")
MAX_BATCH = 5000

Outcome = Literal["accepted", "duplicate", "unknown_audit", "closed", "invalid"]


class StatementLine(PaymentRequest):
    audit_id: str


class Statement(BaseModel):
    model_config = ConfigDict(extra="forbid")

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


@router.post("/audits/{audit_id}/payments", status_code=202, response_model=PaymentAccepted)
async def record_payment(
    who: Annotated[Principal, allow("treasury")],
    case: Case,
    audit_id: AuditIdParam,
    body: PaymentRequest,
    cases: Gateway,
) -> PaymentAccepted:
    """A credit from the treasury feed; a reference already counted is reported, not added."""
    problem = _future(body)
    if problem:
        raise ApiError(422, "invalid", problem, "paid_at")
    result = await cases.record_payment(audit_id, PaymentRequest.model_validate(body))
    detail = (
        "accepted"
        if result == "accepted"
        else f"reference {body.reference} was already counted for this case; ignored"
    )
    return PaymentAccepted(
        audit_id=audit_id,
        reference=body.reference,
        result=result,
        detail=detail,
    )


@router.post("/payments/batch", response_model=StatementResult)
async def record_statement(
    who: Annotated[Principal, allow("treasury")], body: Statement, cases: Gateway
) -> StatementResult:
    """A day's statement: each line is reported on; one bad line does not stop the rest."""
    results = [
        await _apply(cases, number, line.audit_id, line)
        for number, line in enumerate(body.payments, start=1)
    ]
    return _summary(results)


@router.post(
    "/payments/import",
    response_model=StatementResult,
    openapi_extra={"requestBody": {"content": {"text/csv": {"schema": {"type": "string"}}}}},
)
async def import_statement(
    who: Annotated[Principal, allow("treasury")], request: Request, cases: Gateway
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
        results.append(await _apply(cases, number, audit_id, payment))
    return _summary(results)


async def _apply(
    cases: CaseGateway, number: int, audit_id: str, payment: PaymentRequest
) -> LineResult:
    def result(outcome: Outcome, detail: str) -> LineResult:
        return LineResult(
            line=number,
            audit_id=audit_id,
            reference=payment.reference,
            result=outcome,
            detail=detail,
        )

    if not AUDIT_ID_PATTERN.match(audit_id):
        return result("unknown_audit", f"no audit with id {audit_id!r}")
    problem = _future(payment)
    if problem:
        return result("invalid", problem)
    try:
        outcome = await cases.record_payment(audit_id, payment)
    except ApiError as error:
        if error.status == 404:
            return result("unknown_audit", error.message)
        if error.status == 409:
            return result("closed", error.message)
        raise
    return result(outcome, "counted" if outcome == "accepted" else "already counted; ignored")


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
