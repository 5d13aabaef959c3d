"""Deadline arithmetic in Kazakh working days (DESIGN.md §2), checked against dates counted
by hand on the official calendar."""

from datetime import date, datetime, timedelta

import pytest

from domain.calendar import (
    CalendarOverride,
    WorkingCalendar,
    response_deadline,
    review_deadline,
)
from domain.clock import ALMATY, end_of_day, local_date


@pytest.mark.parametrize(
    ("delivered_on", "deadline", "why"),
    [
        (date(2026, 3, 5), date(2026, 4, 8), "9 March (8 March on Sunday) and Nauryz 23-25 March"),
        (date(2025, 12, 24), date(2026, 1, 26), "New Year 1-2 Jan and Orthodox Christmas 7 Jan"),
        (date(2026, 11, 2), date(2026, 11, 30), "plain weeks, no holidays"),
        (date(2026, 12, 4), date(2027, 1, 6), "16 Dec, New Year, 2 Jan Saturday moved to 4 Jan"),
    ],
)
def test_response_deadline(delivered_on: date, deadline: date, why: str) -> None:
    assert response_deadline(delivered_on) == deadline, why


@pytest.mark.parametrize(
    ("received_on", "deadline", "why"),
    [
        (
            date(2024, 12, 30),
            date(2025, 1, 16),
            "3 Jan 2025 day off moved from Sunday 5 Jan, which was a working day",
        ),
        (date(2026, 11, 20), date(2026, 12, 4), "received on a Friday: counting starts Monday"),
        (date(2026, 11, 21), date(2026, 12, 4), "received on a Saturday"),
        (date(2026, 3, 19), date(2026, 4, 7), "Nauryz inside the period"),
    ],
)
def test_review_deadline(received_on: date, deadline: date, why: str) -> None:
    assert review_deadline(received_on) == deadline, why


def test_counting_starts_the_day_after_the_event() -> None:
    # Delivered on a working Monday: that Monday is not day one.
    assert WorkingCalendar().nth_working_day_after(date(2026, 11, 2), 1) == date(2026, 11, 3)


def test_decree_overrides_win_over_the_package() -> None:
    extra_day_off = WorkingCalendar([CalendarOverride(date(2026, 4, 6), working=False)])
    assert extra_day_off.response_deadline(date(2026, 3, 5)) == date(2026, 4, 9)
    working_saturday = WorkingCalendar([CalendarOverride(date(2026, 3, 28), working=True)])
    assert working_saturday.response_deadline(date(2026, 3, 5)) == date(2026, 4, 7)
    holiday_cancelled = WorkingCalendar([CalendarOverride(date(2026, 3, 25), working=True)])
    assert holiday_cancelled.is_working_day(date(2026, 3, 25))
    assert not WorkingCalendar().is_working_day(date(2026, 3, 25))


def test_a_deadline_ends_at_midnight_almaty() -> None:
    deadline = date(2026, 4, 8)
    last_minute = datetime(2026, 4, 8, 23, 59, tzinfo=ALMATY)
    assert last_minute < end_of_day(deadline)
    assert end_of_day(deadline) == datetime(2026, 4, 9, tzinfo=ALMATY)
    # 18:59 UTC is 23:59 in Almaty (UTC+5): still the deadline day there.
    assert local_date(last_minute.astimezone(ALMATY).replace(tzinfo=ALMATY)) == deadline
    assert local_date(end_of_day(deadline) - timedelta(seconds=1)) == deadline
    assert end_of_day(deadline).utcoffset() == timedelta(hours=5)


def test_a_period_has_at_least_one_day() -> None:
    with pytest.raises(ValueError):
        WorkingCalendar().nth_working_day_after(date(2026, 1, 5), 0)


def test_an_override_wins_both_ways_even_over_a_transferred_working_sunday() -> None:
    working_sunday = date(2025, 1, 5)  # made a working day by the 2025 transfer decree
    assert WorkingCalendar().is_working_day(working_sunday)
    cancelled = WorkingCalendar([CalendarOverride(working_sunday, working=False)])
    assert not cancelled.is_working_day(working_sunday)
    holiday = date(2025, 3, 21)  # Nauryz
    assert not WorkingCalendar().is_working_day(holiday)
    assert WorkingCalendar([CalendarOverride(holiday, working=True)]).is_working_day(holiday)
    saturday = date(2025, 3, 1)
    assert WorkingCalendar([CalendarOverride(saturday, working=True)]).is_working_day(saturday)


def test_a_decision_is_dated_on_the_day_itself_or_the_next_working_day() -> None:
    calendar = WorkingCalendar()
    assert calendar.working_day_on_or_after(date(2026, 3, 5)) == date(2026, 3, 5)  # Thursday
    assert calendar.working_day_on_or_after(date(2026, 4, 11)) == date(2026, 4, 13)  # Saturday
    # 8 March 2026 is a Sunday: the holiday moves to Monday 9 March.
    assert calendar.working_day_on_or_after(date(2026, 3, 7)) == date(2026, 3, 10)
    # Nauryz 21-23 March 2026 (Saturday to Monday), its weekend days moved to 24 and 25 March.
    assert calendar.working_day_on_or_after(date(2026, 3, 21)) == date(2026, 3, 26)
    assert calendar.working_day_on_or_after(date(2026, 12, 16)) == date(2026, 12, 17)
