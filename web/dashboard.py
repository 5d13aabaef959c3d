"""The inspector's dashboard: the office's board with its charts, and a case's page."""

from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from api.auth import Principal, Role
from api.errors import ApiError
from api.readmodel import list_audits
from db.calendar import load_calendar
from domain.identifiers import bin_problem
from domain.lifecycle import AuditStatus
from web import board
from web.casefile import case_deadline, open_case, row_for, running_deadline, today
from web.dashboard_actions import (
    ACTIONS,
    CHARGE_NAMES,
    OFFICE_STAFF,
    arguments,
    available_actions,
)
from web.decision import decision_facts
from web.forms import Errors, errors_of, posted
from web.i18n import N_
from web.pages import SignedIn, require, show
from web.session import WebSession

router = APIRouter(prefix="/dashboard")
STAFF: tuple[Role, ...] = ("inspector", "supervisor", "operator")
PAGE_SIZE = 50


def _office(who: Principal) -> str | None:
    return who.office if who.role in OFFICE_STAFF else None  # the operator sees every office


@router.get("")
async def board_page(request: Request, session: SignedIn) -> Response:
    who = require(session, STAFF)
    db: Engine = request.app.state.engine
    filters, errors = _filters(request)
    on = today()
    listing = await run_in_threadpool(
        lambda: list_audits(
            db,
            customs_office=_office(who),
            status=filters["status"],
            inspector_id=filters["inspector"],
            party_bin=filters["party_bin"],
            deadline_from=filters["deadline_from"],
            deadline_to=filters["deadline_to"],
            open_only=filters["status"] is None,
            limit=PAGE_SIZE,
            cursor=filters["cursor"],
        )
    )
    calendar = await run_in_threadpool(load_calendar, db)
    rows = [
        {
            "item": item,
            "deadline": running_deadline(
                calendar, item.status, item.next_deadline, item.overdue, on
            ),
        }
        for item in listing.items
    ]
    overdue_reviews = None
    if who.role == "supervisor":
        overdue_reviews = await run_in_threadpool(
            lambda: (
                list_audits(
                    db,
                    customs_office=who.office,
                    status=AuditStatus.UNDER_REVIEW,
                    overdue=True,
                    limit=PAGE_SIZE,
                ).items
            )
        )
    after_decision = await run_in_threadpool(
        board.waiting_after_decision, db, _office(who), PAGE_SIZE
    )
    by_status = await run_in_threadpool(board.open_by_status, db, _office(who))
    per_week = await run_in_threadpool(board.deadlines_per_week, db, _office(who), on)
    query = {k: v for k, v in request.query_params.items() if k != "cursor" and v}
    return show(
        request,
        "dashboard/board.html",
        {
            "rows": rows,
            "next_cursor": listing.next_cursor,
            "query": query,
            "filters": {k: ("" if v is None else str(v)) for k, v in filters.items()},
            "errors": errors,
            "statuses": list(AuditStatus),
            "overdue_reviews": overdue_reviews,
            "after_decision": after_decision,
            "by_status": by_status,
            "per_week": per_week,
        },
        session,
        status_code=422 if errors else 200,
    )


def _filters(request: Request) -> tuple[dict[str, Any], dict[str, str]]:
    """The board's filters from the query string; a bad one is named and left out."""
    params = request.query_params
    errors: dict[str, str] = {}
    status = params.get("status") or None
    if status is not None and status not in {str(s) for s in AuditStatus}:
        errors["status"] = N_("there is no such status")
        status = None
    party_bin = (params.get("party_bin") or "").strip() or None
    problem = bin_problem(party_bin) if party_bin is not None else None
    if problem:
        errors["party_bin"] = problem
        party_bin = None
    dates: dict[str, date | None] = {}
    for name in ("deadline_from", "deadline_to"):
        raw = params.get(name) or ""
        try:
            dates[name] = date.fromisoformat(raw) if raw else None
        except ValueError:
            errors[name] = N_("give a date as YYYY-MM-DD")
            dates[name] = None
    cursor = params.get("cursor") or None
    if cursor is not None and len(cursor) > 200:
        cursor = None
    return {
        "status": AuditStatus(status) if status else None,
        "inspector": (params.get("inspector") or "").strip() or None,
        "party_bin": party_bin,
        **dates,
        "cursor": cursor,
    }, errors


@router.get("/audits/{audit_id}")
async def case_page(request: Request, session: SignedIn, audit_id: str) -> Response:
    who = require(session, STAFF)
    return await render_case(request, session, who, audit_id)


async def render_case(
    request: Request,
    session: WebSession,
    who: Principal,
    audit_id: str,
    *,
    form: str | None = None,
    errors: Errors | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    file = await open_case(request, who, audit_id, staff=True)
    case = file.case
    deadline = await case_deadline(request, case)
    settings = request.app.state.settings
    workflow_url = (
        f"{settings.workflow_ui}/namespaces/{settings.temporal_namespace}/workflows/{case.id}"
    )
    return show(
        request,
        "dashboard/case.html",
        {
            "file": file,
            "case": case,
            "deadline": deadline,
            "actions": available_actions(file.row, who),
            "decision": decision_facts(case),
            "charge_names": CHARGE_NAMES,
            "explanation": file.explanation,
            "workflow_url": workflow_url,
            "form": form,
            "errors": errors or {},
            "values": values or {},
            "today": today().isoformat(),
            "done": request.query_params.get("done", ""),
            "zero": Decimal(0),
        },
        session,
        status_code=status_code,
    )


@router.post("/audits/{audit_id}/actions/{action}")
async def act(request: Request, session: SignedIn, audit_id: str, action: str) -> Response:
    who = require(session, OFFICE_STAFF)
    if action not in ACTIONS:
        raise ApiError(404, "not_found", N_("there is no such action"))
    chosen = ACTIONS[action]
    require(session, chosen.roles)
    form = await posted(request, session)
    row = row_for(request.app.state.engine, who, audit_id)
    try:
        body = chosen.model.model_validate(chosen.read(form, chosen.fields))
        await chosen.handler(**arguments(chosen.handler, request, who, row, body))
    except (ValidationError, ApiError) as error:
        status = error.status if isinstance(error, ApiError) else 422
        values: dict[str, Any] = {
            k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"
        }
        values["accepted"] = [str(a) for a in form.getlist("accepted")]
        return await render_case(
            request,
            session,
            who,
            audit_id,
            form=action,
            errors=errors_of(error, chosen.error_fields),
            values=values,
            status_code=status,
        )
    return RedirectResponse(f"/dashboard/audits/{row.id}?done={action}", 303)
