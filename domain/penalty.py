"""Penalty (пеня) on unpaid duties and taxes, and the terms a case computes it under.

Rate: 1.25 × the National Bank base rate in force on each day, per calendar day of delay
(Customs Code, penalty on late customs payments); each day accrues on the principal unpaid
at the start of that day. The sum is rounded half-up to 0.01 KZT only when charged.

Three points the Code leaves open are `PenaltyTerms`, read from the settings and fixed into
each case with its rate tables, so that changing a setting never changes a running case or
a replay (README, "Rules and where they come from"):

* is the customs fee part of the base (`fee_in_base`);
* is the annual rate divided by 365 for every day, or by the days of that day's year
  (`day_count`: "365" or "actual");
* does penalty run while the notification's own period runs, even when it is paid within
  it (`during_notification_period`).
"""

from calendar import isleap
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.rates import DatedTable

MULTIPLIER = Decimal("1.25")
HUNDRED = Decimal(100)

DayCount = Literal["365", "actual"]
# What penalty accrues on: the duties and taxes; the fee only under `fee_in_base`, the
# penalty itself never.
BASE_KINDS = ("customs_duty", "vat", "excise")
FEE = "customs_fee"


def daily_rate(base_rate_percent: Decimal, year_days: int = 365) -> Decimal:
    return MULTIPLIER * base_rate_percent / HUNDRED / year_days


class PenaltyTerms(BaseModel):
    """How a case reads the open questions of the penalty rule; immutable, recorded once."""

    model_config = ConfigDict(frozen=True)

    fee_in_base: bool
    day_count: DayCount
    during_notification_period: bool

    @property
    def base_kinds(self) -> frozenset[str]:
        """The charges penalty accrues on (the payment kinds that reduce its principal)."""
        return frozenset((*BASE_KINDS, FEE) if self.fee_in_base else BASE_KINDS)

    def base(self, figures: object) -> Decimal:
        """The penalty base of `figures` (charges or totals, which name the kinds alike)."""
        return sum((getattr(figures, kind) for kind in self.base_kinds), Decimal(0))

    def year_days(self, day: date) -> int:
        if self.day_count == "actual" and isleap(day.year):
            return 366
        return 365

    def accrue(
        self, principal: Decimal, first_day: date, last_day: date, base_rates: DatedTable
    ) -> Decimal:
        """Penalty on a constant `principal` for every day in [first_day, last_day],
        unrounded: one segment per base rate (and, counting actual days, per year)."""
        if principal <= 0 or last_day < first_day:
            return Decimal(0)
        breaks = set(base_rates.changes_between(first_day, last_day))
        if self.day_count == "actual":
            breaks |= {date(y, 1, 1) for y in range(first_day.year + 1, last_day.year + 1)}
        total = Decimal(0)
        segment_start = first_day
        for change in [*sorted(breaks), last_day + timedelta(1)]:
            days = (change - segment_start).days
            rate = daily_rate(base_rates.on(segment_start), self.year_days(segment_start))
            total += principal * rate * days
            segment_start = change
        return total


# What a case recorded before its terms were recorded ran under (and what its history
# without them means): the fee out of the base, 365 days, no penalty within the period.
UNRECORDED = PenaltyTerms(fee_in_base=False, day_count="365", during_notification_period=False)
