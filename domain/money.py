"""Money in KZT as Decimal; rounding happens only when a figure is shown or charged."""

from decimal import ROUND_HALF_UP, Decimal

TIYN = Decimal("0.01")


def to_tiyn(amount: Decimal) -> Decimal:
    """Round half-up to 0.01 KZT, the precision customs charges and shows."""
    return amount.quantize(TIYN, rounding=ROUND_HALF_UP)
