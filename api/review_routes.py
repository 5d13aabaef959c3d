"""Requests for further documents during review, and the case's tamper-evident trail."""

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import READERS, AuditIdParam, Case, Config, Db, Gateway, allow
from api.evidence_routes import require_uploaded
from api.schemas import DocumentRequestIn, DocumentsProvidedIn
from db import trail
from domain.case import CaseSnapshot
from workflows.cameral_audit import CameralAudit

router = APIRouter()


@router.post("/audits/{audit_id}/document-requests", response_model=CaseSnapshot)
async def request_documents(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    case: Case,
    audit_id: AuditIdParam,
    body: DocumentRequestIn,
    cases: Gateway,
    config: Config,
    db: Db,
) -> CaseSnapshot:
    """An inspector asks for more documents while reviewing; the party is notified."""
    body = body.model_copy(
        update={
            "working_days": body.working_days or config.document_request_working_days,
            "requested_by": who.sub,
        }
    )
    await cases.update(audit_id, CameralAudit.request_documents, body)
    return await cases.snapshot(audit_id, db)


@router.post(
    "/audits/{audit_id}/document-requests/{request_id}/response", response_model=CaseSnapshot
)
async def provide_documents(
    who: Annotated[Principal, allow("party")],
    case: Case,
    audit_id: AuditIdParam,
    request_id: str,
    body: DocumentsProvidedIn,
    cases: Gateway,
    db: Db,
) -> CaseSnapshot:
    await run_in_threadpool(require_uploaded, db, audit_id, body.documents)
    provided = body.model_copy(update={"request_id": request_id})
    await cases.update(audit_id, CameralAudit.provide_documents, provided)
    return await cases.snapshot(audit_id, db)


@router.get("/audits/{audit_id}/trail", response_model=list[dict[str, Any]])
async def get_trail(
    who: Annotated[Principal, allow(*READERS)], case: Case, audit_id: AuditIdParam, db: Db
) -> list[dict[str, Any]]:
    rows = await run_in_threadpool(trail.read, db, audit_id)
    return [row.model_dump(exclude={"id", "source"}) for row in rows]


@router.get("/audits/{audit_id}/trail/verify", response_model=trail.Verdict)
async def verify_trail(
    who: Annotated[Principal, allow(*READERS)], case: Case, audit_id: AuditIdParam, db: Db
) -> trail.Verdict:
    """Recompute the hash chain; names the first row that was changed, removed or moved."""
    return await run_in_threadpool(trail.verify, db, audit_id)
