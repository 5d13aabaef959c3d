"""HTTP routes of the case API. Thin: validate, hand to the workflow, shape the answer."""

import logging
from datetime import UTC, date, datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from sqlalchemy.engine import Engine

from api.auth import Principal
from api.cases import WorkerUnavailable
from api.deps import READERS, AuditIdParam, Case, Config, Db, Gateway, Tables, Terms, allow
from api.errors import ApiError
from api.evidence_routes import require_uploaded
from api.following import TOO_MANY_WAITS, WAIT_LIMIT_SECONDS, until_past
from api.readmodel import Sort, list_audits, stored_snapshot
from api.schemas import (
    AuditPage,
    CancelRequest,
    CaseView,
    ExplanationRequest,
    Health,
    InspectionActRequest,
    MailReturnedRequest,
    PostalReceiptRequest,
    ReassignRequest,
    ReviewRequest,
    StartAuditRequest,
)
from api.starting import StartKey, start_case
from domain.case import CaseSnapshot, CaseSummary
from domain.case_view import snapshot
from domain.clock import local_date
from domain.lifecycle import MAY_HAVE_ENDED, AuditStatus
from domain.settlement import settle
from workflows.cameral_audit import CameralAudit
from workflows.client import live_pollers
from workflows.messages import ReviewOrder

log = logging.getLogger(__name__)
router = APIRouter()


@router.post("/audits", status_code=201, response_model=CaseSnapshot)
async def start_audit(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    body: StartAuditRequest,
    response: Response,
    cases: Gateway,
    db: Db,
    rates: Tables,
    terms: Terms,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=200, pattern=r"^[\x21-\x7e]+$"),
    ] = None,
) -> CaseSnapshot:
    """Start a cameral audit; the notification goes to the party's cabinet at once.

    Send an `Idempotency-Key` header to make retries safe: the same key and body return the
    same case (201), however often the request is repeated.

    With `lines` the charges are worked out by the system (see POST /charges/preview). An
    inspector starts audits of their own office, as themselves; a supervisor may name any
    inspector of the office.
    """
    key = None if idempotency_key is None else StartKey.of_request(who.sub, idempotency_key, body)
    state = await start_case(who, body, cases, db, rates, terms, key)
    response.headers["Location"] = f"/audits/{state.audit_id}"
    return snapshot(state, [])


@router.get("/audits", response_model=AuditPage)
async def list_cases(
    who: Annotated[Principal, allow(*READERS)],
    db: Db,
    status: AuditStatus | None = None,
    party_bin: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    inspector_id: str | None = None,
    customs_office: Annotated[str | None, Query(pattern=r"^[0-9]{5}$")] = None,
    overdue: bool | None = None,
    deadline_from: date | None = None,
    deadline_to: date | None = None,
    sort: Sort = "deadline",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> AuditPage:
    """Cases from the read model, by the deadline they run against (soonest first). Staff of
    an office see that office's cases; a party sees its own."""
    if who.role in ("inspector", "supervisor"):
        if customs_office not in (None, who.office):
            raise ApiError(403, "forbidden", f"you see customs office {who.office} only")
        customs_office = who.office
    if who.role == "party":
        party_bin = who.bin  # another party's BIN just finds nothing, as if it had no cases
    return await run_in_threadpool(
        lambda: list_audits(
            db,
            status=status,
            party_bin=party_bin,
            inspector_id=inspector_id,
            customs_office=customs_office,
            overdue=overdue,
            deadline_from=deadline_from,
            deadline_to=deadline_to,
            sort=sort,
            limit=limit,
            cursor=cursor,
        )
    )


@router.get("/audits/{audit_id}", response_model=CaseView, responses=TOO_MANY_WAITS)
async def get_case(
    request: Request,
    who: Annotated[Principal, allow(*READERS)],
    row: Case,
    audit_id: AuditIdParam,
    cases: Gateway,
    db: Db,
    rates: Tables,
    terms: Terms,
    after_version: Annotated[int | None, Query(ge=0)] = None,
    wait: Annotated[float, Query(ge=0, le=WAIT_LIMIT_SECONDS)] = 0,
) -> CaseView:
    """The live case from its workflow (the last stored snapshot if no worker answers), with
    what it takes to settle it today. With `after_version` (a `version` the reader has seen)
    and `wait`, the answer waits up to `wait` seconds for the case to move past it: a
    reader following a case asks once instead of over and over, and is answered with the
    stored case that moved, which costs no query to the workflow."""
    case: CaseSnapshot | None = None
    if wait:
        if after_version is None:
            needed = "wait needs after_version: the version to wait past"
            raise ApiError(422, "invalid", needed, "after_version")
        if await until_past(request, audit_id, after_version, wait, f"{who.role}:{who.sub}"):
            moved = await run_in_threadpool(stored_snapshot, db, audit_id)
            case = moved if moved is not None and moved.version > after_version else None
    stored_at = None
    if case is None:
        try:
            case = await cases.snapshot(audit_id, db, may_have_ended=row.status in MAY_HAVE_ENDED)
        except WorkerUnavailable:
            stored = await run_in_threadpool(stored_snapshot, db, audit_id)
            if stored is None:
                raise
            case, stored_at = stored, row.updated_at
    owed_today = None
    if case.charges is not None:
        owed_today = settle(
            case.charges,
            case.payments,
            local_date(datetime.now(UTC)),
            case.issued_on,
            case.response_deadline,
            rates.base_rate,
            case.penalty_terms or terms,
        )
    return CaseView(
        **dict(case), owed_today=owed_today, live=stored_at is None, stored_at=stored_at
    )


@router.post("/audits/{audit_id}/explanation", response_model=CaseSummary)
async def submit_explanation(
    who: Annotated[Principal, allow("party")],
    row: Case,
    audit_id: AuditIdParam,
    body: ExplanationRequest,
    cases: Gateway,
    db: Db,
) -> CaseSummary:
    """The party disputes the notification; the 10-working-day review starts."""
    await run_in_threadpool(require_uploaded, db, audit_id, body.documents)
    return await cases.update(audit_id, CameralAudit.submit_explanation, body)


@router.post("/audits/{audit_id}/delivery", response_model=CaseSummary)
async def postal_receipt(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: PostalReceiptRequest,
    cases: Gateway,
) -> CaseSummary:
    """The post office's receipt: its date is the delivery date the deadline counts from."""
    return await cases.update(audit_id, CameralAudit.record_postal_receipt, body)


@router.post("/audits/{audit_id}/delivery/returned", response_model=CaseSummary)
async def mail_returned(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: MailReturnedRequest,
    cases: Gateway,
) -> CaseSummary:
    """The letter came back: the inspector has 5 working days to inspect the address."""
    return await cases.update(audit_id, CameralAudit.record_mail_returned, body)


@router.post("/audits/{audit_id}/delivery/inspection", response_model=CaseSummary)
async def inspection_act(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: InspectionActRequest,
    cases: Gateway,
) -> CaseSummary:
    """The act of inspecting the registered address: its date becomes the delivery date."""
    return await cases.update(audit_id, CameralAudit.record_inspection_act, body)


@router.post("/audits/{audit_id}/review", response_model=CaseSummary)
async def review(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: ReviewRequest,
    cases: Gateway,
) -> CaseSummary:
    """Customs accepts the explanation or decides the notification is unfulfilled; once the
    review is overdue, only a supervisor decides."""
    decided = body.model_copy(update={"decided_by": who.sub})
    return await cases.update(
        audit_id, CameralAudit.review, ReviewOrder(decision=decided, role=who.role)
    )


@router.post("/audits/{audit_id}/cancel", response_model=CaseSummary)
async def cancel(
    who: Annotated[Principal, allow("supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: CancelRequest,
    cases: Gateway,
) -> CaseSummary:
    cancelled = body.model_copy(update={"cancelled_by": who.sub})
    return await cases.update(audit_id, CameralAudit.cancel, cancelled)


@router.post("/audits/{audit_id}/reassign", response_model=CaseSummary)
async def reassign(
    who: Annotated[Principal, allow("supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: ReassignRequest,
    cases: Gateway,
) -> CaseSummary:
    """Hand the case to another inspector of the office."""
    moved = body.model_copy(update={"by": who.sub})
    return await cases.update(audit_id, CameralAudit.reassign, moved)


@router.get("/healthz", response_model=Health)
async def healthz(request: Request, response: Response, db: Db, config: Config) -> Health:
    """200 only when Temporal and the database answer and a worker polls the task queue:
    without a worker, cases accept nothing and no deadline is acted on."""
    health = Health(temporal="ok", database="ok", worker="ok")
    client = request.app.state.client
    try:
        await client.service_client.check_health()
        pollers = await live_pollers(client, config.temporal_task_queue)
        health.worker = (
            f"ok ({pollers} polling)"
            if pollers
            else f"no worker polls task queue {config.temporal_task_queue}"
        )
    except Exception as error:
        health.temporal = f"unreachable: {error}"
        health.worker = "unknown"
    try:
        await run_in_threadpool(_ping, db)
    except Exception as error:
        health.database = f"unreachable: {error}"
    if health.temporal != "ok" or health.database != "ok" or not health.worker.startswith("ok"):
        response.status_code = 503
    return health


def _ping(db: Engine) -> None:
    with db.connect() as connection:
        connection.execute(text("SELECT 1"))
