"""What staff may do to a case now, and the forms that do it.

The page offers an action only when the case's own rules (`decide` on the stored state)
would take it from this user; the workflow still judges the real request, and a refusal
comes back next to the form's field.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from pydantic import BaseModel

from api.auth import Principal, Role
from api.review_routes import request_documents
from api.routes import cancel, inspection_act, mail_returned, postal_receipt, reassign, review
from api.schemas import (
    CancelRequest,
    DocumentRequestIn,
    InspectionActRequest,
    MailReturnedRequest,
    PostalReceiptRequest,
    ReassignRequest,
    ReviewRequest,
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
    Reassign,
    RecordInspectionAct,
    RecordReceipt,
    RecordReturned,
    RequestDocuments,
    Review,
)
from domain.case_rules import decide
from domain.case_state import CaseState
from domain.clock import local_date
from domain.refusals import Refused

OFFICE_STAFF: tuple[Role, ...] = ("inspector", "supervisor")


def _probes(now: datetime, role: str) -> dict[str, Command]:
    """One harmless example of each action, to ask the case's rules whether it is open."""
    today = local_date(now)
    return {
        "review": Review(ReviewDecision(decision="accept"), role=role),
        "request_documents": RequestDocuments(DocumentRequest(items=["-"])),
        "postal_receipt": RecordReceipt(PostalReceipt(delivered_on=today, receipt_no="-")),
        "returned_mail": RecordReturned(MailReturned(returned_on=today, reason="-")),
        "inspection_act": RecordInspectionAct(
            InspectionAct(act_no="-", act_date=today, finding="party_absent")
        ),
        "reassign": Reassign(Reassignment(inspector_id="-")),
        "cancel": Cancel(Cancellation(reason="-")),
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


@dataclass(frozen=True)
class Action:
    """A staff action: its request body, the API's route function that performs it, the
    form's fields, and who may take it (as the route's `allow` says: calling the function
    directly does not run that dependency, so the page checks it)."""

    model: type[BaseModel]
    handler: Handler
    fields: tuple[str, ...]
    roles: tuple[Role, ...] = OFFICE_STAFF


ACTIONS: dict[str, Action] = {
    "review": Action(ReviewRequest, review, ("decision", "reasons")),
    "request_documents": Action(DocumentRequestIn, request_documents, ("items", "working_days")),
    "postal_receipt": Action(PostalReceiptRequest, postal_receipt, ("delivered_on", "receipt_no")),
    "returned_mail": Action(MailReturnedRequest, mail_returned, ("returned_on", "reason")),
    "inspection_act": Action(
        InspectionActRequest, inspection_act, ("act_no", "act_date", "finding")
    ),
    "reassign": Action(ReassignRequest, reassign, ("inspector_id",), ("supervisor",)),
    "cancel": Action(CancelRequest, cancel, ("reason",), ("supervisor",)),
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
