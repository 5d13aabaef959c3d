"""Small declaration and postal data sets for screening tests, built one field at a time."""

import csv
import io
import itertools
import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from domain.screening.records import DeclarationLine, PostalItem
from tests.factories import make_bin

_numbers = itertools.count(1)
DECLARANTS = [make_bin(f"{95040000045 + 1000 * n:011d}") for n in range(12)]
IINS = [make_bin(f"{90010130000 + 1000 * n:011d}") for n in range(6)]
DAY = date(2026, 3, 2)


def line(
    unit_value: str | Decimal,
    *,
    declarant: int = 0,
    hs_code: str = "8481804000",
    unit: str = "796",
    day: date = DAY,
    quantity: str = "100",
    origin: str = "CN",
    number: str | None = None,
    line_no: int = 1,
    office: str = "55201",
    duty_rate_percent: str | None = "10",
) -> dict[str, Any]:
    value = Decimal(unit_value) * Decimal(quantity)
    return {
        "declaration_number": number or f"55201/{day:%d%m%y}/{next(_numbers):07d}",
        "registered_on": day.isoformat(),
        "customs_office": office,
        "declarant_bin": DECLARANTS[declarant],
        "line_no": line_no,
        "hs_code": hs_code,
        "description": "ball valves, brass",
        "origin_country": origin,
        "quantity": quantity,
        "unit": unit,
        "invoice_value": str((value / 500).quantize(Decimal("0.01"))),
        "currency": "USD",
        "exchange_rate": "500",
        "customs_value_kzt": str(value.quantize(Decimal("0.01"))),
        "incoterms": "FOB",
        **({"duty_rate_percent": duty_rate_percent} if duty_rate_percent else {}),
    }


def market(
    count: int = 24, declarants: int = 4, base: int = 1000, **fields: Any
) -> list[dict[str, Any]]:
    """An honest market: unit values base..base+count-1 spread over `declarants` importers
    and the weeks before `day`."""
    day = fields.pop("day", DAY)
    return [
        line(
            str(base + n),
            declarant=1 + n % declarants,
            day=day - timedelta(days=7 * (n % 20) + 1),
            **fields,
        )
        for n in range(count)
    ]


def parse_line(row: dict[str, Any]) -> DeclarationLine:
    return DeclarationLine.model_validate(row)


def item(
    parcel: str,
    day: date,
    *,
    recipient: int = 0,
    product: str = "phone case",
    quantity: int = 1,
) -> dict[str, Any]:
    return {
        "parcel_id": parcel,
        "accepted_on": day.isoformat(),
        "recipient_iin": IINS[recipient],
        "sender_country": "CN",
        "product_type": product,
        "quantity": quantity,
        "declared_value": "15.00",
        "currency": "EUR",
    }


def parse_item(row: dict[str, Any]) -> PostalItem:
    return PostalItem.model_validate(row)


def as_csv(rows: list[dict[str, Any]], columns: list[str] | None = None) -> bytes:
    columns = columns or list(dict.fromkeys(key for row in rows for key in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def as_json_lines(rows: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(row) + "\n" for row in rows).encode()
