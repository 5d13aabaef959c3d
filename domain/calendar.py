"""Working days in Kazakhstan and the Art. 417 deadlines counted in them.

`holidays.KZ` knows the public holidays, the days off transferred by decree and the weekend
days a decree made working days. A decree newer than the installed package is entered as an
override (kept in the database by the application), which wins over the package.
"""

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import holidays

RESPONSE_WORKING_DAYS = 20
REVIEW_WORKING_DAYS = 10
INSPECTION_WORKING_DAYS = 5


@dataclass(frozen=True)
class CalendarOverride:
    """One decree the package may not know yet: `day` is a day off or a working day."""

    day: date
    working: bool
    note: str = ""


class WorkingCalendar:
    """Kazakh working-day arithmetic with decree overrides applied on top of `holidays.KZ`,
    per day and in both directions: an override makes its day a working day or a day off
    whatever the package says (Art. 5 of the Labour Code lets the Government move days off
    by decree, and a later decree can undo an earlier one).

    One calendar may be shared by threads (it is cached by the loader in db/): `holidays`
    fills in a year's days on its first lookup, so lookups take a lock and no thread reads a
    year half filled in."""

    def __init__(self, overrides: Iterable[CalendarOverride] = ()) -> None:
        overrides = list(overrides)
        self._lock = threading.Lock()
        self._days = holidays.country_holidays("KZ", years={o.day.year for o in overrides})
        for override in overrides:
            if override.working:
                if override.day in self._days:
                    self._days.pop(override.day)
                self._days.weekend_workdays.add(override.day)
            else:
                # Also undoes a weekend day the package says a decree made a working day.
                self._days.weekend_workdays.discard(override.day)
                self._days[override.day] = override.note or "Day off by decree"

    def is_working_day(self, day: date) -> bool:
        with self._lock:
            return bool(self._days.is_working_day(day))

    def nth_working_day_after(self, event_day: date, n: int) -> date:
        """The n-th working day counted from the day after `event_day` (n >= 1)."""
        if n < 1:
            raise ValueError("a legal period has at least one working day")
        with self._lock:
            result: date = self._days.get_nth_working_day(event_day, n)
        return result

    def working_day_on_or_after(self, day: date) -> date:
        """The day itself if it is a working day, else the next one: the date a decision
        taken on a day off is issued under (decisions are dated on working days)."""
        return day if self.is_working_day(day) else self.nth_working_day_after(day, 1)

    def working_days_before(self, deadline: date, n: int) -> date:
        """The working day `n` working days before `deadline` (a reminder's day)."""
        with self._lock:
            result: date = self._days.get_nth_working_day(deadline, -n)
        return result

    def response_deadline(self, delivered_on: date) -> date:
        return self.nth_working_day_after(delivered_on, RESPONSE_WORKING_DAYS)

    def review_deadline(self, received_on: date) -> date:
        return self.nth_working_day_after(received_on, REVIEW_WORKING_DAYS)


def response_deadline(delivered_on: date) -> date:
    """Last day to pay or explain: the 20th working day after delivery of the notification."""
    return WorkingCalendar().response_deadline(delivered_on)


def review_deadline(received_on: date) -> date:
    """Last day for customs to decide: the 10th working day after the explanation arrived."""
    return WorkingCalendar().review_deadline(received_on)
