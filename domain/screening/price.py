"""The price rule: a declared unit customs value far below what others declare for the same
goods is a sign of under-valuation worth an audit.

The reference for a line is the distribution of unit customs values (KZT per unit) of the
lines with the same 10-digit HS code and unit (optionally the same origin) registered in
the trailing window up to the line's day, the line itself left out. It counts only when it
has enough lines from enough *other* declarants, so one importer cannot set its own
reference; otherwise the 6-digit HS code is tried, and otherwise the line is not judged.
A line is flagged when its unit value is below a share of the median *and* below a low
percentile, so a wide but honest price spread does not flag its cheap end.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel

from domain.assessment import AuditLine
from domain.charges import ChargeLine, compute_line
from domain.money import to_tiyn
from domain.rates import RateTables
from domain.screening.records import DeclarationLine

Level = Literal["hs10", "hs6"]


@dataclass(frozen=True)
class PriceRule:
    window_days: int = 365
    min_lines: int = 20
    min_declarants: int = 3
    median_share: Decimal = Decimal("0.8")
    percentile: int = 10
    same_origin: bool = False


class Stats(BaseModel):
    """A reference sample, summarised: what the rule and the inspector both look at."""

    lines: int
    other_declarants: int
    low: Decimal  # the rule's percentile (10th by default)
    q1: Decimal
    median: Decimal
    q3: Decimal


class Reference(Stats):
    level: Level
    hs_code: str  # the 10 digits, or the 6-digit heading the sample fell back to
    unit: str
    origin_country: str | None


class PriceEvidence(BaseModel):
    reference: Reference
    percentile: int
    # The share of the median the line had to fall below (the chart's threshold line); None
    # on candidates found before it was kept with them.
    median_share: Decimal | None = None
    declared_unit_value: Decimal
    quantity: Decimal
    declared_customs_value: Decimal
    proposed_customs_value: Decimal
    shortfall: Decimal  # customs value KZT the line is short of the median
    extra_duty: Decimal
    extra_vat: Decimal
    extra_total: Decimal


def quantile(ordered: Sequence[Decimal], q: Decimal) -> Decimal:
    """Linear interpolation between closest ranks (the usual `quantile_cont` definition)."""
    position = q * (len(ordered) - 1)
    below = int(position)
    if below + 1 >= len(ordered):
        return ordered[-1]
    return ordered[below] + (ordered[below + 1] - ordered[below]) * (position - below)


def sample_stats(
    values: Sequence[Decimal], declarants: Sequence[str], own: str, rule: PriceRule
) -> Stats | None:
    """The sample's summary (None when empty): what the database engine computes at scale."""
    if not values:
        return None
    ordered = sorted(values)
    return Stats(
        lines=len(ordered),
        other_declarants=len(set(declarants) - {own}),
        low=quantile(ordered, Decimal(rule.percentile) / 100),
        q1=quantile(ordered, Decimal("0.25")),
        median=quantile(ordered, Decimal("0.5")),
        q3=quantile(ordered, Decimal("0.75")),
    )


def reference_sample(
    line_id: int,
    line: DeclarationLine,
    history: Sequence[tuple[int, DeclarationLine]],
    level: Level,
    rule: PriceRule,
) -> tuple[list[Decimal], list[str]]:
    """The unit values and declarants of the lines the rule compares `line` with.

    This is the definition; the screening engine computes the same over millions of lines
    in one pass, and the tests hold the two together."""
    width = 10 if level == "hs10" else 6
    first_day = line.registered_on - timedelta(days=rule.window_days)
    chosen = [
        other
        for other_id, other in history
        if other_id != line_id
        and other.hs_code[:width] == line.hs_code[:width]
        and other.unit == line.unit
        and (not rule.same_origin or other.origin_country == line.origin_country)
        and first_day <= other.registered_on <= line.registered_on
    ]
    return [o.unit_value for o in chosen], [o.declarant_bin for o in chosen]


def sufficient(stats: Stats | None, rule: PriceRule) -> bool:
    return (
        stats is not None
        and stats.lines >= rule.min_lines
        and stats.other_declarants >= rule.min_declarants
    )


def judge(
    line: DeclarationLine, hs10: Stats | None, hs6: Stats | None, rule: PriceRule
) -> tuple[Reference, Decimal] | None:
    """The reference the line is judged by and its score (share below the median), or None
    when the line is not flagged or there is no usable reference."""
    if sufficient(hs10, rule):
        level: Level = "hs10"
        stats = hs10
    elif sufficient(hs6, rule):
        level, stats = "hs6", hs6
    else:
        return None
    assert stats is not None
    value = line.unit_value
    if not (value < stats.median * rule.median_share and value < stats.low):
        return None
    reference = Reference(
        **stats.model_dump(),
        level=level,
        hs_code=line.hs_code if level == "hs10" else line.hs_code[:6],
        unit=line.unit,
        origin_country=line.origin_country if rule.same_origin else None,
    )
    score = (1 - value / stats.median).quantize(Decimal("0.0001"))
    return reference, score


def audit_line(line: DeclarationLine, customs_value: Decimal | None = None) -> AuditLine:
    """The line as an audit carries it, in KZT: declared, and adjusted to `customs_value`
    (unchanged when None, for the declaration's lines the rule did not flag)."""
    declared = ChargeLine(
        declaration=line.declaration_number,
        registered_on=line.registered_on,
        price_paid=line.customs_value_kzt,
        duty_rate_percent=line.duty_rate_percent or Decimal(0),
        quantity=line.quantity,
    )
    adjusted = declared.model_copy(
        update={"price_paid": line.customs_value_kzt if customs_value is None else customs_value}
    )
    return AuditLine(declared=declared, adjusted=adjusted)


def evidence(
    line: DeclarationLine, reference: Reference, rule: PriceRule, tables: RateTables
) -> PriceEvidence:
    """What the flag rests on, and what valuing the line at the median would add."""
    proposed = to_tiyn(reference.median * line.quantity)
    charged = audit_line(line, proposed)
    declared = compute_line(charged.declared, tables)
    adjusted = compute_line(charged.adjusted, tables)
    return PriceEvidence(
        reference=reference,
        percentile=rule.percentile,
        median_share=rule.median_share,
        declared_unit_value=to_tiyn(line.unit_value),
        quantity=line.quantity,
        declared_customs_value=line.customs_value_kzt,
        proposed_customs_value=proposed,
        shortfall=proposed - line.customs_value_kzt,
        extra_duty=adjusted.customs_duty - declared.customs_duty,
        extra_vat=adjusted.vat - declared.vat,
        extra_total=adjusted.total - declared.total,
    )
