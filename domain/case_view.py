"""What users see of a case: its summary and snapshot, derived from the state alone."""

from decimal import Decimal

from domain.case import CaseEvent, CaseSnapshot, CaseSummary
from domain.case_state import CaseState
from domain.consequences import AfterDecision


def summary(state: CaseState) -> CaseSummary:
    start = state.start
    settlement = state.settlement()
    paid = state.amount_paid
    due = settlement.owed if settlement else state.charges.total if state.charges else Decimal(0)
    return CaseSummary(
        id=start.audit_id,
        status=state.status,
        version=state.event_count,
        customs_office=start.customs_office,
        inspector_id=state.inspector_id,
        party_bin=start.party.bin,
        party_name=start.party.name,
        party=start.party,
        language=start.party.language,
        delivery_method=start.delivery_method,
        awaiting=state.awaiting,
        inspection_deadline=state.inspection_deadline,
        alerts_failed=state.alerts_failed,
        alerts_retrying=list(state.alerts_retrying),
        declarations=start.declarations,
        findings=start.findings,
        charges=state.charges,
        assessment=state.assessment,
        penalty_terms=state.penalty_terms if state.terms_fixed else None,
        settlement=settlement,
        notification_number=start.audit_id,
        issued_on=state.issued_on,
        delivered_on=state.delivered_on,
        response_deadline=state.response_deadline,
        explanation_received_on=state.explanation_received_on,
        review_deadline=state.review_deadline,
        overdue=state.overdue,
        amount_due=due,
        amount_paid=paid,
        amount_outstanding=settlement.outstanding if settlement else max(due - paid, Decimal(0)),
        credit=settlement.credit if settlement else max(paid - due, Decimal(0)),
        decision_reasons=state.decision_reasons,
        cancel_reason=state.cancel_reason,
        accepted_declarations=list(state.accepted_declarations),
        after_decision=_after_decision(state),
    )


def _after_decision(state: CaseState) -> AfterDecision | None:
    if state.decision_number is None:
        return None
    return AfterDecision(
        decision_number=state.decision_number,
        decided_on=state.decided_on,
        awaiting_receipt=state.decision_awaiting,
        delivered_on=state.decision_delivered_on,
        appeal_deadline=state.appeal_deadline,
        appeal=state.appeal,
        appeal_outcome=state.appeal_outcome,
        final_on=state.final_on,
        suspension_due=state.suspension_due,
        suspension_order=state.suspension_number,
        suspended_on=state.suspended_on,
        lifting_order=state.lifting_number,
        lifted_on=state.lifted_on,
        revocation_proposed=state.revocation_proposed,
        revocation_notice=state.revocation_number,
        debt_settled_on=state.settled_on,
    )


def snapshot(state: CaseState, events: list[CaseEvent], events_from: int = 0) -> CaseSnapshot:
    return CaseSnapshot(
        **dict(summary(state)),
        document_requests=list(state.requests),
        payments=list(state.payments),
        events=list(events),
        events_from=events_from,
    )
