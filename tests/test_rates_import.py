"""The rate tables kept current without a release: `customs-audit rates import` merges a
CSV into RATES_FILE (never changing a published figure), and `check` warns when the newest
base-rate row is old."""

from datetime import date
from pathlib import Path

import pytest

import cli
from config import Settings
from db.reference import load_rate_tables


def _csv(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rows.csv"
    path.write_text(text)
    return path


def test_rows_are_merged_into_the_rates_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    # A made-up future decision, and a row the shipped table already has.
    rows = "table,since,value\nbase_rate,2027-01-11,17.5\nbase_rate,2025-10-13,18\n"
    cli._import_rates(_csv(tmp_path, rows), settings)
    written = tmp_path / "data" / "rates.toml"
    tables = load_rate_tables(written)
    assert tables.base_rate.on(date(2027, 2, 1)) == 17.5
    assert tables.base_rate.on(date(2026, 12, 1)) == 18
    assert tables.vat.rows == load_rate_tables().vat.rows  # the other tables are kept
    again = Settings(data_dir=tmp_path / "data", rates_file=written)
    cli._import_rates(_csv(tmp_path, rows), again)  # the same rows twice: nothing new
    assert load_rate_tables(written) == tables


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ("table,since,value\nbase_rate,2025-10-13,19\n", "never changed"),
        ("table,since,value\nbase_rates,2026-01-12,17\n", "line 2: table must be"),
        ("table,since,value\nvat,2026-13-01,16\n", "line 2: since"),
        ("table,when,value\n", "line 1: the header"),
    ],
)
def test_a_bad_row_refuses_the_whole_file(tmp_path: Path, rows: str, problem: str) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    with pytest.raises(SystemExit) as refused:
        cli._import_rates(_csv(tmp_path, rows), settings)
    assert problem in str(refused.value)
    assert not (tmp_path / "data" / "rates.toml").exists()


def test_check_warns_about_an_old_base_rate(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    newest = load_rate_tables().base_rate.rows[-1].since
    assert cli._rate_warnings(settings, newest) == []
    late = cli._rate_warnings(settings, date(newest.year + 1, newest.month, 1))
    assert late and "base-rate row is" in late[0]
