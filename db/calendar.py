"""The working-day calendar with the decree overrides the database holds, for the deadline
activities and the pages alike.

Building `holidays.KZ` and filling in its years costs far more than reading the handful of
override rows, and every deadline counted and every page of cases needs the calendar. So the
rows are read each time (a small table) and the calendar is rebuilt only when they differ
from the ones it was built from: a decree saved through the API, by another process or
straight into the table is in the very next count, with no message between processes.
"""

from functools import lru_cache

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from db.models import CalendarOverrideRow
from domain.calendar import CalendarOverride, WorkingCalendar


def load_calendar(engine: Engine) -> WorkingCalendar:
    with Session(engine) as session:
        rows = session.exec(
            select(CalendarOverrideRow).order_by(col(CalendarOverrideRow.day))
        ).all()
    return calendar_with(tuple(CalendarOverride(r.day, r.working, r.note) for r in rows))


@lru_cache(maxsize=4)
def calendar_with(overrides: tuple[CalendarOverride, ...]) -> WorkingCalendar:
    """One calendar per set of overrides (tests and several databases may hold different
    ones at once)."""
    return WorkingCalendar(overrides)
