"""Penalty (пеня) on unpaid duties and taxes.

Rate: 1.25 × the National Bank base rate in force on each day, per calendar day of delay.
Day-count convention: the annual base rate is divided by 365 for every day, leap years
included (actual/365 fixed); each day accrues on the principal unpaid at the start of that
day. The sum is rounded half-up to 0.01 KZT only when charged.
"""

from datetime import date, timedelta
from decimal import Decimal

from domain.rates import DatedTable

MULTIPLIER = Decimal("1.25")
DAYS_PER_YEAR = Decimal(365)
HUNDRED = Decimal(100)


def daily_rate(base_rate_percent: Decimal) -> Decimal:
    return MULTIPLIER * base_rate_percent / HUNDRED / DAYS_PER_YEAR


def accrue(principal: Decimal, first_day: date, last_day: date, base_rates: DatedTable) -> Decimal:
    """Penalty on a constant `principal` for every day in [first_day, last_day], unrounded."""
    if principal <= 0 or last_day < first_day:
        return Decimal(0)
    total = Decimal(0)
    segment_start = first_day
    for change in [*base_rates.changes_between(first_day, last_day), last_day + timedelta(1)]:
        days = (change - segment_start).days
        total += principal * daily_rate(base_rates.on(segment_start)) * days
        segment_start = change
    return total
