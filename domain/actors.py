"""Who did what: the actor and role a case event is attributed to in the trail."""

from domain.case import CaseEvent, CaseSummary
from domain.lifecycle import EventKind

SYSTEM = ("system", "system")


def attribute(event: CaseEvent, case: CaseSummary) -> tuple[str, str]:
    details = event.details
    if event.kind == EventKind.STARTED:
        return str(details.get("inspector_id", case.inspector_id)), "inspector"
    if event.kind in (EventKind.EXPLANATION_RECEIVED, EventKind.DOCUMENTS_PROVIDED):
        return case.party_bin, "party"
    if event.kind in (
        EventKind.PAYMENT_RECEIVED,
        EventKind.PAYMENT_DUPLICATE,
        EventKind.PAYMENT_AFTER_CLOSE,
    ):
        return "treasury-feed", "treasury"
    who = details.get("decided_by") or details.get("cancelled_by") or details.get("by")
    if isinstance(who, str) and who != "system":
        return who, "inspector"
    if event.kind in (EventKind.MAIL_RETURNED, EventKind.DOCUMENTS_REQUESTED):
        return case.inspector_id, "inspector"
    if event.kind == EventKind.DELIVERED and details.get("channel") != "cabinet":
        return case.inspector_id, "inspector"
    return SYSTEM
