"""Reads of the projection: listings never touch Temporal visibility."""

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.schemas import AuditPage, AuditSummary
from db.models import AuditRow
from domain.case import CaseSnapshot
from domain.lifecycle import AuditStatus


def list_audits(
    engine: Engine,
    *,
    status: AuditStatus | None,
    party_bin: str | None,
    inspector_id: str | None,
    customs_office: str | None,
    overdue: bool | None,
    limit: int,
    cursor: str | None,
) -> AuditPage:
    query = select(AuditRow).order_by(col(AuditRow.id)).limit(limit + 1)
    if status is not None:
        query = query.where(AuditRow.status == str(status))
    if party_bin is not None:
        query = query.where(AuditRow.party_bin == party_bin)
    if inspector_id is not None:
        query = query.where(AuditRow.inspector_id == inspector_id)
    if customs_office is not None:
        query = query.where(AuditRow.customs_office == customs_office)
    if overdue is not None:
        query = query.where(AuditRow.overdue == overdue)
    if cursor is not None:
        query = query.where(col(AuditRow.id) > cursor)
    with Session(engine) as session:
        rows = session.exec(query).all()
    items = [AuditSummary.model_validate(row, from_attributes=True) for row in rows[:limit]]
    next_cursor = items[-1].id if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def stored_snapshot(engine: Engine, audit_id: str) -> CaseSnapshot | None:
    with Session(engine) as session:
        row = session.get(AuditRow, audit_id)
    return CaseSnapshot.model_validate(row.snapshot) if row else None
