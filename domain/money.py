"""Money in KZT as Decimal; rounding happens only when a figure is shown or charged."""

from decimal import ROUND_HALF_UP, Decimal

from domain.storable import within_amount_limit

TIYN = Decimal("0.01")


def to_tiyn(amount: Decimal) -> Decimal:
    """Round half-up to 0.01 KZT, the precision customs charges and shows; a figure wider
    than the money columns raises `AmountTooLarge` instead of being stored truncated."""
    return within_amount_limit(amount).quantize(TIYN, rounding=ROUND_HALF_UP)
