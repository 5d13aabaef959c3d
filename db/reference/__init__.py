"""Reference data shipped with the application (dated rate tables)."""

import tomllib
from pathlib import Path

from domain.rates import DatedTable, RateTables

DEFAULT_RATES = Path(__file__).parent / "rates.toml"


def load_rate_tables(path: Path | None = None) -> RateTables:
    """The tables in `path` (RATES_FILE), else the ones shipped with this release."""
    with (path or DEFAULT_RATES).open("rb") as source:
        raw = tomllib.load(source)
    return RateTables(
        **{name: DatedTable(name=name, rows=raw[name]) for name in ("vat", "mci", "base_rate")}
    )
