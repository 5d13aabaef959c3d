"""What payments cover: on time vs. late, partial, duplicate and overpaid, by budget line."""

from datetime import date
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.case import Payment
from domain.charges import Charges
from domain.money import to_tiyn
from domain.penalty import UNRECORDED, daily_rate
from domain.rates import DatedTable, DatedValue
from domain.settlement import settle

BASE = DatedTable(name="base_rate", rows=[DatedValue(since=date(2024, 1, 1), value=D("14.6"))])
CHARGES = Charges(
    customs_duty=D("662130.00"), vat=D("611559.60"), customs_fee=D("20000.00"), penalty=D("1500.00")
)
TERMS = UNRECORDED  # the fee out of the base, 365 days, no penalty within the period
NOTIFIED = date(2026, 3, 5)
DEADLINE = date(2026, 4, 8)


def pay(reference: str, amount: str, on: date, kind: str | None = None) -> Payment:
    return Payment(reference=reference, amount=D(amount), paid_at=on, kind=kind)


def test_paid_in_full_on_time_owes_no_further_penalty() -> None:
    result = settle(
        CHARGES, [pay("A", "1295189.60", DEADLINE)], DEADLINE, NOTIFIED, DEADLINE, BASE, TERMS
    )
    assert result.late_penalty == 0
    assert result.fulfilled and result.outstanding == 0 and result.credit == 0


def test_paid_late_owes_penalty_from_the_notification_date_to_payment_inclusive() -> None:
    late_day = date(2026, 4, 13)
    result = settle(
        CHARGES, [pay("A", "1295189.60", late_day)], late_day, NOTIFIED, DEADLINE, BASE, TERMS
    )
    days = (late_day - NOTIFIED).days + 1  # 5 March .. 13 April inclusive = 40 days
    assert days == 40
    principal = CHARGES.customs_duty + CHARGES.vat  # the fee and the penalty bear none
    assert result.late_penalty == to_tiyn(principal * daily_rate(D("14.6")) * days)
    assert not result.fulfilled
    assert result.outstanding == result.late_penalty
    penalty = next(b for b in result.balances if b.kind == "penalty")
    assert penalty.owed == CHARGES.penalty + result.late_penalty


def test_a_part_paid_on_time_stops_penalty_on_that_part() -> None:
    late_day = date(2026, 4, 13)
    payments = [
        pay("A", "611559.60", date(2026, 3, 10), "vat"),  # VAT paid on time
        pay("B", "683630.00", late_day),  # the rest late, no kind: duty, then fee, then penalty
    ]
    result = settle(CHARGES, payments, late_day, NOTIFIED, DEADLINE, BASE, TERMS)
    rate = daily_rate(D("14.6"))
    vat_days = (date(2026, 3, 10) - NOTIFIED).days + 1  # 5..10 March: VAT still unpaid
    expected = CHARGES.customs_duty * rate * 40 + CHARGES.vat * rate * vat_days
    assert result.late_penalty == to_tiyn(expected)
    duty = next(b for b in result.balances if b.kind == "customs_duty")
    assert duty.outstanding == 0


def test_partial_payments_accumulate_and_an_overpayment_is_a_credit() -> None:
    first = settle(
        CHARGES, [pay("A", "500000", NOTIFIED)], NOTIFIED, NOTIFIED, DEADLINE, BASE, TERMS
    )
    assert first.outstanding == CHARGES.total - D("500000") and not first.fulfilled
    payments = [pay("A", "500000", NOTIFIED), pay("B", "800000", date(2026, 3, 20))]
    done = settle(CHARGES, payments, date(2026, 3, 20), NOTIFIED, DEADLINE, BASE, TERMS)
    assert done.fulfilled and done.paid == D("1300000")
    assert done.credit == D("1300000") - CHARGES.total


def test_a_payment_to_one_line_does_not_cover_another() -> None:
    result = settle(
        CHARGES,
        [pay("A", "1295189.60", NOTIFIED, "vat")],
        NOTIFIED,
        NOTIFIED,
        DEADLINE,
        BASE,
        TERMS,
    )
    assert not result.fulfilled
    vat = next(b for b in result.balances if b.kind == "vat")
    assert vat.paid == D("1295189.60") and vat.outstanding == 0
    assert result.credit == D("1295189.60") - CHARGES.vat
    assert result.outstanding == CHARGES.total - CHARGES.vat


def test_payments_dated_after_the_day_do_not_count_yet() -> None:
    result = settle(
        CHARGES,
        [pay("A", "1", date(2026, 3, 9))],
        date(2026, 3, 8),
        NOTIFIED,
        DEADLINE,
        BASE,
        TERMS,
    )
    assert result.paid == 0


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.decimals(min_value=D("0.01"), max_value=D("2000000"), places=2),
            st.dates(min_value=NOTIFIED, max_value=date(2026, 6, 30)),
            st.sampled_from([None, "customs_duty", "vat", "excise", "customs_fee", "penalty"]),
        ),
        max_size=6,
    ),
    st.dates(min_value=NOTIFIED, max_value=date(2026, 6, 30)),
)
def test_balances_add_up_and_never_go_negative(
    raw: list[tuple[D, date, str | None]], as_of: date
) -> None:
    payments = [pay(f"P{i}", str(a), d, k) for i, (a, d, k) in enumerate(raw)]
    result = settle(CHARGES, payments, as_of, NOTIFIED, DEADLINE, BASE, TERMS)
    counted = sum((p.amount for p in payments if p.paid_at <= as_of), D(0))
    assert result.paid == counted
    assert all(b.outstanding >= 0 and b.paid >= 0 for b in result.balances)
    assert result.outstanding == sum(b.outstanding for b in result.balances)
    assert result.owed == CHARGES.total + result.late_penalty
    # Money in = money applied to what is owed + credit.
    applied = sum(min(b.paid, b.owed) for b in result.balances)
    assert applied + result.credit == counted
    assert result.fulfilled == (result.outstanding == 0)
    assert result.late_penalty >= 0 and (as_of > DEADLINE or result.late_penalty == 0)
