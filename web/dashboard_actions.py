"""What staff may do to a case now, and the forms that do it.

The page offers an action only when the case's own rules (`decide` on the stored state)
would take it from this user; the workflow still judges the real request, and a refusal
comes back next to the form's field.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel
from starlette.datastructures import FormData

from api.auth import Principal, Role
from api.consequence_routes import appeal_outcome, revocation
from api.review_routes import request_documents
from api.routes import cancel, inspection_act, mail_returned, postal_receipt, reassign, review
from api.schemas import (
    AppealOutcomeRequest,
    CancelRequest,
    DocumentRequestIn,
    InspectionActRequest,
    MailReturnedRequest,
    PostalReceiptRequest,
    ReassignRequest,
    ReviewRequest,
    RevocationRequest,
)
from db.models import AuditRow
from domain.case import (
    Cancellation,
    DocumentRequest,
    InspectionAct,
    MailReturned,
    PostalReceipt,
    Reassignment,
    ReviewDecision,
)
from domain.case_commands import (
    Cancel,
    Command,
    DecideAppeal,
    DecideRevocation,
    Reassign,
    RecordInspectionAct,
    RecordReceipt,
    RecordReturned,
    RequestDocuments,
    Review,
)
from domain.case_rules import decide
from domain.case_state import CaseState
from domain.charges import Charges
from domain.clock import local_date
from domain.consequences import AppealOutcome, RevocationDecision
from domain.refusals import Refused
from web.forms import text

OFFICE_STAFF: tuple[Role, ...] = ("inspector", "supervisor")


def _probes(now: datetime, role: str) -> dict[str, Command]:
    """One harmless example of each action, to ask the case's rules whether it is open."""
    today = local_date(now)
    return {
        "review": Review(ReviewDecision(decision="accept"), role=role),
        "request_documents": RequestDocuments(DocumentRequest(items=["-"])),
        "postal_receipt": RecordReceipt(PostalReceipt(delivered_on=today, receipt_no="-")),
        "hand_signature": RecordReceipt(
            PostalReceipt(channel="hand", delivered_on=today, receipt_no="-")
        ),
        "returned_mail": RecordReturned(MailReturned(returned_on=today, reason="-")),
        "inspection_act": RecordInspectionAct(
            InspectionAct(act_no="-", act_date=today, finding="party_absent")
        ),
        "reassign": Reassign(Reassignment(inspector_id="-")),
        "cancel": Cancel(Cancellation(reason="-")),
        "appeal_outcome": DecideAppeal(AppealOutcome(outcome="upheld")),
        "revocation": DecideRevocation(RevocationDecision(decision="revoke"), role=role),
    }


def available_actions(row: AuditRow, who: Principal) -> set[str]:
    """Actions the case would take from `who` now. A refusal for the example's own values
    (`invalid_input`) still means the action is open; one for the state or role does not."""
    state = CaseState.model_validate(row.snapshot)
    now = datetime.now(UTC)
    open_actions = set()
    for name, command in _probes(now, who.role).items():
        if who.role not in ACTIONS[name].roles:
            continue
        try:
            decide(state, command, now)
        except Refused as refusal:
            if refusal.code != "invalid_input":
                continue
        open_actions.add(name)
    return open_actions


Handler = Callable[..., Awaitable[Any]]
CHARGE_NAMES = tuple(Charges.model_fields)
# The charges typed into a form: `charges-<name>` inputs, one per charge.
CHARGE_FIELDS: dict[tuple[str | int, ...], str] = {
    ("charges", name): f"charges-{name}" for name in CHARGE_NAMES
}


def texts(form: FormData, names: tuple[str, ...]) -> dict[str, Any]:
    """The request body from the form's text fields, an empty field left out."""
    return {name: value for name in names if (value := text(form, name))}


def with_charges(form: FormData, names: tuple[str, ...]) -> dict[str, Any]:
    """Text fields, the checked `accepted` declarations, and `charges` when any is typed."""
    body = texts(form, tuple(n for n in names if n not in ("accepted", "charges")))
    if "accepted" in names and (accepted := [str(a) for a in form.getlist("accepted")]):
        body["accepted"] = accepted
    charges = {name: value for name in CHARGE_NAMES if (value := text(form, f"charges-{name}"))}
    if charges:
        body["charges"] = charges
    return body


def request_items(form: FormData, names: tuple[str, ...]) -> dict[str, Any]:
    body = texts(form, names)
    if "items" in body:
        body["items"] = [i.strip() for i in body["items"].splitlines() if i.strip()]
    return body


def by_hand(form: FormData, names: tuple[str, ...]) -> dict[str, Any]:
    """The representative's signature for documents handed over (the receipt's route)."""
    return {**texts(form, names), "channel": "hand"}


Reader = Callable[[FormData, tuple[str, ...]], dict[str, Any]]


@dataclass(frozen=True)
class Action:
    """A staff action: its request body, the API's route function that performs it, the
    form's fields, and who may take it (as the route's `allow` says: calling the function
    directly does not run that dependency, so the page checks it). `read` makes the body
    from the form; `more_fields` names where nested values' refusals are shown."""

    model: type[BaseModel]
    handler: Handler
    fields: tuple[str, ...]
    roles: tuple[Role, ...] = OFFICE_STAFF
    read: Reader = texts
    more_fields: dict[tuple[str | int, ...], str] = field(default_factory=dict)

    @property
    def error_fields(self) -> dict[tuple[str | int, ...], str]:
        return {**{(name,): name for name in self.fields}, **self.more_fields}


ACTIONS: dict[str, Action] = {
    "review": Action(
        ReviewRequest,
        review,
        ("decision", "reasons", "accepted", "charges"),
        read=with_charges,
        more_fields=CHARGE_FIELDS,
    ),
    "request_documents": Action(
        DocumentRequestIn, request_documents, ("items", "working_days"), read=request_items
    ),
    "postal_receipt": Action(PostalReceiptRequest, postal_receipt, ("delivered_on", "receipt_no")),
    "hand_signature": Action(
        PostalReceiptRequest, postal_receipt, ("delivered_on", "receipt_no"), read=by_hand
    ),
    "returned_mail": Action(MailReturnedRequest, mail_returned, ("returned_on", "reason")),
    "inspection_act": Action(
        InspectionActRequest, inspection_act, ("act_no", "act_date", "finding")
    ),
    "reassign": Action(ReassignRequest, reassign, ("inspector_id",), ("supervisor",)),
    "cancel": Action(CancelRequest, cancel, ("reason",), ("supervisor",)),
    "appeal_outcome": Action(
        AppealOutcomeRequest,
        appeal_outcome,
        ("outcome", "reasons", "charges"),
        read=with_charges,
        more_fields=CHARGE_FIELDS,
    ),
    # Inspectors may ask, as over the API; the case answers that only a supervisor revokes.
    "revocation": Action(RevocationRequest, revocation, ("decision", "reasons")),
}


def arguments(
    handler: Handler, request: Request, who: Principal, row: AuditRow, body: BaseModel
) -> dict[str, Any]:
    """The route function's own arguments, given as FastAPI would give them."""
    state = request.app.state
    available = {
        "who": who,
        "row": row,
        "case": row,
        "audit_id": row.id,
        "body": body,
        "cases": state.gateway,
        "config": state.settings,
        "db": state.engine,
    }
    wanted = handler.__code__.co_varnames[: handler.__code__.co_argcount]
    return {name: available[name] for name in wanted}
