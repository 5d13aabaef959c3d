"""The case as an immutable value, and how each recorded event changes it.

`evolve(state, event)` is the only way a case changes. The workflow, the snapshot shown to
users and the tests all fold the same events through it, so there is one answer to "what is
the state of this case" however the events arrived. Events carry JSON-ready details (ISO
dates, decimal strings) because they are also the case's legal trail.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel, ConfigDict

from domain.assessment import Assessment
from domain.case import (
    AuditStart,
    Awaiting,
    CaseEvent,
    Explanation,
    Payment,
    PendingAlert,
    RequestState,
)
from domain.charges import Charges
from domain.clock import local_date
from domain.consequences import AppealResult, FiledAppeal
from domain.lifecycle import AuditStatus, EventKind, check_transition
from domain.notices import DeliveryMethod, DeliveryStatus, DocumentKind, document_number
from domain.penalty import UNRECORDED, PenaltyTerms
from domain.rates import DatedTable
from domain.settlement import Settlement, settle


class CaseState(BaseModel):
    """Everything the rules of a case need to know; replaced, never changed in place."""

    model_config = ConfigDict(frozen=True)

    start: AuditStart
    inspector_id: str
    status: AuditStatus = AuditStatus.ISSUED
    issued_on: date
    charges: Charges | None
    assessment: Assessment | None = None
    base_rates: DatedTable | None = None
    penalty_terms: PenaltyTerms = UNRECORDED  # replaced by the recorded ones with the rates
    terms_fixed: bool = False
    awaiting: Awaiting | None = None
    returned_on: date | None = None
    inspection_deadline: date | None = None
    inspection_overdue: bool = False
    delivered_on: date | None = None
    response_deadline: date | None = None
    decision_due: date | None = None  # silence: decided on this working day, after posting
    explanation: Explanation | None = None
    explanation_received_on: date | None = None
    review_deadline: date | None = None
    overdue: bool = False
    requests: tuple[RequestState, ...] = ()
    payments: tuple[Payment, ...] = ()
    documents_issued: dict[str, int] = {}
    reminders_sent: tuple[date, ...] = ()
    alerts_failed: bool = False
    alerts_retrying: tuple[PendingAlert, ...] = ()
    decision_reasons: str | None = None
    cancel_reason: str | None = None
    # After an unfulfilled decision (domain/consequences.py)
    accepted_declarations: tuple[str, ...] = ()  # an explanation accepted in part
    decision_number: str | None = None
    decided_on: date | None = None  # the date the decision bears, a working day
    decision_awaiting: Awaiting | None = None  # a decision served on paper awaits its receipt
    decision_delivered_on: date | None = None
    appeal_deadline: date | None = None
    appeal: FiledAppeal | None = None
    appeal_outcome: AppealResult | None = None
    final_on: date | None = None  # the decision is final at the end of this day
    suspension_due: date | None = None
    suspension_number: str | None = None
    suspended_on: date | None = None
    suspension_owed: str | None = None  # the debt the order names, as of its date
    lifting_number: str | None = None
    lifted_on: date | None = None
    revocation_proposed: bool = False
    revocation_references: tuple[str, ...] = ()  # the payments that made it proposed
    revocation_reasons: str = ""
    revocation_number: str | None = None
    settled_on: date | None = None
    handled_documents: tuple[str, ...] = ()  # numbers issued (or failed): never issued twice
    staff_told_of: tuple[str, ...] = ()  # topics of the staff notices sent: each sent once
    event_count: int = 0

    @property
    def audit_id(self) -> str:
        return self.start.audit_id

    @property
    def open(self) -> bool:
        return self.status in (
            AuditStatus.ISSUED,
            AuditStatus.AWAITING_RESPONSE,
            AuditStatus.UNDER_REVIEW,
        )

    @property
    def following_up(self) -> bool:
        """Whether the case still has something to do after an unfulfilled decision: an
        appeal to decide, a revocation to consider, a debt to collect or an order to lift."""
        if self.status == AuditStatus.APPEALED:
            return True
        if self.status != AuditStatus.UNFULFILLED:
            return False
        suspended = self.suspension_number is not None and self.lifting_number is None
        # paid or not, the party may appeal until the decision is final
        appealable = self.final_on is None and self.decision_number is not None
        return self.settled_on is None or suspended or self.revocation_proposed or appealable

    @property
    def rejected_declarations(self) -> tuple[str, ...]:
        """The declarations an explanation accepted in part did not cover."""
        if not self.accepted_declarations:
            return ()
        return tuple(d for d in self.start.declarations if d not in self.accepted_declarations)

    @property
    def amount_paid(self) -> Decimal:
        return sum((p.amount for p in self.payments), Decimal(0))

    def paid_reference(self, reference: str) -> bool:
        return any(p.reference == reference for p in self.payments)

    def request(self, request_id: str) -> RequestState | None:
        return next((r for r in self.requests if r.id == request_id), None)

    def next_number(self, kind: DocumentKind) -> str:
        """The number the next document of `kind` gets; reserved by the event that issues it."""
        return document_number(self.audit_id, kind, self.documents_issued.get(kind, 0) + 1)

    def settlement(self) -> Settlement | None:
        """What the payments cover, as of the latest payment date (pure arithmetic)."""
        if not self.payments:
            return None
        return self.settlement_as_of(max(p.paid_at for p in self.payments))

    def settlement_as_of(self, day: date) -> Settlement | None:
        """What the payments dated up to `day` cover on that day."""
        if self.charges is None or self.base_rates is None:
            return None
        return settle(
            self.charges,
            self.payments,
            day,
            self.issued_on,
            self.response_deadline,
            self.base_rates,
            self.penalty_terms,
        )


def initial_state(start: AuditStart, issued_on: date) -> CaseState:
    return CaseState(
        start=start, inspector_id=start.inspector_id, issued_on=issued_on, charges=start.charges
    )


def event(kind: EventKind, at: datetime, **details: Any) -> CaseEvent:
    return CaseEvent(at=at, kind=kind, details=details)


def _day(value: Any) -> date:
    return date.fromisoformat(str(value))


def evolve(state: CaseState, event: CaseEvent) -> CaseState:
    """The state after `event`; events that are only paperwork just count."""
    d = event.details
    change: dict[str, Any] = {"event_count": state.event_count + 1}
    kind = event.kind
    if kind in (EventKind.TERMS_FIXED, EventKind.CHARGES_ASSESSED):
        change["base_rates"] = DatedTable.model_validate(d["base_rates"])
        # Histories recorded before the penalty terms were settings do not name them.
        terms = d.get("penalty_terms")
        change["penalty_terms"] = (
            UNRECORDED if terms is None else PenaltyTerms.model_validate(terms)
        )
        change["terms_fixed"] = True
        if d.get("assessment") is not None:
            assessment = Assessment.model_validate(d["assessment"])
            change["assessment"] = assessment
            change["charges"] = assessment.charges
    elif kind == EventKind.MAIL_DISPATCHED:
        change["awaiting"] = "postal_receipt"
    elif kind == EventKind.HANDOVER_PREPARED:
        change["awaiting"] = "hand_signature"
    elif kind == EventKind.MAIL_RETURNED and d.get("document") is not None:
        change["decision_awaiting"] = "inspection_act"  # the decision's letter came back
    elif kind == EventKind.MAIL_RETURNED:
        change["awaiting"] = "inspection_act"
        change["returned_on"] = _day(d["returned_on"])
    elif kind == EventKind.INSPECTION_OVERDUE:
        change["inspection_overdue"] = True
    elif kind == EventKind.DELIVERED:
        change["delivered_on"] = _day(d["delivered_on"])
        change["awaiting"] = None
    elif kind == EventKind.DEADLINE_SET:
        change.update(_deadline_change(state, d))
    elif kind == EventKind.PAYMENT_RECEIVED:
        change["payments"] = (*state.payments, Payment.model_validate(d["payment"]))
    elif kind == EventKind.EXPLANATION_RECEIVED:
        change["explanation"] = Explanation.model_validate(d["explanation"])
        if d.get("superseded_by") is None:
            change["explanation_received_on"] = _day(d["received_on"])
            change["status"] = _moved(state, AuditStatus.UNDER_REVIEW)
    elif kind == EventKind.DOCUMENTS_REQUESTED:
        change["requests"] = (*state.requests, RequestState.model_validate(d["request"]))
        change["documents_issued"] = _counted(state, DocumentKind.DOCUMENT_REQUEST)
    elif kind == EventKind.DOCUMENTS_PROVIDED:
        change["requests"] = tuple(
            r.model_copy(update={"answered_at": event.at, "documents": d["documents"]})
            if r.id == d["request_id"]
            else r
            for r in state.requests
        )
    elif kind in (EventKind.DOCUMENT_ISSUED, EventKind.DOCUMENT_FAILED):
        change["handled_documents"] = (*state.handled_documents, d["document"])
        if kind == EventKind.DOCUMENT_ISSUED and d["document_kind"] not in _RESERVED_EARLIER:
            change["documents_issued"] = _counted(state, DocumentKind(d["document_kind"]))
        if kind == EventKind.DOCUMENT_ISSUED and d["document"] == state.lifting_number:
            change["lifted_on"] = local_date(event.at)
        if kind == EventKind.DOCUMENT_ISSUED and d["document_kind"] == DocumentKind.DECISION:
            change["decision_number"] = d["document"]
            change["decided_on"] = local_date(event.at)
            change["decision_awaiting"] = _AWAITING_RECEIPT.get(state.start.delivery_method)
    elif kind == EventKind.REMINDER_DUE:
        change["reminders_sent"] = (*state.reminders_sent, _day(d["day"]))
        change["documents_issued"] = _counted(state, DocumentKind.REMINDER)
    elif kind == EventKind.ALERT_RETRYING:
        pending = PendingAlert(
            document=d["document"], channel=d["channel"], since=event.at, detail=d["detail"]
        )
        change["alerts_retrying"] = (*state.alerts_retrying, pending)
    elif kind == EventKind.DELIVERY_ATTEMPT:
        if d["status"] != DeliveryStatus.TEMPORARY_FAILURE:  # the channel's outcome is known
            change["alerts_retrying"] = tuple(
                p
                for p in state.alerts_retrying
                if (p.document, p.channel) != (d["document"], d["channel"])
            )
    elif kind == EventKind.ALERTS_FAILED:
        change["alerts_failed"] = True
    elif kind == EventKind.STAFF_NOTIFIED and "topic" in d:  # recorded with topics since
        change["staff_told_of"] = (*state.staff_told_of, d["topic"])
    elif kind == EventKind.REVIEW_OVERDUE:
        change["overdue"] = True
    elif kind == EventKind.REASSIGNED:
        change["inspector_id"] = d["inspector_id"]
    elif kind == EventKind.FULFILLED:
        change["status"] = _moved(state, AuditStatus.FULFILLED)
    elif kind == EventKind.EXPLANATION_ACCEPTED:
        change["status"] = _moved(state, AuditStatus.EXPLANATION_ACCEPTED)
    elif kind == EventKind.DECISION_UNFULFILLED:
        change["status"] = _moved(state, AuditStatus.UNFULFILLED)
        change["decision_reasons"] = d.get("reasons")
    elif kind == EventKind.CHARGES_REDUCED:
        change["charges"] = Charges.model_validate(d["charges"])
        change["accepted_declarations"] = tuple(d.get("accepted", ()))
    elif kind == EventKind.DECISION_DELIVERED:
        change["decision_delivered_on"] = _day(d["delivered_on"])
        change["decision_awaiting"] = None
    elif kind == EventKind.APPEAL_FILED:
        change["status"] = _moved(state, AuditStatus.APPEALED)
        change["appeal"] = FiledAppeal.model_validate(d["appeal"])
    elif kind == EventKind.APPEAL_DECIDED:
        change["appeal_outcome"] = d["outcome"]
        if d["outcome"] == "annulled":
            change["status"] = _moved(state, AuditStatus.CANCELLED)
            change["cancel_reason"] = d["reason"]
        else:
            change["status"] = _moved(state, AuditStatus.UNFULFILLED)
    elif kind == EventKind.DECISION_FINAL:
        change["final_on"] = _day(d["final_on"])
    elif kind == EventKind.REVOCATION_PROPOSED:
        change["revocation_proposed"] = True
    elif kind == EventKind.REVOCATION_DECLINED:
        change["revocation_proposed"] = False
    elif kind == EventKind.DECISION_REVOKED:
        change["status"] = _moved(state, AuditStatus.FULFILLED)
        change["revocation_proposed"] = False
        change["revocation_number"] = d["number"]
        change["documents_issued"] = _counted(state, DocumentKind.REVOCATION)
    elif kind == EventKind.SUSPENSION_ORDERED:
        change["suspension_number"] = d["number"]
        change["suspended_on"] = _day(d["ordered_on"])
        change["documents_issued"] = _counted(state, DocumentKind.SUSPENSION_ORDER)
    elif kind == EventKind.SUSPENSION_LIFTED:
        change["lifting_number"] = d["number"]
        # the order's own date once it is issued (a working day); until then the request's
        change["lifted_on"] = _day(d.get("lifted_on") or d["requested_on"])
        change["documents_issued"] = _counted(state, DocumentKind.LIFTING_ORDER)
    elif kind == EventKind.DEBT_SETTLED:
        change["settled_on"] = _day(d["as_of"])
    elif kind == EventKind.CANCELLED:
        change["status"] = _moved(state, AuditStatus.CANCELLED)
        change["cancel_reason"] = d["reason"]
        change["awaiting"] = None
    return state.model_copy(update={**change, **_quoted_later(event)})


def _quoted_later(event: CaseEvent) -> dict[str, Any]:
    """What a document issued later quotes from the event that reserved its number: kept in
    the state, because a case that continues as new carries its state, not its whole trail."""
    d = event.details
    if event.kind == EventKind.REVOCATION_PROPOSED:
        return {"revocation_references": tuple(d["references"])}
    if event.kind == EventKind.DECISION_REVOKED:
        return {"revocation_reasons": d.get("reasons") or ""}
    if event.kind == EventKind.SUSPENSION_ORDERED:
        return {"suspension_owed": str(d["amount_owed"])}
    return {}


def with_quoted_facts(state: CaseState, events: list[CaseEvent]) -> CaseState:
    """A state carried over by a run from before these facts were kept, with its whole
    trail: the facts taken from that trail."""
    for item in events:
        state = state.model_copy(update=_quoted_later(item))
    return state


# Numbers of these kinds are taken by the event that asks for the document, before any wait.
_RESERVED_EARLIER = (
    DocumentKind.DOCUMENT_REQUEST,
    DocumentKind.REMINDER,
    DocumentKind.REVOCATION,
    DocumentKind.SUSPENSION_ORDER,
    DocumentKind.LIFTING_ORDER,
)
# A decision served on paper is served the way the notification was.
_AWAITING_RECEIPT: dict[DeliveryMethod, Awaiting] = {
    DeliveryMethod.REGISTERED_MAIL: "postal_receipt",
    DeliveryMethod.HAND: "hand_signature",
}


def _moved(state: CaseState, target: AuditStatus) -> AuditStatus:
    check_transition(state.status, target)
    return target


def _counted(state: CaseState, kind: DocumentKind) -> dict[str, int]:
    return {**state.documents_issued, kind: state.documents_issued.get(kind, 0) + 1}


def _deadline_change(state: CaseState, d: dict[str, Any]) -> dict[str, Any]:
    day = _day(d["day"])
    which = d["deadline"]
    if which == "response":
        change: dict[str, Any] = {"response_deadline": day}
        if state.status == AuditStatus.ISSUED:
            change["status"] = _moved(state, AuditStatus.AWAITING_RESPONSE)
        return change
    if which == "review":
        return {"review_deadline": day}
    if which == "decision":
        return {"decision_due": day}
    if which == "inspection":
        return {"inspection_deadline": day}
    if which == "appeal":
        return {"appeal_deadline": day}
    if which == "suspension":
        return {"suspension_due": day}
    # "documents": the answer period of one request
    return {
        "requests": tuple(
            r.model_copy(update={"deadline": day}) if r.id == d["request_id"] else r
            for r in state.requests
        )
    }
