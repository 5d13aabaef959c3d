"""Legal time: Kazakh deadlines are read on the Almaty wall clock, not in UTC."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

ALMATY = ZoneInfo("Asia/Almaty")


def local_date(instant: datetime) -> date:
    """The Almaty calendar day an aware instant falls on (the day a delivery counts for)."""
    return instant.astimezone(ALMATY).date()


def end_of_day(day: date) -> datetime:
    """The instant a deadline day ends: 24:00 Almaty, so 23:59 local is still on time."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=ALMATY)


CLOSE_OF_BUSINESS = time(18, 0)


def close_of_business(day: date) -> datetime:
    """When a step taken on its working day is taken: at the close of business, so every
    payment the treasury posts that day is counted first (the decision on silence, the
    suspension order)."""
    return datetime.combine(day, CLOSE_OF_BUSINESS, tzinfo=ALMATY)
