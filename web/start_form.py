"""Starting an audit from the dashboard: the form, its charges worked out as the inspector
types, and the start itself through the API's own route function (with an idempotency key
in the form, so a double click starts one audit)."""

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.auth import Principal
from api.errors import ApiError
from api.routes import start_audit
from api.schemas import StartAuditRequest
from domain.assessment import AuditLine, NothingToCharge, assess
from web.casefile import today
from web.dashboard_actions import OFFICE_STAFF
from web.forms import FORM_ERROR, Errors, errors_of, optional, posted, text
from web.i18n import N_
from web.pages import SignedIn, language, require, show
from web.render import environment, helpers
from web.session import WebSession

router = APIRouter(prefix="/dashboard")
STARTERS = OFFICE_STAFF
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


def _lines(form: FormData) -> tuple[list[AuditLine], Errors]:
    lines: list[AuditLine] = []
    errors: Errors = {}
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


def _start_request(form: FormData, who: Principal) -> tuple[StartAuditRequest | None, Errors]:
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
    return request_body, dict(errors)


def _start_form(
    request: Request,
    session: WebSession,
    who: Principal,
    values: dict[str, Any],
    errors: Errors,
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
