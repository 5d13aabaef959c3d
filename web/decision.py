"""What both pages show of a decision recognising the notification as unfulfilled, and
whether the party may appeal it now (asked of the case's own rules, as staff actions are)."""

from dataclasses import dataclass
from datetime import UTC, datetime

from db.models import AuditRow
from domain.case import CaseEvent, CaseSnapshot
from domain.case_commands import FileAppeal
from domain.case_rules import decide
from domain.case_state import CaseState
from domain.consequences import AfterDecision, Appeal
from domain.lifecycle import EventKind
from domain.refusals import Refused


@dataclass(frozen=True)
class DecisionFacts:
    """The decision as the case shows it, with what only its events tell: when the appeal
    was decided and a revocation taken or declined, and why."""

    after: AfterDecision | None
    accepted: list[str]
    rejected: list[str]
    appeal_decided: CaseEvent | None
    revoked: CaseEvent | None
    kept: CaseEvent | None


def decision_facts(case: CaseSnapshot) -> DecisionFacts | None:
    """None until a decision exists or the explanation was accepted in part."""
    if case.after_decision is None and not case.accepted_declarations:
        return None
    accepted = list(case.accepted_declarations)
    return DecisionFacts(
        after=case.after_decision,
        accepted=accepted,
        rejected=[d for d in case.declarations if accepted and d not in accepted],
        appeal_decided=_last(case, EventKind.APPEAL_DECIDED),
        revoked=_last(case, EventKind.DECISION_REVOKED),
        kept=_last(case, EventKind.REVOCATION_DECLINED),
    )


def _last(case: CaseSnapshot, kind: EventKind) -> CaseEvent | None:
    return next((e for e in reversed(case.events) if e.kind == kind), None)


_PROBE = Appeal(authority="higher_authority", grounds="-", documents=["-"])


def may_appeal(row: AuditRow) -> bool:
    """Whether the case would take an appeal now (the stored state, which the page has made
    catch up with the live case): a refusal of the example's own values still means yes."""
    state = CaseState.model_validate(row.snapshot)
    try:
        decide(state, FileAppeal(_PROBE), datetime.now(UTC))
    except Refused as refusal:
        return refusal.code == "invalid_input"
    return True
