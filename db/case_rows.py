"""A case's row in the read model, written from its state value: by the projection activity
as events arrive, and by the API for the moment a case is started, so the case can be read
back at once (the activity then folds every event onto exactly that state)."""

from collections.abc import Collection
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from db.models import NO_DEADLINE, AuditRow
from domain.case import CaseSummary
from domain.case_state import CaseState
from domain.case_view import summary
from domain.lifecycle import AuditStatus


def next_deadline(snapshot: CaseSummary) -> date:
    if snapshot.status == AuditStatus.AWAITING_RESPONSE and snapshot.response_deadline:
        return snapshot.response_deadline
    if snapshot.status == AuditStatus.UNDER_REVIEW and snapshot.review_deadline:
        return snapshot.review_deadline
    return NO_DEADLINE


def projection_values(state: CaseState) -> dict[str, Any]:
    """The row of a case: listing columns from its summary, and the state value itself
    (`snapshot` column), from which every later write and the API's fallback read go on."""
    snapshot = summary(state)
    return {
        "id": snapshot.id,
        "version": snapshot.version,
        "status": str(snapshot.status),
        "customs_office": snapshot.customs_office,
        "inspector_id": snapshot.inspector_id,
        "party_bin": snapshot.party_bin,
        "party_name": snapshot.party_name,
        "issued_on": snapshot.issued_on,
        "delivered_on": snapshot.delivered_on,
        "response_deadline": snapshot.response_deadline,
        "review_deadline": snapshot.review_deadline,
        "overdue": snapshot.overdue,
        "revocation_proposed": bool(
            snapshot.after_decision and snapshot.after_decision.revocation_proposed
        ),
        "next_deadline": next_deadline(snapshot),
        "amount_due": snapshot.amount_due,
        "amount_paid": snapshot.amount_paid,
        "snapshot": state.model_dump(mode="json"),
        "updated_at": datetime.now(UTC),
    }


def insert_started(engine: Engine, state: CaseState) -> None:
    """The row of a case just started, unless its workflow has written one already."""
    with Session(engine) as session:
        if session.get(AuditRow, state.audit_id) is not None:
            return
        session.add(AuditRow(**projection_values(state)))
        try:
            session.commit()
        except IntegrityError:
            session.rollback()  # the workflow's first write won; it is at least as new


def stored_versions(engine: Engine, audit_ids: Collection[str]) -> dict[str, int]:
    """The versions of those cases' stored rows (a case with none yet is left out)."""
    with Session(engine) as session:
        rows = session.exec(
            select(AuditRow.id, AuditRow.version).where(col(AuditRow.id).in_(audit_ids))
        ).all()
    return dict(rows)
