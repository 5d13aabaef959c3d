"""The charge arithmetic: the seed's worked example to the tiyn, rounding, rates by date."""

from datetime import date
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from db.reference import load_rate_tables
from domain.assessment import AuditLine, NothingToCharge, assess
from domain.charges import ChargeLine, compute_line, convert, preview
from domain.money import to_tiyn
from domain.penalty import UNRECORDED, daily_rate
from domain.rates import DatedTable, DatedValue, RateTables

TABLES = load_rate_tables()


def seed_line(**changes: Any) -> ChargeLine:
    """Seed 001: $10,000 goods, $500 freight to the border, $300 after it, $10 insurance,
    a $100 permit and a $120 broker (both outside customs value), 15 % duty, 20 000 ₸ fee."""
    fields: dict[str, Any] = {
        "declaration": "55201/010525/0000001",
        "registered_on": date(2025, 5, 1),
        "currency": "USD",
        "exchange_rate": D("420"),
        "price_paid": D("10000"),
        "transport_to_border": D("500"),
        "transport_after_border": D("300"),
        "insurance_to_border": D("10"),
        "duty_rate_percent": D("15"),
        "customs_fee_kzt": D("20000"),
    }
    return ChargeLine(**{**fields, **changes})


def test_the_seed_example_comes_out_to_the_tiyn() -> None:
    figures = compute_line(seed_line(), TABLES)
    assert figures.value_in_currency == D("10510")
    assert figures.customs_value == D("4414200.00")
    assert figures.customs_duty == D("662130.00")
    assert figures.customs_fee == D("20000.00")
    assert figures.vat_rate_percent == D("12")
    assert figures.vat_base == D("5096330.00")
    assert figures.vat == D("611559.60")
    assert figures.total == D("1293689.60")


def test_usd_is_only_a_conversion_of_the_kzt_figures() -> None:
    figures = compute_line(seed_line(), TABLES)
    # We round half-up to the cent: 20 000 / 420 = 47.619… -> 47.62. The seed prints $47.61
    # because it truncates; its total $3,080.2 is 1 293 689,60 / 420 = 3 080.213… -> 3 080.21.
    assert convert(figures.customs_fee, D("420")) == D("47.62")
    assert convert(figures.total, D("420")) == D("3080.21")
    assert convert(figures.customs_duty, D("420")) == D("1576.50")


def test_the_same_goods_in_2026_pay_16_percent_vat() -> None:
    figures = compute_line(seed_line(registered_on=date(2026, 1, 15)), TABLES)
    assert figures.vat_rate_percent == D("16")
    assert figures.vat == D("815412.80")
    assert compute_line(seed_line(registered_on=date(2025, 12, 31)), TABLES).vat == D("611559.60")


def test_rounding_is_half_up_at_each_charged_figure() -> None:
    # 0.05 % of 1 000,10 = 0,50005 -> 0,50; of 1 000,30 = 0,50015 -> 0,50; 0.1 % of 5,00 ...
    line = seed_line(
        currency="KZT",
        exchange_rate=D(1),
        price_paid=D("1000.10"),
        transport_to_border=D(0),
        transport_after_border=D(0),
        insurance_to_border=D(0),
        duty_rate_percent=D("0.5"),
        customs_fee_kzt=D(0),
    )
    figures = compute_line(line, TABLES)
    assert figures.customs_duty == D("5.00")  # 5.0005 -> 5.00
    half = compute_line(line.model_copy(update={"price_paid": D("1000.90")}), TABLES)
    assert half.customs_duty == D("5.00")  # 5.0045 -> 5.00
    up = compute_line(line.model_copy(update={"price_paid": D("1001.00")}), TABLES)
    assert up.customs_duty == D("5.01")  # 5.005 -> 5.01 (half-up, not banker's 5.00)
    assert up.vat == D("120.72")  # (1001.00 + 5.01) * 12 % = 120.7212


EURO = D("455")  # KZT per euro on the registration date; the invoice is in USD at 420


def test_combined_rate_takes_the_greater_of_ad_valorem_and_specific() -> None:
    cheap = seed_line(duty_specific_per_unit=D("2"), quantity=D("1000"), euro_rate=EURO)
    figures = compute_line(cheap, TABLES)
    assert figures.duty_ad_valorem == D("662130.00")
    assert figures.duty_specific == D("910000.00")  # €2 × 1000 × 455, not at the dollar rate
    assert figures.customs_duty == D("910000.00")
    dear = seed_line(duty_specific_per_unit=D("1"), quantity=D("1000"), euro_rate=EURO)
    assert compute_line(dear, TABLES).customs_duty == D("662130.00")
    specific_only = compute_line(
        seed_line(
            duty_rate_percent=D(0),
            duty_specific_per_unit=D("1.5"),
            quantity=D("10"),
            euro_rate=EURO,
        ),
        TABLES,
    )
    assert specific_only.customs_duty == D("6825.00")


def test_a_specific_rate_needs_the_euro_rate_unless_the_invoice_is_in_euro() -> None:
    with pytest.raises(ValidationError, match="euro_rate"):
        seed_line(duty_specific_per_unit=D("2"), quantity=D("1000"))
    in_euro = seed_line(
        currency="EUR", exchange_rate=EURO, duty_specific_per_unit=D("2"), quantity=D("1000")
    )
    assert compute_line(in_euro, TABLES).duty_specific == D("910000.00")


def test_fee_in_mci_uses_the_index_of_the_registration_year_and_excise_enters_vat() -> None:
    figures = compute_line(
        seed_line(
            registered_on=date(2026, 3, 2),
            customs_fee_kzt=None,
            customs_fee_mci=D("6"),
            excise=D("100000"),
        ),
        TABLES,
    )
    assert figures.customs_fee == D("25950.00")  # 6 × 4 325
    assert figures.vat_base == D("4414200.00") + D("662130.00") + D("100000") + D("25950.00")
    with pytest.raises(ValueError, match="not both"):
        seed_line(customs_fee_mci=D("1"))


def test_a_date_before_the_tables_is_an_error_not_a_guess() -> None:
    with pytest.raises(LookupError, match="base_rate"):
        TABLES.base_rate.on(date(2001, 1, 1))


TEST_RATES = RateTables(
    vat=TABLES.vat,
    mci=TABLES.mci,
    base_rate=DatedTable(
        name="base_rate",
        rows=[
            DatedValue(since=date(2024, 1, 1), value=D("14.6")),
            DatedValue(since=date(2025, 3, 10), value=D("16.5")),
        ],
    ),
)


def test_penalty_per_day_is_1_25_times_base_rate_over_365() -> None:
    assert daily_rate(D("14.6")) == D("0.0005")  # 1.25 × 14.6 % / 365
    # 10 days on 1 000 000 at 0.05 % a day
    assert UNRECORDED.accrue(
        D("1000000"), date(2025, 1, 1), date(2025, 1, 10), TEST_RATES.base_rate
    ) == D("5000.0")


def test_penalty_across_a_base_rate_change() -> None:
    # 8, 9 March at 14.6 %; 10, 11 March at 16.5 %: 2 × 500 + 2 × 565.068…
    total = UNRECORDED.accrue(
        D("1000000"), date(2025, 3, 8), date(2025, 3, 11), TEST_RATES.base_rate
    )
    expected = 2 * D("1000000") * daily_rate(D("14.6")) + 2 * D("1000000") * daily_rate(D("16.5"))
    assert total == expected
    assert to_tiyn(total) == D("2130.14")


def test_assessment_adds_the_difference_and_the_penalty_until_the_notification() -> None:
    declared = seed_line(price_paid=D("7500"))
    adjusted = seed_line()
    result = assess(
        [AuditLine(declared=declared, adjusted=adjusted)], date(2025, 5, 11), TEST_RATES, UNRECORDED
    )
    line = result.lines[0]
    assert line.declared.customs_value == D("3364200.00")
    assert line.additional.customs_value == D("1050000.00")
    assert line.additional.customs_duty == D("157500.00")
    assert line.additional.vat == D("144900.00")  # 12 % of (1 050 000 + 157 500 + 0 fee)
    assert line.additional.customs_fee == D("0.00")
    # Registered 1 May: delay 2..10 May (9 days), the notification date is not counted.
    assert line.penalty_days == 9
    principal = D("157500.00") + D("144900.00")
    assert result.penalty == to_tiyn(principal * daily_rate(D("16.5")) * 9)
    assert result.penalty_base == principal
    assert result.charges.total == principal + result.penalty


def test_an_audit_that_finds_less_charges_nothing() -> None:
    with pytest.raises(NothingToCharge, match="no charge increases"):
        assess(
            [AuditLine(declared=seed_line(), adjusted=seed_line(price_paid=D("9000")))],
            date(2025, 6, 1),
            TEST_RATES,
            UNRECORDED,
        )
    with pytest.raises(NothingToCharge):
        assess(
            [AuditLine(declared=seed_line(), adjusted=seed_line())],
            date(2025, 6, 1),
            TEST_RATES,
            UNRECORDED,
        )


amounts = st.decimals(min_value=0, max_value=10**9, places=2, allow_nan=False, allow_infinity=False)
rates = st.decimals(min_value=D("0.01"), max_value=1000, places=4, allow_nan=False)


@settings(max_examples=200, deadline=None)
@given(
    price=amounts,
    freight=amounts,
    insurance=amounts,
    royalties=amounts,
    exchange=rates,
    duty_percent=st.decimals(min_value=0, max_value=100, places=2),
    specific=st.decimals(min_value=0, max_value=1000, places=2),
    quantity=st.decimals(min_value=1, max_value=10**6, places=0),
    excise=amounts,
    fee=amounts,
    registered_on=st.dates(min_value=date(2024, 1, 1), max_value=date(2027, 12, 31)),
)
def test_totals_are_the_sum_of_parts_and_never_negative(**case: Any) -> None:
    line = ChargeLine(
        declaration="X",
        registered_on=case["registered_on"],
        currency="USD",
        exchange_rate=case["exchange"],
        price_paid=case["price"],
        transport_to_border=case["freight"],
        insurance_to_border=case["insurance"],
        royalties=case["royalties"],
        duty_rate_percent=case["duty_percent"],
        duty_specific_per_unit=case["specific"],
        quantity=case["quantity"] if case["specific"] else D(0),
        euro_rate=case["exchange"],
        excise=case["excise"],
        customs_fee_kzt=case["fee"],
    )
    result = preview([line, line], TABLES)
    figures = result.lines[0]
    parts = (figures.customs_duty, figures.customs_fee, figures.vat, figures.excise)
    assert all(p >= 0 for p in parts) and figures.customs_value >= 0
    assert figures.total == sum(parts)
    assert result.total.total == 2 * figures.total
    assert all(p == round(p, 2) for p in (*parts, figures.customs_value))


def test_a_reclassification_can_lower_the_value_and_still_raise_the_charges() -> None:
    """Art. 417 notifications cover what is owed: a higher duty rate after reclassification
    is charged even though the value found is lower; the lower figure is not refunded here."""
    lower_value_higher_rate = seed_line(price_paid=D("9500"), duty_rate_percent=D("25"))
    result = assess(
        [AuditLine(declared=seed_line(), adjusted=lower_value_higher_rate)],
        date(2025, 6, 1),
        TEST_RATES,
        UNRECORDED,
    )
    line = result.lines[0]
    assert line.adjusted.customs_value < line.declared.customs_value
    assert line.additional.customs_value == 0  # a decrease is not carried as a figure
    assert line.additional.customs_duty == line.adjusted.customs_duty - line.declared.customs_duty
    assert line.additional.customs_duty > 0 and line.additional.vat > 0
    assert result.charges.total == line.additional.total + result.penalty
