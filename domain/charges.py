"""Customs value and the charges on it, per declaration line, in KZT (Decimal throughout).

Rounding rule (one place, tested): the customs value and each charge are rounded half-up to
0.01 KZT when they are charged; later figures are computed from the rounded ones, as the
customs declaration shows them (VAT base = customs value + duty + excise + fee, all rounded).
Costs after the EAEU border, permits and broker fees are not part of the customs value.
"""

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from domain.money import TIYN, to_tiyn
from domain.rates import RateTables
from domain.storable import BusinessDate, within_amount_limit
from domain.wording import N_


def _in_tiyn(amount: Decimal) -> Decimal:
    """Every charge carries two decimals, so it reads the same however it was given ("0",
    "0.00") and after a payload left it out as equal to its default."""
    return amount.quantize(TIYN)


ZERO = Decimal("0")
NONE = Decimal("0.00")  # a charge not assessed, in the two decimals every charge carries
Amount = Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2), AfterValidator(_in_tiyn)]
HUNDRED = Decimal("100")
Figure = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]


class Charges(BaseModel):
    """Additional duties and taxes the audit assessed, in KZT."""

    customs_duty: Amount = NONE
    vat: Amount = NONE
    customs_fee: Amount = NONE
    excise: Amount = NONE
    penalty: Amount = NONE

    @property
    def total(self) -> Decimal:
        return self.customs_duty + self.vat + self.customs_fee + self.excise + self.penalty

    @model_validator(mode="after")
    def _something_is_charged(self) -> "Charges":
        if self.total <= 0:
            raise ValueError(N_("at least one charge must be greater than zero"))
        within_amount_limit(self.total)
        return self


class ChargeLine(BaseModel):
    """One declaration line as declared or as the audit found it (contract field names)."""

    declaration: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
    registered_on: BusinessDate
    currency: Currency = "KZT"
    exchange_rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=6)] = Decimal(1)
    price_paid: Figure
    transport_to_border: Figure = ZERO
    transport_after_border: Figure = ZERO
    insurance_to_border: Figure = ZERO
    royalties: Figure = ZERO
    other_additions: Figure = ZERO
    duty_rate_percent: Annotated[Decimal, Field(ge=0, le=1000, decimal_places=4)] = ZERO
    # Specific duty rates of the EAEU tariff are in euro per unit, converted at the euro rate
    # of the registration date, whatever the invoice currency.
    duty_specific_per_unit: Figure = ZERO
    quantity: Figure = ZERO
    euro_rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=6)] | None = None
    excise: Figure = ZERO
    customs_fee_kzt: Figure | None = None
    customs_fee_mci: Figure | None = None

    @model_validator(mode="after")
    def _one_fee(self) -> "ChargeLine":
        if self.customs_fee_kzt is not None and self.customs_fee_mci is not None:
            raise ValueError(N_("give customs_fee_kzt or customs_fee_mci, not both"))
        if self.currency == "KZT" and self.exchange_rate != 1:
            raise ValueError(N_("exchange_rate must be 1 for a line in KZT"))
        if self.duty_specific_per_unit and not self.quantity:
            raise ValueError(N_("quantity is required with duty_specific_per_unit"))
        if self.duty_specific_per_unit and self.currency != "EUR" and self.euro_rate is None:
            raise ValueError(
                N_(
                    "euro_rate (KZT per euro on the registration date) is required with "
                    "duty_specific_per_unit: specific rates are in euro"
                )
            )
        return self

    @property
    def kzt_per_euro(self) -> Decimal:
        return self.euro_rate if self.euro_rate is not None else self.exchange_rate


class LineFigures(BaseModel):
    """Every intermediate figure, so an inspector or broker can check the arithmetic."""

    declaration: str
    registered_on: date
    value_in_currency: Decimal
    customs_value: Decimal
    duty_ad_valorem: Decimal
    duty_specific: Decimal
    customs_duty: Decimal
    customs_fee: Decimal
    excise: Decimal
    vat_rate_percent: Decimal
    vat_base: Decimal
    vat: Decimal
    total: Decimal


class Totals(BaseModel):
    customs_value: Decimal = ZERO
    customs_duty: Decimal = ZERO
    customs_fee: Decimal = ZERO
    vat: Decimal = ZERO
    excise: Decimal = ZERO
    total: Decimal = ZERO


class Preview(BaseModel):
    lines: list[LineFigures]
    total: Totals


def compute_line(line: ChargeLine, tables: RateTables) -> LineFigures:
    value_in_currency = (
        line.price_paid
        + line.transport_to_border
        + line.insurance_to_border
        + line.royalties
        + line.other_additions
    )
    customs_value = to_tiyn(value_in_currency * line.exchange_rate)
    ad_valorem = to_tiyn(customs_value * line.duty_rate_percent / HUNDRED)
    specific = to_tiyn(line.duty_specific_per_unit * line.quantity * line.kzt_per_euro)
    # A combined rate is "X %, but not less than Y per unit": the greater of the two.
    duty = max(ad_valorem, specific)
    if line.customs_fee_mci is not None:
        fee = to_tiyn(line.customs_fee_mci * tables.mci.on(line.registered_on))
    else:
        fee = to_tiyn(line.customs_fee_kzt or ZERO)
    excise = to_tiyn(line.excise)
    vat_rate = tables.vat.on(line.registered_on)
    vat_base = customs_value + duty + excise + fee
    vat = to_tiyn(vat_base * vat_rate / HUNDRED)
    return LineFigures(
        declaration=line.declaration,
        registered_on=line.registered_on,
        value_in_currency=value_in_currency,
        customs_value=customs_value,
        duty_ad_valorem=ad_valorem,
        duty_specific=specific,
        customs_duty=duty,
        customs_fee=fee,
        excise=excise,
        vat_rate_percent=vat_rate,
        vat_base=vat_base,
        vat=vat,
        total=duty + fee + vat + excise,
    )


def totals(figures: Sequence[LineFigures | Totals]) -> Totals:
    return Totals(
        **{
            kind: within_amount_limit(sum((getattr(f, kind) for f in figures), ZERO))
            for kind in Totals.model_fields
        }
    )


def preview(lines: list[ChargeLine], tables: RateTables) -> Preview:
    figures = [compute_line(line, tables) for line in lines]
    return Preview(lines=figures, total=totals(figures))


def convert(amount_kzt: Decimal, rate: Decimal) -> Decimal:
    """A KZT figure shown in a foreign currency: divided by the rate, rounded half-up."""
    return to_tiyn(amount_kzt / rate)
