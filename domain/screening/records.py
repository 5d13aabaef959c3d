"""The rows the screening imports accept (contract columns), and how a file becomes rows.

A file is CSV with a header row or JSON lines; each bad row is refused with its line number
and the reason, and the good rows go on, so one typo does not cost a whole day's feed.
"""

import csv
import io
import json
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Annotated, Any, TypeVar

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
)

from domain.identifiers import bin_problem


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


@lru_cache(maxsize=100_000)
def _valid_bin(value: str) -> str:
    """Cached: a feed names the same few thousand importers over and over."""
    problem = bin_problem(value)
    if problem:
        raise ValueError(problem)
    return value


Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=500),
    AfterValidator(_no_nul),
]
Key = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z/._-]{1,40}$")]
Country = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{2}$")]
Currency = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Z]{3}$")]
Bin = Annotated[str, StringConstraints(strip_whitespace=True), AfterValidator(_valid_bin)]
Figure = Annotated[Decimal, Field(ge=0, max_digits=20, decimal_places=6)]
INCOTERMS = frozenset(
    {"EXW", "FCA", "FAS", "FOB", "CFR", "CIF", "CPT", "CIP", "DAP", "DPU", "DDP", "DAT", "DAF"}
)


def _incoterm(value: str) -> str:
    if value not in INCOTERMS:
        raise ValueError(f"must be an Incoterms code ({', '.join(sorted(INCOTERMS))})")
    return value


class DeclarationLine(BaseModel):
    """One line of a goods declaration as registered (contract columns).

    `duty_rate_percent` is optional and not part of the contract: without it the line's
    import duty is taken as 0 % and only VAT is counted in a proposal.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    declaration_number: Key
    registered_on: date
    customs_office: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{5}$")]
    declarant_bin: Bin
    line_no: Annotated[int, Field(ge=1, le=9999)]
    hs_code: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^\d{10}$")]
    description: Label
    origin_country: Country
    quantity: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=6)]
    unit: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9A-Za-z.]{1,10}$")]
    invoice_value: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
    currency: Currency
    exchange_rate: Annotated[Decimal, Field(gt=0, max_digits=20, decimal_places=6)]
    customs_value_kzt: Annotated[Decimal, Field(gt=0, max_digits=18, decimal_places=2)]
    incoterms: Annotated[
        str, StringConstraints(strip_whitespace=True, to_upper=True), AfterValidator(_incoterm)
    ]
    transport_to_border: Figure | None = None
    insurance_to_border: Figure | None = None
    duty_rate_percent: Annotated[Decimal, Field(ge=0, le=1000, decimal_places=4)] | None = None

    @property
    def unit_value(self) -> Decimal:
        """Customs value per unit in KZT: what the price rule compares."""
        return self.customs_value_kzt / self.quantity


class PostalItem(BaseModel):
    """One item of an international postal parcel to an individual (contract columns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    parcel_id: Key
    accepted_on: date
    recipient_iin: Bin
    sender_country: Country
    product_type: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=100),
        AfterValidator(_no_nul),
    ]
    quantity: Annotated[int, Field(ge=1, le=1_000_000)]
    declared_value: Annotated[Decimal, Field(ge=0, max_digits=18, decimal_places=2)]
    currency: Currency


class Refusal(BaseModel):
    line: int  # 1-based line of the file (the CSV header is line 1)
    reason: str


Row = TypeVar("Row", DeclarationLine, PostalItem)


DECLARATION_COLUMNS = tuple(DeclarationLine.model_fields)
POSTAL_COLUMNS = tuple(PostalItem.model_fields)
_OPTIONAL = {"transport_to_border", "insurance_to_border", "duty_rate_percent"}


class BadFile(ValueError):
    """The whole file is unusable (not UTF-8, no header, missing columns): nothing is stored."""


def parse(data: bytes, model: type[Row]) -> Iterator[tuple[int, Row] | Refusal]:
    """Rows of a CSV (header row first) or JSON-lines file, each with its line number, or
    the refusal of a bad one; one at a time, so a file of millions of rows fits in memory.

    A file that is unusable as a whole raises BadFile before the first row."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise BadFile("the file must be UTF-8 text") from error
    if "\x00" in text:
        raise BadFile("the file contains NUL characters; send text")
    if text.lstrip().startswith("{"):
        records: Iterator[tuple[int, dict[str, Any] | str]] = _json_lines(text)
    else:
        records = _csv_rows(text, model)
    return _validated(records, model)


def _validated(
    records: Iterator[tuple[int, dict[str, Any] | str]], model: type[Row]
) -> Iterator[tuple[int, Row] | Refusal]:
    for number, record in records:
        if isinstance(record, str):
            yield Refusal(line=number, reason=record)
            continue
        try:
            yield number, model.model_validate(record)
        except ValidationError as error:
            yield Refusal(line=number, reason=_reasons(error))


def _json_lines(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as error:
            yield number, f"not valid JSON: {error.msg}"
            continue
        if not isinstance(record, dict):
            yield number, "each line must be a JSON object"
            continue
        yield number, {k: v for k, v in record.items() if v is not None}


def _csv_rows(text: str, model: type[BaseModel]) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = reader.fieldnames or []
    required = [c for c in model.model_fields if c not in _OPTIONAL]
    missing = [c for c in required if c not in header]
    if missing:
        raise BadFile(
            f"the CSV header lacks {', '.join(missing)}; expected the columns "
            f"{', '.join(model.model_fields)}"
        )
    unknown = [c for c in header if c not in model.model_fields]
    if unknown:
        raise BadFile(f"unknown CSV columns {', '.join(unknown)}")
    return _csv_records(reader)


def _csv_records(reader: "csv.DictReader[str]") -> Iterator[tuple[int, dict[str, Any] | str]]:
    for row in reader:
        number = reader.line_num
        if None in row:
            yield number, "more fields than the header has"
            continue
        yield number, {k: v for k, v in row.items() if v not in (None, "")}


def _reasons(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in error.errors()
    )
