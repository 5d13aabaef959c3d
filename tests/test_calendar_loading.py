"""The calendar the deadline activities and the pages share: built once, yet never stale
after a decree is saved, whoever saves it."""

from datetime import date

from sqlalchemy.engine import Engine
from sqlmodel import Session

from db.calendar import load_calendar
from db.models import CalendarOverrideRow

MONDAY = date(2026, 4, 6)


def test_calendar_is_reused_until_an_override_changes(engine: Engine) -> None:
    first = load_calendar(engine)
    assert load_calendar(engine) is first
    assert first.is_working_day(MONDAY)

    with Session(engine) as session:
        session.add(CalendarOverrideRow(day=MONDAY, working=False, note="decree"))
        session.commit()
    with_decree = load_calendar(engine)
    assert not with_decree.is_working_day(MONDAY)
    assert load_calendar(engine) is with_decree

    with Session(engine) as session:
        row = session.get(CalendarOverrideRow, MONDAY)
        assert row is not None
        session.delete(row)
        session.commit()
    assert load_calendar(engine).is_working_day(MONDAY)
