"""Reference data shipped with the application (dated rate tables), and the import of new
rows from a CSV file (`customs-audit rates import`)."""

import csv
import io
import tomllib
from pathlib import Path

import tomli_w
from pydantic import ValidationError

from domain.rates import DatedTable, DatedValue, RateTables

TABLES = ("vat", "mci", "base_rate")

DEFAULT_RATES = Path(__file__).parent / "rates.toml"


def load_rate_tables(path: Path | None = None) -> RateTables:
    """The tables in `path` (RATES_FILE), else the ones shipped with this release."""
    with (path or DEFAULT_RATES).open("rb") as source:
        raw = tomllib.load(source)
    return RateTables(**{name: DatedTable(name=name, rows=raw[name]) for name in TABLES})


def save_rate_tables(tables: RateTables, path: Path) -> None:
    document = {
        name: [row.model_dump(mode="json") for row in getattr(tables, name).rows] for name in TABLES
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        "# Dated reference tables; see the copy shipped with the application for what each\n"
        "# table means. Written by `customs-audit rates import`.\n" + tomli_w.dumps(document)
    )


def rows_from_csv(text: str) -> dict[str, list[DatedValue]]:
    """Rows of a CSV with the header `table,since,value` (e.g. `base_rate,2026-01-26,18`);
    a bad line raises ValueError naming its line number."""
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames is None or set(reader.fieldnames) != {"table", "since", "value"}:
        raise ValueError("line 1: the header must be table,since,value")
    rows: dict[str, list[DatedValue]] = {name: [] for name in TABLES}
    for line, record in enumerate(reader, start=2):
        if record["table"] not in TABLES:
            raise ValueError(f"line {line}: table must be one of {', '.join(TABLES)}")
        try:
            row = DatedValue(since=record["since"], value=record["value"])
        except ValidationError as error:
            problem = error.errors()[0]
            raise ValueError(f"line {line}: {problem['loc'][0]}: {problem['msg']}") from error
        rows[record["table"]].append(row)
    return rows


def import_rows(tables: RateTables, text: str) -> tuple[RateTables, int]:
    """`tables` with the CSV's rows merged in, and how many rows are new."""
    added = rows_from_csv(text)
    merged = {name: getattr(tables, name).with_rows(added[name]) for name in TABLES}
    new = sum(len(merged[n].rows) - len(getattr(tables, n).rows) for n in TABLES)
    return RateTables(**merged), new
