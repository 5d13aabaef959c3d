"""Counts behind the dashboard's charts, and the cases waiting on staff after a decision,
read from the projection like the listings."""

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.schemas import AuditSummary
from db.models import NO_DEADLINE, AuditRow
from domain.lifecycle import TERMINAL, AuditStatus

WEEKS = 8
OPEN_STATUSES = tuple(s for s in AuditStatus if s not in TERMINAL)


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    note: str = ""


def open_by_status(db: Engine, office: str | None) -> list[Bar]:
    # Only the open statuses' ranges of the office-and-status index (or, across offices, of
    # the status index) are counted: never the office's closed cases, which pile up for ever.
    query = (
        select(AuditRow.status, func.count())
        .where(col(AuditRow.status).in_([str(s) for s in OPEN_STATUSES]))
        .group_by(col(AuditRow.status))
    )
    if office is not None:
        query = query.where(AuditRow.customs_office == office)
    with Session(db) as session:
        counts = dict(session.exec(query).all())
    return [Bar(str(status), int(counts.get(str(status), 0))) for status in OPEN_STATUSES]


def deadlines_per_week(db: Engine, office: str | None, today: date) -> list[Bar]:
    """Running deadlines in each of the next weeks (Monday to Sunday), the first bar counting
    also those already passed."""
    monday = today - timedelta(days=today.weekday())
    end = monday + timedelta(weeks=WEEKS)
    query = (
        select(col(AuditRow.next_deadline), func.count())
        .where(col(AuditRow.next_deadline) < end, col(AuditRow.next_deadline) != NO_DEADLINE)
        .group_by(col(AuditRow.next_deadline))
    )
    if office is not None:
        query = query.where(AuditRow.customs_office == office)
    weeks: Counter[int] = Counter()
    with Session(db) as session:
        for day, count in session.exec(query).all():
            weeks[max((day - monday).days // 7, 0)] += int(count)
    return [
        Bar((monday + timedelta(weeks=n)).isoformat(), weeks[n], "overdue" if n == 0 else "")
        for n in range(WEEKS)
    ]


def waiting_after_decision(db: Engine, office: str | None, limit: int) -> list[AuditSummary]:
    """Cases that wait on staff after an unfulfilled decision: appeals to record the outcome
    of, and decisions flagged for revocation (a payment dated within the period posted after
    them), least recently changed first. Read through the office-and-status index and the
    flag's own index, never the office's other decided cases."""
    query = (
        select(AuditRow)
        .where(
            (col(AuditRow.status) == str(AuditStatus.APPEALED))
            | (col(AuditRow.revocation_proposed) == True)  # noqa: E712
        )
        .order_by(col(AuditRow.updated_at), col(AuditRow.id))
        .limit(limit)
    )
    if office is not None:
        query = query.where(AuditRow.customs_office == office)
    with Session(db) as session:
        rows = session.exec(query).all()
    return [
        AuditSummary.model_validate(row, from_attributes=True).model_copy(
            update={"next_deadline": None}
        )
        for row in rows
    ]
