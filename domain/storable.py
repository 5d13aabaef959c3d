"""The limits of what the case can hold: text, amounts and dates a user may send.

A value that the read model cannot store (a NUL in PostgreSQL text, an amount wider than
`Numeric(18, 2)`) would be accepted by the workflow and then fail the projection on every
retry, leaving the case invisible. So every input is held to these limits at the edge, once,
before it reaches a workflow; the same limits bound sums the case computes itself.
"""

import unicodedata
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator

from domain.refusals import refused_input
from domain.wording import N_

MAX_AMOUNT = Decimal("9999999999999999.99")  # Numeric(18, 2)
EARLIEST_DATE = date(1995, 1, 1)  # before the first Customs Code of the Republic
LATEST_DATE = date(2099, 12, 31)
_ORDINARY_CONTROLS = frozenset("\n\r\t")


class AmountTooLarge(ValueError):
    """A figure wider than the columns that hold money (18 digits, 2 after the point)."""


def text_problem(value: str) -> str | None:
    """Why `value` cannot be stored as text, or None: control characters other than line
    breaks and tabs, and lone surrogates (which no UTF-8 column can hold)."""
    for char in value:
        if char in _ORDINARY_CONTROLS:
            continue
        category = unicodedata.category(char)
        if category == "Cc":
            return f"contains the control character U+{ord(char):04X}"
        if category == "Cs":
            return f"contains a lone surrogate U+{ord(char):04X}"
    return None


def storable_text(value: str) -> str:
    problem = text_problem(value)
    if problem:
        raise ValueError(f"text {problem}")
    return value


def ascii_number(value: object) -> object:
    """Decimal('٥') and Decimal('５') are accepted by Python; no treasury or form sends them,
    and a figure that looks different from what is stored invites disputes."""
    if isinstance(value, str) and not value.isascii():
        raise ValueError(N_("numbers are written with ASCII digits 0-9"))
    return value


def within_amount_limit(value: Decimal) -> Decimal:
    if abs(value) > MAX_AMOUNT:
        raise AmountTooLarge(f"{value} exceeds the largest amount that can be held ({MAX_AMOUNT})")
    return value


def plausible_date(value: date) -> date:
    if not EARLIEST_DATE <= value <= LATEST_DATE:
        raise refused_input(
            "implausible_date", day=value, earliest=EARLIEST_DATE, latest=LATEST_DATE
        )
    return value


StorableText = Annotated[str, AfterValidator(storable_text)]
BusinessDate = Annotated[date, AfterValidator(plausible_date)]
