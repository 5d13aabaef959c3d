"""Identifiers a Kazakh customs case is keyed by: BIN/IIN of the party, office code, audit id."""

import re

from domain.wording import N_

_BIN_FIRST_WEIGHTS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11)
_BIN_SECOND_WEIGHTS = (3, 4, 5, 6, 7, 8, 9, 10, 11, 1, 2)
# ASCII digits only (\d admits Arabic-Indic and full-width ones); use with fullmatch, as a `$`
# would admit a trailing newline.
AUDIT_ID_PATTERN = re.compile(r"CA-[0-9]{4}-[0-9]{6}")
OFFICE_PATTERN = re.compile(r"[0-9]{5}")


def bin_check_digit(first_eleven: str) -> int | None:
    """Control digit of a BIN/IIN, or None when the number cannot have a valid one.

    The State Revenue Committee algorithm: weighted sum mod 11 with weights 1..11; a result
    of 10 is recomputed with weights 3..11,1,2; a second 10 means the number is never issued.
    """
    digits = [int(c) for c in first_eleven]
    for weights in (_BIN_FIRST_WEIGHTS, _BIN_SECOND_WEIGHTS):
        check = sum(d * w for d, w in zip(digits, weights, strict=True)) % 11
        if check != 10:
            return check
    return None


def bin_problem(value: str) -> str | None:
    """Why `value` is not a valid BIN/IIN, or None if it is one."""
    if len(value) != 12 or not (value.isascii() and value.isdigit()):
        return N_("BIN/IIN must be exactly 12 digits")
    if bin_check_digit(value[:11]) != int(value[11]):
        return N_("BIN/IIN check digit does not match (mistyped BIN/IIN?)")
    return None


def format_audit_id(year: int, number: int) -> str:
    return f"CA-{year:04d}-{number:06d}"
