"""The party's cabinet: its cases, the documents served on it, and its answer to each."""

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.datastructures import FormData, UploadFile

from api.auth import Principal
from api.consequence_routes import file_appeal
from api.errors import ApiError
from api.evidence_routes import EVIDENCE_KINDS, receive
from api.readmodel import list_audits
from api.review_routes import provide_documents
from api.routes import submit_explanation
from api.schemas import AppealRequest, DocumentsProvidedIn, ExplanationRequest
from config import Settings
from db.calendar import load_calendar
from db.models import AuditRow, PartyRow
from domain.case_state import CaseState
from domain.case_view import snapshot
from domain.lifecycle import AuditStatus
from domain.rates import RateTables
from domain.settlement import settle
from web.casefile import CaseFile, case_deadline, open_case, running_deadline, today
from web.decision import decision_facts, may_appeal
from web.forms import Errors, errors_of, optional, posted, text
from web.pages import SignedIn, require, show
from web.session import WebSession

router = APIRouter(prefix="/cabinet")
PAGE_SIZE = 50
# Statuses in which the party still owes what the notification says (an unfulfilled one
# is collected by other means, but the debt stands).
OWING = (AuditStatus.AWAITING_RESPONSE, AuditStatus.UNDER_REVIEW, AuditStatus.UNFULFILLED)

EXPLANATION_FIELDS: dict[tuple[str | int, ...], str] = {
    (name,): name
    for name in (
        "text",
        "signed_on",
        "party_name",
        "party_address",
        "party_bin",
        "customs_authority",
        "notification_number",
        "notification_date",
        "grounds",
        "documents",
        "no_documents_reason",
    )
}
UPLOAD_FIELDS: dict[tuple[str | int, ...], str] = {
    (name,): name for name in ("file", "title", "kind", "signature")
}
REQUEST_FIELDS: dict[tuple[str | int, ...], str] = {("documents",): "documents", ("note",): "note"}
APPEAL_FIELDS: dict[tuple[str | int, ...], str] = {
    (name,): name for name in ("authority", "grounds", "documents")
}


@router.get("")
async def my_cases(request: Request, session: SignedIn, cursor: str | None = None) -> Response:
    who = require(session, ["party"])
    db: Engine = request.app.state.engine
    listing = await run_in_threadpool(
        lambda: list_audits(db, party_bin=who.bin, limit=PAGE_SIZE, cursor=cursor or None)
    )
    calendar = await run_in_threadpool(load_calendar, db)
    on = today()
    ids = [item.id for item in listing.items]
    owed = await run_in_threadpool(
        _owed_today, db, ids, request.app.state.tables, request.app.state.settings, on
    )
    rows = [
        {
            "item": item,
            "deadline": running_deadline(
                calendar, item.status, item.next_deadline, item.overdue, on
            ),
            "owed": owed.get(item.id),
        }
        for item in listing.items
    ]
    return show(
        request,
        "cabinet/list.html",
        {"rows": rows, "next_cursor": listing.next_cursor},
        session,
        await run_in_threadpool(_party_language, db, who),
    )


def _owed_today(
    db: Engine, ids: list[str], rates: RateTables, settings: Settings, on: date
) -> dict[str, Decimal]:
    """What each case asks for if paid today, from the stored case (penalty keeps running),
    under the penalty terms it was started with."""
    result = {}
    with Session(db) as session:
        for row in session.exec(select(AuditRow).where(col(AuditRow.id).in_(ids))):
            case = snapshot(CaseState.model_validate(row.snapshot), [])
            if case.charges is None or case.status not in OWING:
                continue
            result[row.id] = settle(
                case.charges,
                case.payments,
                on,
                case.issued_on,
                case.response_deadline,
                rates.base_rate,
                case.penalty_terms or settings.penalty_terms,
            ).outstanding
    return result


def _party_language(db: Engine, who: Principal) -> str | None:
    with Session(db) as session:
        party = session.get(PartyRow, who.bin or "")
    return party.language if party else None


@router.get("/audits/{audit_id}")
async def case_page(request: Request, session: SignedIn, audit_id: str) -> Response:
    who = require(session, ["party"])
    file = await open_case(request, who, audit_id, staff=False)
    return await _case_page(request, session, file)


async def _case_page(
    request: Request,
    session: WebSession,
    file: CaseFile,
    *,
    form: str | None = None,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    case = file.case
    deadline = await case_deadline(request, case)
    settings = request.app.state.settings
    defaults = {
        "signed_on": today().isoformat(),
        "party_name": case.party.name,
        "party_address": case.party.address or "",
        "party_bin": case.party_bin,
        "customs_authority": case.customs_office,
        "notification_number": case.notification_number,
        "notification_date": case.issued_on.isoformat(),
    }
    open_requests = [
        r
        for r in case.document_requests
        if r.answered_at is None and case.status == AuditStatus.UNDER_REVIEW
    ]
    after = case.after_decision
    appeal_open = after is not None and may_appeal(file.row)
    owed = case.owed_today.outstanding if case.owed_today else case.amount_outstanding
    in_debt = (
        case.status == AuditStatus.UNFULFILLED
        and owed > 0
        and not (after is not None and after.debt_settled_on)
    )
    return show(
        request,
        "cabinet/case.html",
        {
            "file": file,
            "case": case,
            "deadline": deadline,
            "open_requests": open_requests,
            "decision": decision_facts(case),
            "appeal_open": appeal_open,
            "in_debt": in_debt,
            "kinds": EVIDENCE_KINDS,
            "form": form,
            "errors": errors or {},
            "values": {**defaults, **(values or {})},
            "payment": {
                "beneficiary": settings.payment_beneficiary,
                "account": settings.payment_account,
                "bic": settings.payment_bank_bic,
            },
            "done": request.query_params.get("done", ""),
            "owing": [str(s) for s in OWING],
        },
        session,
        case.language,
        status_code=status_code,
    )


async def _refused(
    request: Request,
    session: WebSession,
    audit_id: str,
    form_name: str,
    error: ValidationError | ApiError,
    fields: dict[tuple[str | int, ...], str],
    form: FormData,
) -> Response:
    file = await open_case(request, session.who, audit_id, staff=False)
    values: dict[str, Any] = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    values["documents"] = form.getlist("documents")
    status = error.status if isinstance(error, ApiError) else 422
    return await _case_page(
        request,
        session,
        file,
        form=form_name,
        errors=errors_of(error, fields),
        values=values,
        status_code=status,
    )


@router.post("/audits/{audit_id}/uploads")
async def upload(request: Request, session: SignedIn, audit_id: str) -> Response:
    """One file, its title and kind, and optionally its detached signature (whatever that
    file is called: it belongs to the file of the same form)."""
    who = require(session, ["party"])
    form = await posted(request, session)
    file = await open_case(request, who, audit_id, staff=False)
    chosen = form.get("file")
    files = [chosen] if isinstance(chosen, UploadFile) and chosen.filename else []
    signature = form.get("signature")
    signatures = []
    if isinstance(signature, UploadFile) and signature.filename and files:
        signature.filename = f"{files[0].filename}.p7s"
        signatures.append(signature)
    try:
        await receive(
            request, who, file.row, files, [text(form, "title")], [text(form, "kind")], signatures
        )
    except ApiError as error:
        return await _refused(request, session, audit_id, "upload", error, UPLOAD_FIELDS, form)
    return RedirectResponse(f"/cabinet/audits/{file.row.id}?done=upload#received", 303)


@router.post("/audits/{audit_id}/explanation")
async def explain(request: Request, session: SignedIn, audit_id: str) -> Response:
    who = require(session, ["party"])
    form = await posted(request, session)
    file = await open_case(request, who, audit_id, staff=False)
    fields = {name: text(form, name) for name in EXPLANATION_FIELDS.values()}
    try:
        body = ExplanationRequest.model_validate(
            {
                **{k: v for k, v in fields.items() if v and k != "documents"},
                "documents": [str(d) for d in form.getlist("documents")],
                "no_documents_reason": optional(form, "no_documents_reason"),
            }
        )
        await submit_explanation(
            who=who,
            row=file.row,
            audit_id=file.row.id,
            body=body,
            cases=request.app.state.gateway,
            db=request.app.state.engine,
        )
    except (ValidationError, ApiError) as error:
        return await _refused(
            request, session, audit_id, "explanation", error, EXPLANATION_FIELDS, form
        )
    return RedirectResponse(f"/cabinet/audits/{file.row.id}?done=explanation", 303)


@router.post("/audits/{audit_id}/requests/{request_id}")
async def answer_request(
    request: Request, session: SignedIn, audit_id: str, request_id: str
) -> Response:
    who = require(session, ["party"])
    form = await posted(request, session)
    file = await open_case(request, who, audit_id, staff=False)
    try:
        body = DocumentsProvidedIn.model_validate(
            {
                "documents": [str(d) for d in form.getlist("documents")],
                "note": optional(form, "note"),
            }
        )
        await provide_documents(
            who=who,
            case=file.row,
            audit_id=file.row.id,
            request_id=request_id,
            body=body,
            cases=request.app.state.gateway,
            db=request.app.state.engine,
        )
    except (ValidationError, ApiError) as error:
        return await _refused(
            request, session, audit_id, f"request-{request_id}", error, REQUEST_FIELDS, form
        )
    return RedirectResponse(f"/cabinet/audits/{file.row.id}?done=documents", 303)


@router.post("/audits/{audit_id}/appeal")
async def appeal(request: Request, session: SignedIn, audit_id: str) -> Response:
    """The party appeals the decision: to the higher body, or a note of its court claim."""
    who = require(session, ["party"])
    form = await posted(request, session)
    file = await open_case(request, who, audit_id, staff=False)
    try:
        body = AppealRequest.model_validate(
            {
                **{k: v for k in ("authority", "grounds") if (v := text(form, k))},
                "documents": [str(d) for d in form.getlist("documents")],
            }
        )
        await file_appeal(
            who=who,
            row=file.row,
            audit_id=file.row.id,
            body=body,
            cases=request.app.state.gateway,
            db=request.app.state.engine,
        )
    except (ValidationError, ApiError) as error:
        return await _refused(request, session, audit_id, "appeal", error, APPEAL_FIELDS, form)
    return RedirectResponse(f"/cabinet/audits/{file.row.id}?done=appeal#decision-h", 303)
