"""Reads of the projection: listings never touch Temporal visibility.

Keyset pagination: the cursor carries the sort key of the last row, so page 500 costs what
page 1 costs (no OFFSET), and rows inserted meanwhile neither repeat nor vanish.
"""

import base64
import json
from datetime import date
from typing import Literal

from sqlalchemy import and_, or_
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.errors import ApiError
from api.schemas import AuditPage, AuditSummary
from db.models import NO_DEADLINE, AuditRow, TrailRow
from domain.case import CaseEvent, CaseSnapshot
from domain.case_state import CaseState
from domain.case_view import snapshot
from domain.lifecycle import TERMINAL, AuditStatus

Sort = Literal["deadline", "id"]


def list_audits(
    engine: Engine,
    *,
    status: AuditStatus | None = None,
    party_bin: str | None = None,
    inspector_id: str | None = None,
    customs_office: str | None = None,
    overdue: bool | None = None,
    deadline_from: date | None = None,
    deadline_to: date | None = None,
    open_only: bool = False,
    sort: Sort = "deadline",
    limit: int = 50,
    cursor: str | None = None,
) -> AuditPage:
    query = select(AuditRow)
    for column, value in (
        (AuditRow.status, str(status) if status else None),
        (AuditRow.party_bin, party_bin),
        (AuditRow.inspector_id, inspector_id),
        (AuditRow.customs_office, customs_office),
        (AuditRow.overdue, overdue),
    ):
        if value is not None:
            query = query.where(col(column) == value)
    if deadline_from is not None:
        query = query.where(col(AuditRow.next_deadline) >= deadline_from)
    if deadline_to is not None:
        query = query.where(col(AuditRow.next_deadline) <= deadline_to)
    if open_only:
        query = query.where(col(AuditRow.status).not_in([str(s) for s in TERMINAL]))
    if sort == "deadline":
        query = query.order_by(col(AuditRow.next_deadline), col(AuditRow.id))
        if cursor is not None:
            last_deadline, last_id = _decode(cursor)
            query = query.where(
                or_(
                    col(AuditRow.next_deadline) > last_deadline,
                    and_(col(AuditRow.next_deadline) == last_deadline, col(AuditRow.id) > last_id),
                )
            )
    else:
        query = query.order_by(col(AuditRow.id))
        if cursor is not None:
            query = query.where(col(AuditRow.id) > _decode(cursor)[1])
    with Session(engine) as session:
        rows = session.exec(query.limit(limit + 1)).all()
    page = rows[:limit]
    items = [_summary(row) for row in page]
    next_cursor = _encode(page[-1]) if len(rows) > limit else None
    return AuditPage(items=items, next_cursor=next_cursor)


def _summary(row: AuditRow) -> AuditSummary:
    summary = AuditSummary.model_validate(row, from_attributes=True)
    if row.next_deadline == NO_DEADLINE:
        summary.next_deadline = None
    return summary


def _encode(row: AuditRow) -> str:
    raw = json.dumps([row.next_deadline.isoformat(), row.id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[date, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        deadline, audit_id = json.loads(base64.urlsafe_b64decode(padded))
        return date.fromisoformat(deadline), str(audit_id)
    except (ValueError, TypeError) as error:
        raise ApiError(
            422, "invalid", "cursor is not one this API issued; start without it", "cursor"
        ) from error


def stored_snapshot(engine: Engine, audit_id: str) -> CaseSnapshot | None:
    """The case as last written: its stored state value and its events from the trail,
    where each event was written once, under its place in the history."""
    with Session(engine) as session:
        row = session.get(AuditRow, audit_id)
        if row is None:
            return None
        events = _stored_events(session, audit_id)
    return snapshot(CaseState.model_validate(row.snapshot), events)


def with_earlier_events(engine: Engine, case: CaseSnapshot) -> CaseSnapshot:
    """The live case with its whole list of events: a case that continued as new holds only
    the events since, and every earlier one was stored before its run handed over."""
    if case.events_from == 0:
        return case
    with Session(engine) as session:
        earlier = _stored_events(session, case.id, limit=case.events_from)
    return case.model_copy(update={"events": [*earlier, *case.events], "events_from": 0})


def _stored_events(session: Session, audit_id: str, limit: int | None = None) -> list[CaseEvent]:
    """The case's events in their order (each is stored once, after the ones before it, so
    the first N rows are the events 0 to N-1)."""
    rows = session.exec(
        select(TrailRow)
        .where(TrailRow.audit_id == audit_id, col(TrailRow.source).startswith("event:"))
        .order_by(col(TrailRow.seq))
        .limit(limit)
    ).all()
    return [CaseEvent(at=t.at, kind=t.action, details=t.details) for t in rows]
