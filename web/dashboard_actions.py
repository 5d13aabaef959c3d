"""What staff may do to a case now, and the forms that do it.

The page offers an action only when the case's own rules (`decide` on the stored state)
would take it from this user; the workflow still judges the real request, and a refusal
comes back next to the form's field.
"""

from collections.abc import Awaitable, Callable
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
from domain.case_rules import (
    Cancel,
    Command,
    Reassign,
    RecordInspectionAct,
    RecordReceipt,
    RecordReturned,
    Refused,
    RequestDocuments,
    Review,
    decide,
)
from domain.case_state import CaseState
from domain.clock import local_date

OFFICE_STAFF: tuple[Role, ...] = ("inspector", "supervisor")


def _probes(now: datetime, role: str) -> dict[str, tuple[tuple[str, ...], Command]]:
    """One harmless example of each action, and who may take it (as the API allows)."""
    today = local_date(now)
    return {
        "review": (OFFICE_STAFF, Review(ReviewDecision(decision="accept"), role=role)),
        "request_documents": (OFFICE_STAFF, RequestDocuments(DocumentRequest(items=["-"]))),
        "postal_receipt": (
            OFFICE_STAFF,
            RecordReceipt(PostalReceipt(delivered_on=today, receipt_no="-")),
        ),
        "returned_mail": (
            OFFICE_STAFF,
            RecordReturned(MailReturned(returned_on=today, reason="-")),
        ),
        "inspection_act": (
            OFFICE_STAFF,
            RecordInspectionAct(InspectionAct(act_no="-", act_date=today, finding="party_absent")),
        ),
        "reassign": (("supervisor",), Reassign(Reassignment(inspector_id="-"))),
        "cancel": (("supervisor",), Cancel(Cancellation(reason="-"))),
    }


def available_actions(row: AuditRow, who: Principal) -> set[str]:
    """Actions the case would take from `who` now. A refusal for the example's own values
    (`invalid_input`) still means the action is open; one for the state or role does not."""
    state = CaseState.model_validate(row.snapshot)
    now = datetime.now(UTC)
    open_actions = set()
    for name, (roles, command) in _probes(now, who.role).items():
        if who.role not in roles:
            continue
        try:
            decide(state, command, now)
        except Refused as refusal:
            if refusal.code != "invalid_input":
                continue
        open_actions.add(name)
    return open_actions


Handler = Callable[..., Awaitable[Any]]
ACTIONS: dict[str, tuple[type[BaseModel], Handler, tuple[str, ...]]] = {
    "review": (ReviewRequest, review, ("decision", "reasons")),
    "request_documents": (DocumentRequestIn, request_documents, ("items", "working_days")),
    "postal_receipt": (PostalReceiptRequest, postal_receipt, ("delivered_on", "receipt_no")),
    "returned_mail": (MailReturnedRequest, mail_returned, ("returned_on", "reason")),
    "inspection_act": (InspectionActRequest, inspection_act, ("act_no", "act_date", "finding")),
    "reassign": (ReassignRequest, reassign, ("inspector_id",)),
    "cancel": (CancelRequest, cancel, ("reason",)),
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
