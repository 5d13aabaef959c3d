"""Starting an audit from the dashboard: the form, its charges worked out as the inspector
types, and the start itself through the API's own route function (with an idempotency key
in the form, so a double click starts one audit)."""

import uuid
from collections.abc import Awaitable, Callable, Mapping
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
from web.forms import FORM_ERROR, Errors, errors_of, optional, posted, problem_message, text
from web.i18n import N_
from web.pages import SignedIn, language, require, show
from web.render import environment, helpers
from web.session import WebSession

router = APIRouter(prefix="/dashboard")
STARTERS = OFFICE_STAFF
LINE_ROWS = 3
MAX_LINES = 500  # as many as a start request takes
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
    require(session, STARTERS)
    return start_form(request, session, {"idempotency_key": uuid.uuid4().hex}, {})


@router.post("/audits/new")
async def start(request: Request, session: SignedIn) -> Response:
    who = require(session, STARTERS)

    async def through_api(body: StartAuditRequest, form: FormData) -> str:
        started = await start_audit(
            who=who,
            body=body,
            response=Response(),
            cases=request.app.state.gateway,
            db=request.app.state.engine,
            rates=request.app.state.tables,
            terms=request.app.state.settings.penalty_terms,
            idempotency_key=text(form, "idempotency_key") or None,
        )
        return started.id

    return await submit(request, session, who, through_api)


Starter = Callable[[StartAuditRequest, FormData], Awaitable[str]]


async def submit(
    request: Request,
    session: WebSession,
    who: Principal,
    starter: Starter,
    **context: Any,
) -> Response:
    """Handle a posted start form: refusals next to their fields, the charges worked out
    on request, else `starter` starts the audit (answering its id) and the case page opens.
    `context` (the form's action, where it comes from) is shown again with a refusal."""
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
        return start_form(request, session, values, errors, preview, status, **context)
    try:
        audit_id = await starter(body, form)
    except ApiError as error:
        refused = errors_of(error, START_FIELDS)
        return start_form(request, session, values, refused, preview, error.status, **context)
    return RedirectResponse(f"/dashboard/audits/{audit_id}?done=started", 303)


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
        settings = request.app.state.settings
        return assess(lines, today(), request.app.state.tables, settings.penalty_terms), ""
    except (NothingToCharge, LookupError) as error:
        return None, str(error)


def _lines(form: FormData) -> tuple[list[AuditLine], Errors]:
    lines: list[AuditLine] = []
    errors: Errors = {}
    for n in range(_rows_in(form)):
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
                errors.setdefault(f"lines-{n}-{field}", problem_message(problem))
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


def _rows_in(form: Mapping[str, Any]) -> int:
    """The line rows a form has: at least the blank ones, more when it was pre-filled with a
    longer declaration (up to the most lines an audit takes)."""
    rows = LINE_ROWS
    while rows < MAX_LINES and f"lines-{rows}-declaration" in form:
        rows += 1
    return rows


def prefilled(
    party_bin: str, declaration: str, findings: str, lines: list[dict[str, Any]]
) -> dict[str, str]:
    """The form's fields for a proposed audit (lines as `AuditLine` JSON, in KZT), for the
    inspector to check and edit before starting it."""
    values = {
        "party_bin": party_bin,
        "declarations": declaration,
        "findings": findings,
        "party_language": "ru",
        "delivery_method": "cabinet",
    }
    for n, line in enumerate(lines):
        declared, adjusted = line["declared"], line["adjusted"]
        fields = {
            "declaration": declared["declaration"],
            "registered_on": declared["registered_on"],
            "currency": declared["currency"],
            "exchange_rate": declared["exchange_rate"],
            "duty_rate_percent": declared["duty_rate_percent"],
            "declared_price": declared["price_paid"],
            "adjusted_price": adjusted["price_paid"],
        }
        values.update({f"lines-{n}-{name}": str(value) for name, value in fields.items()})
    return values


def start_form(
    request: Request,
    session: WebSession,
    values: dict[str, Any],
    errors: Errors,
    preview: Any = None,
    status_code: int = 200,
    *,
    action: str = "/dashboard/audits/new",
    origin: int | None = None,
) -> Response:
    """The start form, posting to `action`; `origin` names the screening candidate that
    pre-filled it."""
    return show(
        request,
        "dashboard/new.html",
        {
            "values": values,
            "errors": errors,
            "preview": preview,
            "line_rows": range(_rows_in(values)),
            "today": today().isoformat(),
            "action": action,
            "origin": origin,
        },
        session,
        status_code=status_code,
    )
