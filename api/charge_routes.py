"""Checking the arithmetic before issuing: every intermediate figure of every line."""

from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter
from pydantic import Field

from api.auth import ROLES, Principal
from api.deps import Tables, allow
from api.errors import ApiError
from api.schemas import ChargeLineIn, EdgeInput
from domain.charges import Currency, Preview, Totals, convert, preview
from domain.storable import AmountTooLarge

router = APIRouter()


class Conversion(EdgeInput):
    """Show the KZT totals in another currency too (display only; KZT is what is charged)."""

    currency: Currency
    rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=6)]


class PreviewRequest(EdgeInput):
    lines: Annotated[list[ChargeLineIn], Field(min_length=1, max_length=500)]
    convert_to: Conversion | None = None


class Converted(Totals):
    currency: str
    rate: Decimal


class PreviewResponse(Preview):
    converted: Converted | None = None


@router.post("/charges/preview", response_model=PreviewResponse)
async def preview_charges(
    who: Annotated[Principal, allow(*ROLES)], body: PreviewRequest, rates: Tables
) -> PreviewResponse:
    """Customs value, duty, fee, VAT and excise in KZT per line and in total."""
    try:
        result = preview(list(body.lines), rates)
    except (LookupError, AmountTooLarge) as error:
        raise ApiError(422, "invalid", str(error), "lines") from error
    converted = None
    if body.convert_to is not None:
        rate = body.convert_to.rate
        try:
            figures = {k: convert(v, rate) for k, v in result.total.model_dump().items()}
        except AmountTooLarge as error:
            raise ApiError(422, "invalid", str(error), "convert_to.rate") from error
        converted = Converted(currency=body.convert_to.currency, rate=rate, **figures)
    return PreviewResponse(**result.model_dump(), converted=converted)
