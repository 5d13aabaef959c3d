"""Decree overrides of the working-day calendar, and telling open cases to recount."""

from datetime import date
from typing import Annotated

from fastapi import APIRouter
from fastapi.concurrency import run_in_threadpool
from pydantic import StringConstraints
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from api.auth import ROLES, Principal
from api.cases import CaseGateway
from api.deps import Db, Gateway, allow
from api.errors import ApiError
from api.schemas import EdgeInput
from db.models import AuditRow, CalendarOverrideRow
from domain.lifecycle import AuditStatus
from workflows.cameral_audit import CameralAudit

router = APIRouter(prefix="/calendar")
_COUNTING = (str(AuditStatus.AWAITING_RESPONSE), str(AuditStatus.UNDER_REVIEW))


class OverrideIn(EdgeInput):
    working: bool
    note: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class Override(OverrideIn):
    day: date


class OverrideSaved(Override):
    cases_recounted: int


@router.get("/overrides", response_model=list[Override])
async def list_overrides(who: Annotated[Principal, allow(*ROLES)], db: Db) -> list[Override]:
    rows = await run_in_threadpool(_all_overrides, db)
    return [Override.model_validate(row, from_attributes=True) for row in rows]


@router.put("/overrides/{day}", response_model=OverrideSaved)
async def put_override(
    who: Annotated[Principal, allow("supervisor")],
    day: date,
    body: OverrideIn,
    db: Db,
    cases: Gateway,
) -> OverrideSaved:
    """Record a decree (e.g. a day off moved by the government) and recount open deadlines."""
    open_cases = await run_in_threadpool(_save, db, day, body)
    return OverrideSaved(
        day=day, **body.model_dump(), cases_recounted=await _recount(cases, open_cases)
    )


@router.delete("/overrides/{day}", response_model=OverrideSaved)
async def delete_override(
    who: Annotated[Principal, allow("supervisor")], day: date, db: Db, cases: Gateway
) -> OverrideSaved:
    removed, open_cases = await run_in_threadpool(_delete, db, day)
    if removed is None:
        raise ApiError(404, "not_found", f"no calendar override for {day}")
    return OverrideSaved(
        day=day,
        working=removed.working,
        note=removed.note,
        cases_recounted=await _recount(cases, open_cases),
    )


async def _recount(cases: CaseGateway, audit_ids: list[str]) -> int:
    """Signal every running case. Temporal's visibility knows each running workflow, even
    one still serving its notice; the read model's open rows cover a case started a moment
    ago that visibility has not indexed yet."""
    recounted = 0
    for audit_id in sorted(set(audit_ids) | await cases.running_case_ids()):
        try:
            await cases.signal(audit_id, CameralAudit.calendar_changed)
        except ApiError:
            continue  # closed since the listing was read: nothing left to recount
        recounted += 1
    return recounted


def _all_overrides(db: Engine) -> list[CalendarOverrideRow]:
    with Session(db) as session:
        return list(
            session.exec(select(CalendarOverrideRow).order_by(col(CalendarOverrideRow.day)))
        )


def _open_case_ids(session: Session) -> list[str]:
    query = select(AuditRow.id).where(col(AuditRow.status).in_(_COUNTING))
    return list(session.exec(query))


def _save(db: Engine, day: date, body: OverrideIn) -> list[str]:
    with Session(db) as session:
        session.merge(CalendarOverrideRow(day=day, working=body.working, note=body.note))
        session.commit()
        return _open_case_ids(session)


def _delete(db: Engine, day: date) -> tuple[CalendarOverrideRow | None, list[str]]:
    with Session(db) as session:
        row = session.get(CalendarOverrideRow, day)
        if row is None:
            return None, []
        session.delete(row)
        session.commit()
        return row, _open_case_ids(session)
