"""The screening candidates on the dashboard: the list with its filters and charts, and
the decisions, through the same code as the API (`api.screening_decisions`): accepting a
price candidate opens the start form pre-filled from it, so the inspector can edit the
audit before starting it; a postal one is referred; either can be dismissed with a reason.
Access as in the API: inspectors and supervisors, price candidates of their own office."""

import re
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from api import screening_decisions as decisions
from api.errors import ApiError
from api.schemas import StartAuditRequest
from api.screening_routes import DismissRequest
from db import screening_store as store
from db.screening_models import CandidateRow
from domain.screening.price import PriceEvidence
from web.forms import Errors, errors_of, posted, text
from web.i18n import N_
from web.pages import SignedIn, require, show
from web.price_chart import price_chart
from web.session import WebSession
from web.start_form import STARTERS, prefilled, start_form, submit

router = APIRouter(prefix="/dashboard/screening")
PAGE_SIZE = 20
RULES = ("price", "postal")
STATUSES = ("open", "accepting", "accepted", "dismissed")
_HS_CODE = re.compile(r"\d{2,10}")
_CURSOR = re.compile(r"\d{1,8}(\.\d{1,4})?:\d{1,10}")


@router.get("")
async def candidates_page(request: Request, session: SignedIn) -> Response:
    require(session, STARTERS)
    filters, errors = _filters(request)
    return await _listing(request, session, filters, errors)


async def _listing(
    request: Request,
    session: WebSession,
    filters: dict[str, str],
    errors: dict[str, str],
    *,
    form_errors: dict[int, Errors] | None = None,
    status_code: int = 200,
) -> Response:
    who = session.who
    db: Engine = request.app.state.engine
    cursor = filters["cursor"]
    after = (Decimal(cursor.split(":")[0]), int(cursor.split(":")[1])) if cursor else None
    rows = await run_in_threadpool(
        lambda: store.list_candidates(
            db,
            office=who.office,
            rule=filters["rule"] or None,
            status=filters["status"] or None,
            customs_office=None,
            hs_code=filters["hs_code"] or None,
            after=after,
            limit=PAGE_SIZE,
        )
    )
    last = rows[-1] if len(rows) == PAGE_SIZE else None
    query = {k: v for k, v in filters.items() if k != "cursor" and v}
    return show(
        request,
        "dashboard/screening.html",
        {
            "items": [_item(row) for row in rows],
            "next_cursor": f"{last.score}:{last.id}" if last else None,
            "query": query,
            "filters": filters,
            "errors": errors,
            "form_errors": form_errors or {},
            "rules": RULES,
            "statuses": STATUSES,
            "done": request.query_params.get("done", ""),
        },
        session,
        status_code=422 if errors else status_code,
    )


def _item(row: CandidateRow) -> dict[str, Any]:
    if row.rule != "price":
        return {"row": row, "evidence": row.evidence, "chart": None}
    evidence = PriceEvidence.model_validate(row.evidence)
    return {"row": row, "evidence": evidence, "chart": price_chart(evidence)}


def _filters(request: Request) -> tuple[dict[str, str], dict[str, str]]:
    """The filters from the query string; a bad one is named and left out."""
    params = request.query_params
    errors: dict[str, str] = {}
    found = {
        "rule": params.get("rule") or "",
        "status": params.get("status", "open"),
        "hs_code": (params.get("hs_code") or "").strip(),
        "cursor": params.get("cursor") or "",
    }
    if found["rule"] not in ("", *RULES):
        errors["rule"] = N_("choose a rule from the list")
    if found["status"] not in ("", *STATUSES):
        errors["status"] = N_("choose a status from the list")
    if found["hs_code"] and not _HS_CODE.fullmatch(found["hs_code"]):
        errors["hs_code"] = N_("give 2 to 10 digits of an HS code")
    if found["cursor"] and not _CURSOR.fullmatch(found["cursor"]):
        errors["cursor"] = N_("this page link is not one the list gave; start from the first page")
    return {k: ("" if k in errors else v) for k, v in found.items()}, errors


@router.post("/{candidate_id}/dismiss")
async def dismiss(request: Request, session: SignedIn, candidate_id: int) -> Response:
    who = require(session, STARTERS)
    form = await posted(request, session)
    candidate = await decisions.visible(request.app.state.engine, who, candidate_id)
    try:
        body = DismissRequest.model_validate({"reason": text(form, "reason")})
        await decisions.dismiss(request.app.state.engine, who, candidate, body.reason)
    except (ValidationError, ApiError) as error:
        return await _refused(request, session, candidate_id, error)
    return RedirectResponse("/dashboard/screening?done=dismissed", 303)


@router.post("/{candidate_id}/refer")
async def refer(request: Request, session: SignedIn, candidate_id: int) -> Response:
    """Accept a postal candidate (no audit follows one): referred for a check."""
    who = require(session, STARTERS)
    await posted(request, session)
    candidate = await decisions.visible(request.app.state.engine, who, candidate_id)
    if candidate.rule != "postal":
        raise ApiError(404, "not_found", N_("there is no such candidate"))
    try:
        await decisions.refer(request.app.state.engine, who, candidate, None)
    except ApiError as error:
        return await _refused(request, session, candidate_id, error)
    return RedirectResponse("/dashboard/screening?done=referred", 303)


async def _refused(
    request: Request, session: WebSession, candidate_id: int, error: ValidationError | ApiError
) -> Response:
    """The list again, the refusal next to the candidate's form, with the refusal's status."""
    filters, _ = _filters(request)
    status = error.status if isinstance(error, ApiError) else 422
    messages = errors_of(error, {("reason",): "reason"})
    return await _listing(
        request,
        session,
        filters,
        {},
        form_errors={candidate_id: messages},
        status_code=status,
    )


@router.get("/{candidate_id}/accept")
async def accept_form(request: Request, session: SignedIn, candidate_id: int) -> Response:
    """The start form, pre-filled from the candidate and the declaration's other open ones."""
    require(session, STARTERS)
    db: Engine = request.app.state.engine
    candidate = await _price_candidate(db, session, candidate_id)
    if candidate.status not in ("open", "accepting"):
        raise await decisions.taken(db, candidate_id)
    group = await run_in_threadpool(store.open_group, db, candidate)
    assert candidate.declaration_number is not None and candidate.declarant_bin is not None
    lines = await run_in_threadpool(store.declaration_lines, db, candidate.declaration_number)
    values = prefilled(
        candidate.declarant_bin,
        candidate.declaration_number,
        decisions.findings(group),
        decisions.proposed_lines(lines, group),
    )
    return start_form(request, session, values, {}, **_origin(candidate_id))


@router.post("/{candidate_id}/accept")
async def accept(request: Request, session: SignedIn, candidate_id: int) -> Response:
    """Start the audit as the inspector edited it, bound to the candidates it settles."""
    who = require(session, STARTERS)
    db: Engine = request.app.state.engine
    candidate = await _price_candidate(db, session, candidate_id)

    async def from_candidate(body: StartAuditRequest, form: FormData) -> str:
        _, audit = await decisions.accept_price(
            who,
            candidate,
            lambda group: body,
            request.app.state.gateway,
            db,
            request.app.state.tables,
            request.app.state.settings.penalty_terms,
        )
        return audit.id

    return await submit(request, session, who, from_candidate, **_origin(candidate_id))


async def _price_candidate(db: Engine, session: WebSession, candidate_id: int) -> CandidateRow:
    candidate = await decisions.visible(db, session.who, candidate_id)
    if candidate.rule != "price":
        raise ApiError(404, "not_found", N_("there is no such candidate"))
    return candidate


def _origin(candidate_id: int) -> dict[str, Any]:
    return {"action": f"/dashboard/screening/{candidate_id}/accept", "origin": candidate_id}
