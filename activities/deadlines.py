"""Deadline counting with the decree overrides the database holds.

Done in an activity so the result is recorded in the history: a later calendar change never
makes a replay diverge, it reaches open cases as a `calendar_changed` signal instead.
"""

from datetime import date

from sqlalchemy.engine import Engine
from temporalio import activity

from db.calendar import load_calendar
from domain.calendar import (
    INSPECTION_WORKING_DAYS,
    RESPONSE_WORKING_DAYS,
    REVIEW_WORKING_DAYS,
)
from domain.consequences import PERIODS
from domain.tasks import (
    COMPUTE_DEADLINE,
    COMPUTE_REMINDERS,
    DeadlineKind,
    DeadlineRequest,
    ReminderDay,
)

_PERIODS: dict[DeadlineKind, int] = {
    "response": RESPONSE_WORKING_DAYS,
    "review": REVIEW_WORKING_DAYS,
    # after an unfulfilled decision: the rule table's periods
    **{kind: PERIODS[kind].working_days for kind in ("appeal", "suspension", "lifting")},
    "inspection": INSPECTION_WORKING_DAYS,
    "documents": INSPECTION_WORKING_DAYS,
}


class DeadlineActivities:
    def __init__(
        self, engine: Engine, reminder_working_days: list[int], posting_working_days: int = 1
    ) -> None:
        self._engine = engine
        self._reminder_working_days = [n for n in reminder_working_days if n > 0]
        self._periods: dict[DeadlineKind, int] = {
            **_PERIODS,
            # The day the decision on silence is taken: after the treasury's posting lag,
            # always a working day (at least the first one after the deadline).
            "decision": max(posting_working_days, 1),
        }

    @activity.defn(name=COMPUTE_DEADLINE)
    def compute_deadline(self, request: DeadlineRequest) -> date:
        calendar = load_calendar(self._engine)
        if request.kind == "dated":
            return calendar.working_day_on_or_after(request.counted_from)
        days = request.working_days or self._periods[request.kind]
        return calendar.nth_working_day_after(request.counted_from, days)

    @activity.defn(name=COMPUTE_REMINDERS)
    def compute_reminder_days(self, deadline: date) -> list[ReminderDay]:
        """Days to remind the party on, earliest first, per REMINDER_WORKING_DAYS."""
        calendar = load_calendar(self._engine)
        return [
            ReminderDay(day=calendar.working_days_before(deadline, n), working_days_left=n)
            for n in sorted(set(self._reminder_working_days), reverse=True)
        ]
