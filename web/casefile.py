"""What a case page shows besides the live case: its documents with their delivery record,
the party's uploads, the trail, and the running deadline counted in working days."""

import asyncio
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import Principal
from api.deps import checked_audit_id, visible_case
from api.errors import ApiError
from api.routes import get_case
from api.schemas import CaseView
from db import trail
from db.calendar import load_calendar
from db.models import (
    AuditRow,
    CabinetNoticeRow,
    DeliveryAttemptRow,
    DocumentRow,
    EvidenceRow,
    TrailRow,
)
from db.trail import Verdict
from domain.calendar import WorkingCalendar
from domain.clock import local_date
from domain.consequences import AfterDecision
from domain.lifecycle import TERMINAL, AuditStatus, EventKind
from web.i18n import N_

DUE_SOON_WORKING_DAYS = 3
CATCH_UP_TRIES = 30


@dataclass
class IssuedDocument:
    row: DocumentRow
    placed_at: datetime | None
    attempts: list[DeliveryAttemptRow]
    opened_at: datetime | None


@dataclass
class CaseFile:
    row: AuditRow
    case: CaseView
    issued: list[IssuedDocument]
    uploads: list[EvidenceRow]
    trail: list[TrailRow] = field(default_factory=list)
    verdict: Verdict | None = None

    @property
    def explanation(self) -> dict[str, Any] | None:
        """The explanation as the case received it (its event's details), if there is one."""
        received = [e for e in self.case.events if e.kind == EventKind.EXPLANATION_RECEIVED]
        return received[-1].details if received else None


@dataclass(frozen=True)
class Deadline:
    day: date
    working_days_left: int
    overdue: bool

    @property
    def due_soon(self) -> bool:
        return not self.overdue and self.working_days_left <= DUE_SOON_WORKING_DAYS


def today() -> date:
    return local_date(datetime.now(UTC))


def running_deadline(
    calendar: WorkingCalendar, status: str, day: date | None, overdue: bool, on: date
) -> Deadline | None:
    """The deadline the case runs against and how many working days remain of it, counting
    today when it is a working day (the deadline ends at 24:00 Almaty time)."""
    if day is None or AuditStatus(status) in TERMINAL:
        return None
    return working_days_to(calendar, day, overdue, on)


def working_days_to(calendar: WorkingCalendar, day: date, overdue: bool, on: date) -> Deadline:
    left, cursor = 0, on
    while cursor <= day:
        left += calendar.is_working_day(cursor)
        cursor += timedelta(days=1)
    return Deadline(day=day, working_days_left=left, overdue=overdue or day < on)


async def case_deadline(request: Request, case: CaseView) -> Deadline | None:
    """The deadline a case page shows: the response's while awaiting it, the review's while
    under review, and after an unfulfilled decision the appeal's while it runs; none once
    the case waits on nobody's period (an appeal being decided, say)."""
    calendar = await run_in_threadpool(load_calendar, request.app.state.engine)
    after = case.after_decision
    if case.status == AuditStatus.AWAITING_RESPONSE:
        running = case.response_deadline
    elif case.status == AuditStatus.UNDER_REVIEW:
        running = case.review_deadline
    elif case.status == AuditStatus.UNFULFILLED and after and appeal_period_runs(after):
        assert after.appeal_deadline is not None
        return working_days_to(calendar, after.appeal_deadline, False, today())
    else:
        return None
    return running_deadline(calendar, case.status, running, case.overdue, today())


def appeal_period_runs(after: AfterDecision) -> bool:
    """The appeal period is counted and open: no appeal yet and the decision not final."""
    return after.appeal_deadline is not None and after.appeal is None and after.final_on is None


def row_for(db: Engine, who: Principal, audit_id: str) -> AuditRow:
    """The case's row if this user may see it; 404 alike for unknown and foreign cases."""
    return visible_case(checked_audit_id(audit_id), who, db)


async def open_case(request: Request, who: Principal, audit_id: str, *, staff: bool) -> CaseFile:
    db: Engine = request.app.state.engine
    row = await run_in_threadpool(row_for, db, who, audit_id)
    case = await get_case(
        request=request,
        who=who,
        row=row,
        audit_id=row.id,
        cases=request.app.state.gateway,
        db=db,
        rates=request.app.state.tables,
        terms=request.app.state.settings.penalty_terms,
    )
    for _ in range(CATCH_UP_TRIES):
        if row.version >= case.version:
            break
        # The stored state trails the live case by one activity; what the page offers
        # must follow the user's own last change.
        await asyncio.sleep(0.1)
        row = await run_in_threadpool(row_for, db, who, audit_id)
    issued, uploads = await run_in_threadpool(_papers, db, row.id, who.bin)
    result = CaseFile(row=row, case=case, issued=issued, uploads=uploads)
    if staff:
        result.trail = await run_in_threadpool(trail.read, db, row.id)
        result.verdict = await run_in_threadpool(trail.verify, db, row.id)
    return result


def _papers(
    db: Engine, audit_id: str, party_bin: str | None
) -> tuple[list[IssuedDocument], list[EvidenceRow]]:
    with Session(db) as session:
        documents = session.exec(
            select(DocumentRow)
            .where(DocumentRow.audit_id == audit_id)
            .order_by(col(DocumentRow.created_at), col(DocumentRow.number))
        ).all()
        placed = {
            r.document_id: r.published_at
            for r in session.exec(
                select(CabinetNoticeRow).where(CabinetNoticeRow.audit_id == audit_id)
            )
        }
        attempts = session.exec(
            select(DeliveryAttemptRow)
            .where(DeliveryAttemptRow.audit_id == audit_id)
            .order_by(col(DeliveryAttemptRow.at))
        ).all()
        opened = {
            r.details.get("document_id"): r.at
            for r in session.exec(
                select(TrailRow).where(
                    TrailRow.audit_id == audit_id,
                    TrailRow.action == "document_opened",
                )
            )
        }
        uploads = session.exec(
            select(EvidenceRow)
            .where(EvidenceRow.audit_id == audit_id)
            .order_by(col(EvidenceRow.received_at))
        ).all()
    issued = [
        IssuedDocument(
            row=d,
            placed_at=placed.get(d.id),
            attempts=[a for a in attempts if a.document_number == d.number],
            opened_at=opened.get(d.id),
        )
        for d in documents
    ]
    return issued, list(uploads)


def issued_document(db: Engine, audit_id: str, document_id: str) -> DocumentRow:
    with Session(db) as session:
        row = session.get(DocumentRow, document_id)
    if row is None or row.audit_id != audit_id:
        raise ApiError(404, "not_found", N_("the case has no such document"))
    return row


def uploaded_evidence(db: Engine, audit_id: str, document_id: str) -> EvidenceRow | None:
    with Session(db) as session:
        row = session.get(EvidenceRow, document_id)
    return row if row is not None and row.audit_id == audit_id else None


def record_read(
    db: Engine, who: Principal, audit_id: str, document_id: str, sha256: str, *, uploaded: bool
) -> None:
    """The party's first opening of an issued document, and every staff read of an upload,
    go into the trail (the party's once: its source names the document)."""
    if who.role == "party" and not uploaded:
        action, source = "document_opened", f"opened:{document_id}"
    elif who.is_staff and uploaded:
        action, source = "document_read", f"read:{document_id}:{uuid.uuid4()}"
    else:
        return
    entry = trail.Entry(
        action=action,
        actor=who.sub,
        role=who.role,
        details={"document_id": document_id, "sha256": sha256},
        source=source,
    )
    trail.append(db, audit_id, [entry])
