"""The rules of the review period: the party's explanation (Art. 417(3-2)), requests for
further documents and their answers, and customs' decision on the explanation — in full,
in part (the party owes the rest) or not at all. Called by `domain/case_rules.decide`."""

from datetime import datetime

from domain.case import (
    CaseEvent,
    DocumentRequest,
    DocumentsProvided,
    Explanation,
    RequestState,
    ReviewDecision,
)
from domain.case_state import CaseState, event
from domain.clock import end_of_day, local_date
from domain.consequences import reduction_problem
from domain.lifecycle import AuditStatus, EventKind
from domain.notices import DocumentKind
from domain.refusals import Phrase, Refused, Value
from domain.shared_rules import require_status, then_fulfil


def explanation(state: CaseState, explanation: Explanation, now: datetime) -> CaseEvent:
    require_status(state, AuditStatus.AWAITING_RESPONSE, Phrase.EXPLANATION)
    if state.explanation is not None:
        raise Refused("wrong_state", "explanation_exists")
    assert state.response_deadline is not None
    if now >= end_of_day(state.response_deadline):
        raise Refused("wrong_state", "response_deadline_passed", deadline=state.response_deadline)
    expected: dict[Phrase, tuple[Value, Value]] = {
        Phrase.PARTY_BIN: (explanation.party_bin, state.start.party.bin),
        Phrase.NOTIFICATION_NUMBER: (explanation.notification_number, state.audit_id),
        Phrase.NOTIFICATION_DATE: (explanation.notification_date, state.issued_on),
    }
    for field, (given, wanted) in expected.items():
        if given != wanted:
            raise Refused(
                "invalid_input",
                "not_as_notified",
                str(field),
                subject=field,
                given=given,
                wanted=wanted,
            )
    return event(
        EventKind.EXPLANATION_RECEIVED,
        now,
        explanation=explanation.model_dump(mode="json"),
        received_on=local_date(now).isoformat(),
        signed_on=explanation.signed_on.isoformat(),
        documents=list(explanation.documents),
    )


def document_request(state: CaseState, request: DocumentRequest, now: datetime) -> CaseEvent:
    require_status(state, AuditStatus.UNDER_REVIEW, Phrase.DOCUMENT_REQUEST)
    reserved = RequestState(
        id=f"R{len(state.requests) + 1}",
        number=state.next_number(DocumentKind.DOCUMENT_REQUEST),
        items=request.items,
        requested_at=now,
        requested_by=request.requested_by or state.inspector_id,
    )
    return event(
        EventKind.DOCUMENTS_REQUESTED,
        now,
        request=reserved.model_dump(mode="json"),
        request_id=reserved.id,
        items=reserved.items,
        working_days=request.working_days,
        by=reserved.requested_by,
    )


def documents_provided(state: CaseState, provided: DocumentsProvided, now: datetime) -> CaseEvent:
    require_status(state, AuditStatus.UNDER_REVIEW, Phrase.DOCUMENTS)
    request = state.request(provided.request_id)
    if request is None:
        raise Refused("invalid_input", "no_such_request", "request_id", request=provided.request_id)
    if request.answered_at is not None:
        raise Refused(
            "wrong_state",
            "request_answered",
            request=request.id,
            answered_at=request.answered_at,
        )
    late = request.deadline is not None and now >= end_of_day(request.deadline)
    return event(
        EventKind.DOCUMENTS_PROVIDED,
        now,
        request_id=request.id,
        documents=list(provided.documents),
        requested_at=request.requested_at.isoformat(),
        late=late,
    )


def review(state: CaseState, decision: ReviewDecision, role: str, now: datetime) -> list[CaseEvent]:
    require_status(state, AuditStatus.UNDER_REVIEW, Phrase.REVIEW)
    if state.overdue and role != "supervisor":
        raise Refused("forbidden", "review_overdue")
    who = decision.decided_by or state.inspector_id
    if decision.decision == "accept":
        return [event(EventKind.EXPLANATION_ACCEPTED, now, decided_by=who)]
    unfulfilled = event(
        EventKind.DECISION_UNFULFILLED, now, decided_by=who, reasons=decision.reasons
    )
    if decision.decision == "reject":
        return [unfulfilled]
    reduced = accepted_in_part(state, decision, who, now)
    fulfilled = then_fulfil(state, [reduced], now)
    return fulfilled if len(fulfilled) > 1 else [reduced, unfulfilled]


def accepted_in_part(
    state: CaseState, decision: ReviewDecision, who: str, now: datetime
) -> CaseEvent:
    """The explanation holds for the `accepted` declarations: the party owes the charges of
    the others, recomputed from the lines (or given by the inspector for typed charges)."""
    declarations = state.start.declarations
    for number in decision.accepted:
        if number not in declarations:
            raise Refused("invalid_input", "not_a_declaration", "accepted", declaration=number)
    rejected = [d for d in declarations if d not in decision.accepted]
    if not rejected:
        raise Refused("invalid_input", "all_accepted", "accepted")
    assert state.charges is not None
    if state.assessment is not None:
        if decision.charges is not None:
            raise Refused("invalid_input", "charges_not_for_lines", "charges")
        owed = state.assessment.charges_for(rejected)
        if owed is None:
            raise Refused("invalid_input", "nothing_left", "accepted")
    else:
        if decision.charges is None:
            raise Refused("invalid_input", "charges_needed", "charges")
        owed = decision.charges
    # Accepting a part must lower what is owed (lines that add nothing change nothing).
    problem = reduction_problem(state.charges, owed)
    if problem:
        field = "charges" if state.assessment is None else "accepted"
        raise Refused("invalid_input", problem, field, total=str(state.charges.total))
    return event(
        EventKind.CHARGES_REDUCED,
        now,
        charges=owed.model_dump(mode="json"),
        previous=state.charges.model_dump(mode="json"),
        accepted=list(decision.accepted),
        rejected=rejected,
        reason="explanation accepted in part",
        decided_by=who,
    )
