"""After an unfulfilled decision: the party's appeal, its outcome, and a supervisor's
revocation of a decision that a payment dated within the period shows was wrong."""

from typing import Annotated

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool

from api.auth import Principal
from api.deps import AuditIdParam, Case, Db, Gateway, allow
from api.evidence_routes import require_uploaded
from api.schemas import AppealOutcomeRequest, AppealRequest, RevocationRequest
from domain.case import CaseSummary
from workflows.cameral_audit import CameralAudit
from workflows.messages import RevocationOrder

router = APIRouter()


@router.post("/audits/{audit_id}/appeal", response_model=CaseSummary)
async def file_appeal(
    who: Annotated[Principal, allow("party")],
    row: Case,
    audit_id: AuditIdParam,
    body: AppealRequest,
    cases: Gateway,
    db: Db,
) -> CaseSummary:
    """The party appeals the decision (to the higher body, or notes its court claim) within
    five working days of its delivery; the case is APPEALED until the outcome is recorded."""
    await run_in_threadpool(require_uploaded, db, audit_id, body.documents)
    filed = body.model_copy(update={"filed_by": who.sub})
    return await cases.update(audit_id, CameralAudit.file_appeal, filed)


@router.post("/audits/{audit_id}/appeal/outcome", response_model=CaseSummary)
async def appeal_outcome(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: AppealOutcomeRequest,
    cases: Gateway,
) -> CaseSummary:
    """What the higher body or the court decided: upheld, annulled, or reduced to charges."""
    decided = body.model_copy(update={"decided_by": who.sub})
    return await cases.update(audit_id, CameralAudit.decide_appeal, decided)


@router.post("/audits/{audit_id}/revocation", response_model=CaseSummary)
async def revocation(
    who: Annotated[Principal, allow("inspector", "supervisor")],
    row: Case,
    audit_id: AuditIdParam,
    body: RevocationRequest,
    cases: Gateway,
) -> CaseSummary:
    """A supervisor revokes the decision of a flagged case (FULFILLED, a notice to the party,
    any suspension lifted) or keeps it, with reasons."""
    decided = body.model_copy(update={"decided_by": who.sub})
    return await cases.update(
        audit_id, CameralAudit.decide_revocation, RevocationOrder(decision=decided, role=who.role)
    )
