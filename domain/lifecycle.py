"""The lifecycle of DESIGN.md §2: states, which moves are legal, and what event kinds exist.

UNFULFILLED ends the notification, not the case: the decision can be appealed (APPEALED,
then UNFULFILLED again when the appeal is decided, or CANCELLED when it annuls the
notification), and a supervisor can revoke it (FULFILLED) when a payment dated within the
period is posted after it (domain/consequences.py)."""

from enum import StrEnum


class AuditStatus(StrEnum):
    ISSUED = "ISSUED"
    AWAITING_RESPONSE = "AWAITING_RESPONSE"
    UNDER_REVIEW = "UNDER_REVIEW"
    FULFILLED = "FULFILLED"
    EXPLANATION_ACCEPTED = "EXPLANATION_ACCEPTED"
    UNFULFILLED = "UNFULFILLED"
    APPEALED = "APPEALED"
    CANCELLED = "CANCELLED"


TERMINAL = frozenset(
    {
        AuditStatus.FULFILLED,
        AuditStatus.EXPLANATION_ACCEPTED,
        AuditStatus.UNFULFILLED,
        AuditStatus.CANCELLED,
    }
)
# A case's workflow may have ended in these: after a decision it runs on until the follow-up
# (appeal, bank orders) is over, so those may be either.
MAY_HAVE_ENDED = TERMINAL | {AuditStatus.APPEALED}

_ALLOWED: dict[AuditStatus, frozenset[AuditStatus]] = {
    AuditStatus.ISSUED: frozenset({AuditStatus.AWAITING_RESPONSE, AuditStatus.CANCELLED}),
    AuditStatus.AWAITING_RESPONSE: frozenset(
        {
            AuditStatus.FULFILLED,
            AuditStatus.UNDER_REVIEW,
            AuditStatus.UNFULFILLED,
            AuditStatus.CANCELLED,
        }
    ),
    AuditStatus.UNDER_REVIEW: frozenset(
        {
            AuditStatus.FULFILLED,
            AuditStatus.EXPLANATION_ACCEPTED,
            AuditStatus.UNFULFILLED,
            AuditStatus.CANCELLED,
        }
    ),
    AuditStatus.UNFULFILLED: frozenset({AuditStatus.APPEALED, AuditStatus.FULFILLED}),
    AuditStatus.APPEALED: frozenset({AuditStatus.UNFULFILLED, AuditStatus.CANCELLED}),
}


class IllegalTransition(Exception):
    """A move the lifecycle does not allow; reaching it is a bug, never user input."""


def check_transition(current: AuditStatus, target: AuditStatus) -> None:
    if target not in _ALLOWED.get(current, frozenset()):
        raise IllegalTransition(f"{current} -> {target} is not in the lifecycle")


class EventKind(StrEnum):
    STARTED = "started"
    TERMS_FIXED = "terms_fixed"
    CHARGES_ASSESSED = "charges_assessed"
    MAIL_DISPATCHED = "mail_dispatched"
    HANDOVER_PREPARED = "handover_prepared"
    DEADLINE_SET = "deadline_set"
    REMINDER_DUE = "reminder_due"
    DOCUMENT_FAILED = "document_failed"
    DELIVERED = "delivered"
    DOCUMENT_ISSUED = "document_issued"
    DELIVERY_ATTEMPT = "delivery_attempt"
    ALERT_RETRYING = "alert_retrying"
    ALERTS_FAILED = "alerts_failed"
    STAFF_NOTIFIED = "staff_notified"
    MAIL_RETURNED = "mail_returned"
    INSPECTION_OVERDUE = "inspection_overdue"
    PAYMENT_RECEIVED = "payment_received"
    PAYMENT_DUPLICATE = "payment_duplicate_ignored"
    PAYMENT_AFTER_CLOSE = "payment_after_close"
    EXPLANATION_RECEIVED = "explanation_received"
    REVIEW_OVERDUE = "review_overdue"
    ESCALATED = "escalated_to_supervisor"
    FULFILLED = "fulfilled"
    EXPLANATION_ACCEPTED = "explanation_accepted"
    DECISION_UNFULFILLED = "decision_unfulfilled"
    CANCELLED = "cancelled"
    REASSIGNED = "reassigned"
    DOCUMENTS_REQUESTED = "documents_requested"
    DOCUMENTS_PROVIDED = "documents_provided"
    # After an unfulfilled decision (domain/consequences.py)
    CHARGES_REDUCED = "charges_reduced"
    DECISION_DELIVERED = "decision_delivered"
    APPEAL_FILED = "appeal_filed"
    APPEAL_DECIDED = "appeal_decided"
    DECISION_FINAL = "decision_final"
    REVOCATION_PROPOSED = "revocation_proposed"
    DECISION_REVOKED = "decision_revoked"
    REVOCATION_DECLINED = "revocation_declined"
    SUSPENSION_ORDERED = "suspension_ordered"
    SUSPENSION_LIFTED = "suspension_lifted"
    DEBT_SETTLED = "debt_settled"
