"""Dated tables (VAT rate, MCI, National Bank base rate): a figure is the one in force on a day.

The tables themselves are data (db/reference/rates.toml), handed to the arithmetic as a
`RateTables` value so that the computation stays pure and testable with any table.
"""

from bisect import bisect_right
from datetime import date
from decimal import Decimal

from pydantic import BaseModel, field_validator


class DatedValue(BaseModel):
    since: date
    value: Decimal


class DatedTable(BaseModel):
    name: str
    rows: list[DatedValue]

    @field_validator("rows")
    @classmethod
    def _ordered(cls, rows: list[DatedValue]) -> list[DatedValue]:
        if not rows:
            raise ValueError("a dated table needs at least one row")
        days = [r.since for r in rows]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("rows must be in strictly increasing `since` order")
        return rows

    def on(self, day: date) -> Decimal:
        """The value in force on `day`; a day before the first row is an error, not a guess."""
        index = bisect_right([r.since for r in self.rows], day) - 1
        if index < 0:
            first = self.rows[0].since
            raise LookupError(f"{self.name} is not known for {day} (the table starts {first})")
        return self.rows[index].value

    def with_rows(self, added: list[DatedValue]) -> "DatedTable":
        """This table with `added` merged in by date. A row already present with the same
        value is ignored; one that would change a past figure is refused, because old
        declarations must keep computing as they did."""
        rows = {row.since: row for row in self.rows}
        for row in added:
            known = rows.get(row.since)
            if known is not None and known.value != row.value:
                raise ValueError(
                    f"{self.name} on {row.since} is {known.value}; a published figure is never "
                    f"changed (got {row.value})"
                )
            rows[row.since] = row
        return DatedTable(name=self.name, rows=sorted(rows.values(), key=lambda r: r.since))

    def from_day(self, day: date) -> "DatedTable":
        """The rows that give a figure for `day` or later: the one in force on `day` and those
        after it. What a case keeps of the base-rate table (its penalty never runs before its
        notification), so its history does not carry every rate since the table began."""
        index = max(bisect_right([r.since for r in self.rows], day) - 1, 0)
        return DatedTable(name=self.name, rows=self.rows[index:])

    def days_since_last_change(self, today: date) -> int:
        return (today - self.rows[-1].since).days

    def changes_between(self, first: date, last: date) -> list[date]:
        """Days within [first, last] on which a new value takes effect."""
        return [r.since for r in self.rows if first < r.since <= last]


class RateTables(BaseModel):
    vat: DatedTable
    mci: DatedTable
    base_rate: DatedTable
