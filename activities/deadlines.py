"""Deadline counting with the decree overrides the database holds.

Done in an activity so the result is recorded in the history: a later calendar change never
makes a replay diverge, it reaches open cases as a `calendar_changed` signal instead.
"""

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session, select
from temporalio import activity

from db.models import CalendarOverrideRow
from domain.calendar import CalendarOverride, WorkingCalendar
from domain.tasks import COMPUTE_DEADLINE, DeadlineRequest


def load_calendar(engine: Engine) -> WorkingCalendar:
    with Session(engine) as session:
        rows = session.exec(select(CalendarOverrideRow)).all()
    return WorkingCalendar(CalendarOverride(r.day, r.working, r.note) for r in rows)


class DeadlineActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name=COMPUTE_DEADLINE)
    def compute_deadline(self, request: DeadlineRequest) -> date:
        calendar = load_calendar(self._engine)
        if request.kind == "response":
            return calendar.response_deadline(request.counted_from)
        return calendar.review_deadline(request.counted_from)
