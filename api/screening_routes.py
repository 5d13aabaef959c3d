"""Risk screening over HTTP: the declaration and postal feeds, runs, and the candidates an
inspector accepts (an audit starts, pre-filled) or dismisses (with a reason)."""

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, ValidationError
from sqlalchemy.engine import Engine
from temporalio.service import RPCError

from api import screening_decisions as decisions
from api.auth import Principal
from api.deps import Config, Db, Gateway, Tables, Terms, allow
from api.errors import RETRY_AFTER_SECONDS, ApiError, FieldProblem
from api.schemas import EdgeInput, StartAuditRequest
from db import screening_store as store
from db import trail
from db.screening_imports import ImportResult, import_declarations, import_postal_items
from db.screening_models import CandidateRow
from domain.case import CaseSnapshot, Language, ShortText, Text
from domain.notices import DeliveryMethod
from domain.screening.records import BadFile
from domain.screening.run import WORKFLOW, Progress, RunOrder

FEEDS = ("/declarations/import", "/postal-items/import")  # bodies up to IMPORT_MAX_BYTES
router = APIRouter()
STAFF = ("inspector", "supervisor")
FILE_BODY = {
    "requestBody": {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        }
    }
}
CandidateId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class RunView(Progress):
    id: int
    trigger: str
    requested_by: str
    workflow_id: str | None
    started_at: datetime
    finished_at: datetime | None
    error: str | None


class CandidateView(BaseModel):
    id: int
    rule: str
    status: str
    score: Decimal
    customs_office: str | None
    hs_code: str | None
    declaration_number: str | None
    line_no: int | None
    declarant_bin: str | None
    parcel_id: str | None
    recipient_iin: str | None
    evidence: dict[str, Any]
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    reason: str | None
    audit_id: str | None


class CandidatePage(BaseModel):
    items: list[CandidateView]
    next_cursor: str | None


class AcceptRequest(EdgeInput):
    """Who the audit is addressed to (the declarant's BIN comes from the declaration) and,
    optionally, its inspector and findings (written from the evidence when left out)."""

    party_name: ShortText
    party_email: str | None = None
    party_phone: str | None = None
    party_address: ShortText | None = None
    party_language: Language = "ru"
    inspector_id: ShortText | None = None
    findings: Text | None = None
    delivery_method: DeliveryMethod = DeliveryMethod.CABINET


class DismissRequest(EdgeInput):
    reason: Text


class TrailEntry(BaseModel):
    seq: int
    at: datetime
    actor: str
    role: str
    action: str
    details: dict[str, Any]
    hash: str


class Accepted(BaseModel):
    candidates: list[CandidateView]
    audit: CaseSnapshot | None


async def _file(request: Request, limit: int) -> bytes:
    data = await request.body()
    if len(data) > limit:
        raise ApiError(413, "too_large", f"a file of at most {limit} bytes; split it")
    if not data.strip():
        raise ApiError(
            422, "invalid", "the file is empty; send CSV with a header row or JSON lines"
        )
    return data


async def _import(request: Request, limit: int, db: Engine, how: Any) -> ImportResult:
    data = await _file(request, limit)
    try:
        result: ImportResult = await run_in_threadpool(how, db, data)
        return result
    except BadFile as error:
        raise ApiError(422, "invalid", str(error), "file") from error


@router.post("/declarations/import", response_model=ImportResult, openapi_extra=FILE_BODY)
async def import_declaration_lines(
    who: Annotated[Principal, allow(*STAFF)], request: Request, db: Db, settings: Config
) -> ImportResult:
    """Declaration lines as CSV (header row) or JSON lines: counts of rows stored, rows
    already stored (the same declaration and line number) and refused rows with their line
    number and reason. Good rows are stored even when others are refused."""
    return await _import(request, settings.import_max_bytes, db, import_declarations)


@router.post("/postal-items/import", response_model=ImportResult, openapi_extra=FILE_BODY)
async def import_postal(
    who: Annotated[Principal, allow(*STAFF)], request: Request, db: Db, settings: Config
) -> ImportResult:
    """Postal items (one row per item of a parcel), as CSV or JSON lines; answered like
    the declaration import."""
    return await _import(request, settings.import_max_bytes, db, import_postal_items)


@router.post("/screening/runs", status_code=202, response_model=RunView)
async def start_run(
    who: Annotated[Principal, allow(*STAFF)],
    request: Request,
    response: Response,
    db: Db,
    settings: Config,
) -> RunView:
    """Screen now what is not yet screened; follow it at the answer's Location."""
    run = await run_in_threadpool(store.create_run, db, who.sub)
    assert run.id is not None
    workflow_id = f"screening-run-{run.id}"
    try:
        await request.app.state.client.start_workflow(
            WORKFLOW,
            RunOrder(run_id=run.id, trigger="manual"),
            id=workflow_id,
            task_queue=settings.temporal_task_queue,
        )
    except RPCError as error:
        await run_in_threadpool(
            store.set_run, db, run.id, status="failed", error=f"not started: {error.message}"
        )
        raise ApiError(
            503,
            "temporal_unavailable",
            "the run could not be started; retry shortly",
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        ) from error
    await run_in_threadpool(store.set_run, db, run.id, workflow_id=workflow_id)
    response.headers["Location"] = f"/screening/runs/{run.id}"
    return await _run_view(db, run.id)


@router.get("/screening/runs/{run_id}", response_model=RunView)
async def get_run(
    who: Annotated[Principal, allow(*STAFF, "operator")],
    run_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    db: Db,
) -> RunView:
    """Progress (batches done of total) and counts so far, batch by batch."""
    return await _run_view(db, run_id)


async def _run_view(db: Engine, run_id: int) -> RunView:
    row = await run_in_threadpool(store.get_run, db, run_id)
    if row is None:
        raise ApiError(404, "not_found", f"no screening run {run_id}")
    return RunView.model_validate(row, from_attributes=True).model_copy(update={"run_id": row.id})


@router.get("/screening/candidates", response_model=CandidatePage)
async def list_candidates(
    who: Annotated[Principal, allow(*STAFF)],
    db: Db,
    rule: Literal["price", "postal"] | None = None,
    status: Literal["open", "accepting", "accepted", "dismissed"] | None = "open",
    customs_office: Annotated[str | None, Query(pattern=r"^\d{5}$")] = None,
    hs_code: Annotated[str | None, Query(pattern=r"^\d{2,10}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[str | None, Query(max_length=60)] = None,
) -> CandidatePage:
    """Candidates, highest score first. Price candidates are those of the caller's office;
    postal ones have no office and are seen by all inspectors. `hs_code` matches a prefix."""
    if customs_office not in (None, who.office):
        raise ApiError(403, "forbidden", f"you see customs office {who.office} only")
    after = _cursor(cursor)
    rows = await run_in_threadpool(
        lambda: store.list_candidates(
            db,
            office=who.office,
            rule=rule,
            status=status,
            customs_office=customs_office,
            hs_code=hs_code,
            after=after,
            limit=limit,
        )
    )
    last = rows[-1] if len(rows) == limit else None
    return CandidatePage(
        items=[_view(row) for row in rows],
        next_cursor=f"{last.score}:{last.id}" if last else None,
    )


@router.get("/screening/candidates/{candidate_id}", response_model=CandidateView)
async def get_candidate(
    who: Annotated[Principal, allow(*STAFF)], candidate_id: CandidateId, db: Db
) -> CandidateView:
    return _view(await decisions.visible(db, who, candidate_id))


@router.get("/screening/candidates/{candidate_id}/trail", response_model=list[TrailEntry])
async def candidate_trail(
    who: Annotated[Principal, allow(*STAFF)], candidate_id: CandidateId, db: Db
) -> list[TrailEntry]:
    """The candidate's decisions, hash-chained like a case's trail."""
    await decisions.visible(db, who, candidate_id)
    rows = await run_in_threadpool(trail.read, db, store.candidate_trail_id(candidate_id))
    return [TrailEntry.model_validate(row, from_attributes=True) for row in rows]


@router.post(
    "/screening/candidates/{candidate_id}/accept", status_code=201, response_model=Accepted
)
async def accept(
    who: Annotated[Principal, allow(*STAFF)],
    candidate_id: CandidateId,
    body: AcceptRequest,
    response: Response,
    cases: Gateway,
    db: Db,
    rates: Tables,
    terms: Terms,
) -> Accepted:
    """Start an audit of the candidate's declaration: every line of it, the flagged ones
    (this candidate and any other open one of the declaration) at the proposed customs
    value. A postal candidate is accepted without an audit (a cameral audit needs a
    declaration): it is recorded as referred. Only one acceptance ever wins, and one that
    stopped midway (409 `being_accepted` meanwhile) is finished by accepting again."""
    candidate = await decisions.visible(db, who, candidate_id)
    if candidate.rule == "postal":
        await decisions.refer(db, who, candidate, body.findings)
        view = _view(await decisions.visible(db, who, candidate_id))
        return Accepted(candidates=[view], audit=None)
    claimed, audit = await decisions.accept_price(
        who, candidate, lambda group: audit_order(db, group, body, who), cases, db, rates, terms
    )
    response.headers["Location"] = f"/audits/{audit.id}"
    views = [
        _view(row).model_copy(update={"status": "accepted", "audit_id": audit.id})
        for row in claimed
    ]
    return Accepted(candidates=views, audit=audit)


@router.post("/screening/candidates/{candidate_id}/dismiss", response_model=CandidateView)
async def dismiss(
    who: Annotated[Principal, allow(*STAFF)],
    candidate_id: CandidateId,
    body: DismissRequest,
    db: Db,
) -> CandidateView:
    """Close the candidate without an audit; the reason goes into its trail."""
    candidate = await decisions.visible(db, who, candidate_id)
    await decisions.dismiss(db, who, candidate, body.reason)
    return _view(await decisions.visible(db, who, candidate_id))


def audit_order(
    db: Engine, group: list[CandidateRow], body: AcceptRequest, who: Principal
) -> StartAuditRequest:
    """The start request an inspector would have typed: the declaration's lines, the
    flagged ones adjusted to the proposed customs value."""
    first = group[0]
    assert first.declaration_number is not None
    lines = store.declaration_lines(db, first.declaration_number)
    try:
        return StartAuditRequest.model_validate(
            {
                "customs_office": first.customs_office,
                "inspector_id": body.inspector_id or who.sub,
                "party": {
                    "bin": first.declarant_bin,
                    "name": body.party_name,
                    "email": body.party_email,
                    "phone": body.party_phone,
                    "address": body.party_address,
                    "language": body.party_language,
                },
                "declarations": [first.declaration_number],
                "findings": body.findings or decisions.findings(group),
                "delivery_method": body.delivery_method,
                "lines": decisions.proposed_lines(lines, group),
            }
        )
    except ValidationError as error:
        problems = [
            FieldProblem(field=_accepted_as(problem["loc"]), message=problem["msg"])
            for problem in error.errors()
        ]
        field, message = problems[0].field, problems[0].message
        raise ApiError(422, "invalid", f"{field}: {message}", field, problems=problems) from error


def _accepted_as(location: tuple[int | str, ...]) -> str:
    """The acceptance's own name for a field of the audit it starts (`party.email` of the
    audit is `party_email` of the acceptance), else the audit's dotted one."""
    flat = "_".join(str(part) for part in location)
    return flat if flat in AcceptRequest.model_fields else ".".join(map(str, location))


def _cursor(value: str | None) -> tuple[Decimal, int] | None:
    if value is None:
        return None
    score, _, last_id = value.partition(":")
    try:
        return Decimal(score), int(last_id)
    except (InvalidOperation, ValueError) as error:
        raise ApiError(422, "invalid", "cursor is not one this API gave", "cursor") from error


def _view(row: CandidateRow) -> CandidateView:
    return CandidateView.model_validate(row, from_attributes=True)
