"""What a party owes on a given day, and what its payments cover.

Payments name a kind (customs_duty, vat, excise, customs_fee, penalty) as a treasury
payment's budget code does; a payment without a kind is applied in the order duty, VAT,
excise, fee, penalty. An excess stays where it was paid and is shown as a credit.

A notification paid within its deadline owes no further penalty, unless the case's terms
say penalty runs during the notification's period too. Past the deadline (or under those
terms), penalty runs from the notification date to the day of payment inclusive on the
penalty base still unpaid that day (a payment reduces the principal from the next day).
"""

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Literal, Protocol

from pydantic import BaseModel

from domain.charges import Charges
from domain.money import to_tiyn
from domain.penalty import PenaltyTerms
from domain.rates import DatedTable

PaymentKind = Literal["customs_duty", "vat", "excise", "customs_fee", "penalty"]
ORDER: tuple[PaymentKind, ...] = ("customs_duty", "vat", "excise", "customs_fee", "penalty")
ZERO = Decimal(0)


class Paid(Protocol):
    """A payment as settlement sees it; the case's `Payment` has this shape."""

    @property
    def amount(self) -> Decimal: ...

    @property
    def paid_at(self) -> date: ...

    @property
    def kind(self) -> PaymentKind | None: ...


class KindBalance(BaseModel):
    kind: PaymentKind
    owed: Decimal
    paid: Decimal
    outstanding: Decimal


class Settlement(BaseModel):
    as_of: date
    late_penalty: Decimal  # accrued since the notification date, beyond what it charged
    balances: list[KindBalance]
    owed: Decimal
    paid: Decimal
    outstanding: Decimal
    credit: Decimal
    fulfilled: bool


def settle(
    charges: Charges,
    payments: Sequence[Paid],
    as_of: date,
    notification_date: date,
    response_deadline: date | None,
    base_rates: DatedTable,
    terms: PenaltyTerms,
) -> Settlement:
    counted = sorted((p for p in payments if p.paid_at <= as_of), key=lambda p: p.paid_at)
    owed: dict[PaymentKind, Decimal] = {
        "customs_duty": charges.customs_duty,
        "vat": charges.vat,
        "excise": charges.excise,
        "customs_fee": charges.customs_fee,
        "penalty": charges.penalty,
    }
    paid: dict[PaymentKind, Decimal] = dict.fromkeys(ORDER, ZERO)
    principal_paid_on: list[tuple[date, Decimal]] = []
    unassigned = ZERO
    for payment in counted:
        if payment.kind is not None:
            applied = {payment.kind: payment.amount}
        else:
            applied, rest = _fill(owed, paid, payment.amount, exclude="penalty")
            unassigned += rest
        for kind, amount in applied.items():
            room = max(owed[kind] - paid[kind], ZERO)
            if kind in terms.base_kinds:
                principal_paid_on.append((payment.paid_at, min(amount, room)))
            paid[kind] += amount

    late = ZERO
    past_deadline = response_deadline is not None and as_of > response_deadline
    if past_deadline or terms.during_notification_period:
        late = to_tiyn(
            _late_penalty(charges, principal_paid_on, notification_date, as_of, base_rates, terms)
        )
    owed["penalty"] += late
    penalty_room = max(owed["penalty"] - paid["penalty"], ZERO)
    paid["penalty"] += min(unassigned, penalty_room)
    unassigned -= min(unassigned, penalty_room)

    balances = [
        KindBalance(
            kind=kind,
            owed=owed[kind],
            paid=paid[kind],
            outstanding=max(owed[kind] - paid[kind], ZERO),
        )
        for kind in ORDER
    ]
    outstanding = sum((b.outstanding for b in balances), ZERO)
    credit = unassigned + sum((max(b.paid - b.owed, ZERO) for b in balances), ZERO)
    return Settlement(
        as_of=as_of,
        late_penalty=late,
        balances=balances,
        owed=sum(owed.values(), ZERO),
        paid=sum((p.amount for p in counted), ZERO),
        outstanding=outstanding,
        credit=credit,
        fulfilled=outstanding == 0,
    )


def _fill(
    owed: dict[PaymentKind, Decimal],
    paid: dict[PaymentKind, Decimal],
    amount: Decimal,
    exclude: PaymentKind,
) -> tuple[dict[PaymentKind, Decimal], Decimal]:
    """Spread an unassigned amount over the kinds in ORDER; returns the parts and the rest."""
    parts: dict[PaymentKind, Decimal] = {}
    for kind in ORDER:
        if kind == exclude or amount <= 0:
            continue
        part = min(amount, max(owed[kind] - paid[kind], ZERO))
        if part > 0:
            parts[kind] = part
            amount -= part
    return parts, amount


def _late_penalty(
    charges: Charges,
    principal_paid_on: list[tuple[date, Decimal]],
    first_day: date,
    last_day: date,
    base_rates: DatedTable,
    terms: PenaltyTerms,
) -> Decimal:
    principal = terms.base(charges)
    total = ZERO
    day = first_day
    for paid_at, amount in sorted(principal_paid_on):
        effective = paid_at + timedelta(days=1)
        if effective > day:
            total += terms.accrue(
                principal, day, min(effective, last_day + timedelta(1)) - timedelta(1), base_rates
            )
            day = max(day, effective)
        principal -= amount
    total += terms.accrue(principal, day, last_day, base_rates)
    return total
