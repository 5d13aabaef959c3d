"""The inspector's dashboard: the office's board, charts, starting an audit, and a case."""

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.engine import Engine
from starlette.datastructures import FormData

from api.auth import Principal, Role
from api.errors import ApiError
from api.readmodel import list_audits
from api.routes import start_audit
from api.schemas import StartAuditRequest
from domain.assessment import AuditLine, NothingToCharge, assess
from domain.identifiers import bin_problem
from domain.lifecycle import AuditStatus
from web import board
from web.casefile import calendar_of, open_case, row_for, running_deadline, today
from web.dashboard_actions import ACTIONS, OFFICE_STAFF, arguments, available_actions
from web.forms import FORM_ERROR, errors_of, optional, posted, text
from web.i18n import N_
from web.pages import SignedIn, language, require, show
from web.render import environment, helpers
from web.session import WebSession

router = APIRouter(prefix="/dashboard")
STAFF: tuple[Role, ...] = ("inspector", "supervisor", "operator")
STARTERS: tuple[Role, ...] = ("inspector", "supervisor")
PAGE_SIZE = 50
LINE_ROWS = 3
LINE_FIELDS = (
    "declaration",
    "registered_on",
    "currency",
    "exchange_rate",
    "duty_rate_percent",
    "declared_price",
    "adjusted_price",
    "adjusted_transport",
    "customs_fee_kzt",
)
START_FIELDS: dict[tuple[str | int, ...], str] = {
    ("party", "bin"): "party_bin",
    ("party", "name"): "party_name",
    ("party", "email"): "party_email",
    ("party", "phone"): "party_phone",
    ("party", "address"): "party_address",
    ("party", "language"): "party_language",
    ("party",): "party_address",
    ("declarations",): "declarations",
    ("findings",): "findings",
    ("inspector_id",): "inspector_id",
    ("delivery_method",): "delivery_method",
    ("customs_office",): FORM_ERROR,
    ("lines",): "lines",
}


def _office(who: Principal) -> str | None:
    return who.office if who.role in STARTERS else None  # the operator sees every office


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
    calendar = await run_in_threadpool(calendar_of, db)
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
        errors["status"] = f"unknown status {status!r}"
        status = None
    party_bin = (params.get("party_bin") or "").strip() or None
    if party_bin is not None and bin_problem(party_bin):
        errors["party_bin"] = f"BIN/IIN {bin_problem(party_bin)}"
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


@router.get("/audits/new")
async def new_audit(request: Request, session: SignedIn) -> Response:
    who = require(session, STARTERS)
    return _start_form(request, session, who, {"idempotency_key": uuid.uuid4().hex}, {})


@router.post("/audits/new")
async def start(request: Request, session: SignedIn) -> Response:
    who = require(session, STARTERS)
    form = await posted(request, session)
    values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
    body, errors = _start_request(form, who)
    preview = None
    if body is not None and body.lines is not None and not errors:
        preview, problem = _preview(request, list(body.lines))
        if problem:
            errors["lines"] = problem
    if errors or body is None or text(form, "action") == "preview":
        status = 422 if errors else 200
        return _start_form(request, session, who, values, errors, preview, status)
    try:
        started = await start_audit(
            who=who,
            body=body,
            response=Response(),
            cases=request.app.state.gateway,
            db=request.app.state.engine,
            rates=request.app.state.tables,
            idempotency_key=text(form, "idempotency_key") or None,
        )
    except ApiError as error:
        return _start_form(
            request, session, who, values, errors_of(error, START_FIELDS), preview, error.status
        )
    return RedirectResponse(f"/dashboard/audits/{started.id}?done=started", 303)


@router.post("/audits/new/preview")
async def preview_fragment(request: Request, session: SignedIn) -> Response:
    """The charges as the inspector types (the page's script posts the form here)."""
    require(session, STARTERS)
    form = await posted(request, session)
    lines, errors = _lines(form)
    preview, problem = (None, "") if errors or not lines else _preview(request, lines)
    html = environment.get_template("dashboard/_charges.html").render(
        **helpers(language(request)),
        preview=preview,
        problem=problem,
        line_errors=errors,
    )
    return HTMLResponse(html, status_code=200)


def _preview(request: Request, lines: list[AuditLine]) -> tuple[Any, str]:
    try:
        return assess(lines, today(), request.app.state.tables), ""
    except (NothingToCharge, LookupError) as error:
        return None, str(error)


def _lines(form: FormData) -> tuple[list[AuditLine], dict[str, str]]:
    lines: list[AuditLine] = []
    errors: dict[str, str] = {}
    for n in range(LINE_ROWS):
        raw = {name: text(form, f"lines-{n}-{name}") for name in LINE_FIELDS}
        if not any(raw[name] for name in ("declaration", "declared_price", "adjusted_price")):
            continue
        common = {
            "declaration": raw["declaration"],
            "registered_on": raw["registered_on"],
            "currency": raw["currency"] or "KZT",
            "exchange_rate": raw["exchange_rate"] or "1",
            "duty_rate_percent": raw["duty_rate_percent"] or "0",
            "customs_fee_kzt": raw["customs_fee_kzt"] or None,
        }
        try:
            lines.append(
                AuditLine.model_validate(
                    {
                        "declared": {**common, "price_paid": raw["declared_price"]},
                        "adjusted": {
                            **common,
                            "price_paid": raw["adjusted_price"],
                            "transport_to_border": raw["adjusted_transport"] or "0",
                        },
                    }
                )
            )
        except ValidationError as error:
            for problem in error.errors():
                location = [str(part) for part in problem["loc"]]
                name = location[-1] if location else "declaration"
                side = location[0] if location else ""
                field = {
                    "price_paid": f"{side}_price" if side in ("declared", "adjusted") else "",
                    "transport_to_border": "adjusted_transport",
                }.get(name, name)
                if field not in LINE_FIELDS:
                    field = "declaration"
                errors.setdefault(
                    f"lines-{n}-{field}", problem["msg"].removeprefix("Value error, ")
                )
    return lines, errors


def _start_request(
    form: FormData, who: Principal
) -> tuple[StartAuditRequest | None, dict[str, str]]:
    lines, errors = _lines(form)
    if not lines and not errors:
        errors["lines"] = N_("fill in at least one declaration line")
    body = {
        "customs_office": who.office,
        "inspector_id": text(form, "inspector_id") if who.role == "supervisor" else who.sub,
        "party": {
            "bin": text(form, "party_bin"),
            "name": text(form, "party_name"),
            "email": optional(form, "party_email"),
            "phone": optional(form, "party_phone"),
            "address": optional(form, "party_address"),
            "language": text(form, "party_language") or "ru",
        },
        "declarations": [d.strip() for d in text(form, "declarations").splitlines() if d.strip()],
        "findings": text(form, "findings"),
        "delivery_method": text(form, "delivery_method") or "cabinet",
        "lines": [line.model_dump() for line in lines] or None,
    }
    try:
        request_body = StartAuditRequest.model_validate(body)
    except ValidationError as error:
        found = errors_of(error, START_FIELDS)
        if lines or "lines" in errors:
            found.pop("lines", None)
        return None, {**found, **errors}
    return request_body, errors


def _start_form(
    request: Request,
    session: WebSession,
    who: Principal,
    values: dict[str, Any],
    errors: dict[str, str],
    preview: Any = None,
    status_code: int = 200,
) -> Response:
    return show(
        request,
        "dashboard/new.html",
        {
            "values": values,
            "errors": errors,
            "preview": preview,
            "line_rows": range(LINE_ROWS),
            "today": today().isoformat(),
        },
        session,
        status_code=status_code,
    )


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
    errors: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    file = await open_case(request, who, audit_id, staff=True)
    case = file.case
    calendar = await run_in_threadpool(calendar_of, request.app.state.engine)
    deadline = running_deadline(
        calendar,
        case.status,
        case.review_deadline if case.status == AuditStatus.UNDER_REVIEW else case.response_deadline,
        case.overdue,
        today(),
    )
    settings = request.app.state.settings
    workflow_url = (
        f"{settings.temporal_ui_url.rstrip('/')}/namespaces/{settings.temporal_namespace}"
        f"/workflows/{case.id}"
    )
    return show(
        request,
        "dashboard/case.html",
        {
            "file": file,
            "case": case,
            "deadline": deadline,
            "actions": available_actions(file.row, who),
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
        raise ApiError(404, "not_found", f"no action {action}")
    model, handler, names = ACTIONS[action].model, ACTIONS[action].handler, ACTIONS[action].fields
    require(session, ACTIONS[action].roles)
    form = await posted(request, session)
    row = row_for(request.app.state.engine, who, audit_id)
    raw: dict[str, Any] = {name: text(form, name) for name in names}
    if action == "request_documents":
        raw["items"] = [i.strip() for i in raw["items"].splitlines() if i.strip()]
    fields: dict[tuple[str | int, ...], str] = {(name,): name for name in names}
    try:
        body = model.model_validate({k: v for k, v in raw.items() if v not in ("", [])})
        await handler(**arguments(handler, request, who, row, body))
    except (ValidationError, ApiError) as error:
        status = error.status if isinstance(error, ApiError) else 422
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
        return await render_case(
            request,
            session,
            who,
            audit_id,
            form=action,
            errors=errors_of(error, fields),
            values=values,
            status_code=status,
        )
    return RedirectResponse(f"/dashboard/audits/{row.id}?done={action}", 303)
