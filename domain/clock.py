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
