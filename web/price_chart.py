"""The geometry of a price candidate's chart: a box plot of the similar goods' unit values
with the declared one marked.

Drawn from the summary the candidate keeps (10th percentile, quartiles, median; what the
rule judged by), not from the sample's lines: a candidate does not keep its sample, which
is hundreds of lines that the trailing window has moved on from by the time an inspector
looks. So the box is honest about what is known — the whisker runs down to the rule's low
percentile and there is none above the third quartile, because no maximum was kept.
"""

import math
from dataclasses import dataclass
from decimal import Decimal

from domain.screening.price import PriceEvidence

WIDTH = 640
LEFT, RIGHT = 20, 620  # the axis inside the drawing, leaving room for end labels


@dataclass(frozen=True)
class Tick:
    x: float
    value: Decimal


@dataclass(frozen=True)
class PriceChart:
    """x positions (in the SVG's user units) of each figure, and the axis ticks."""

    low: float
    q1: float
    median: float
    q3: float
    declared: float
    threshold: float | None  # the share of the median a line had to fall below
    threshold_value: Decimal | None
    ticks: list[Tick]


def price_chart(evidence: PriceEvidence) -> PriceChart:
    """Scale from a little below the lowest figure to a little above the third quartile."""
    reference = evidence.reference
    threshold = (
        reference.median * evidence.median_share if evidence.median_share is not None else None
    )
    figures = [reference.low, reference.q1, reference.median, reference.q3]
    lowest = min([*figures, evidence.declared_unit_value, *([threshold] if threshold else [])])
    highest = max(figures)
    margin = (highest - lowest) * Decimal("0.08") or highest * Decimal("0.05") or Decimal(1)
    start, end = max(lowest - margin, Decimal(0)), highest + margin

    def x(value: Decimal) -> float:
        return round(LEFT + float((value - start) / (end - start)) * (RIGHT - LEFT), 1)

    return PriceChart(
        low=x(reference.low),
        q1=x(reference.q1),
        median=x(reference.median),
        q3=x(reference.q3),
        declared=x(evidence.declared_unit_value),
        threshold=x(threshold) if threshold is not None else None,
        threshold_value=threshold.quantize(Decimal("0.01")) if threshold is not None else None,
        ticks=[Tick(x(value), value) for value in _ticks(start, end)],
    )


def _ticks(start: Decimal, end: Decimal, about: int = 5) -> list[Decimal]:
    """Round values (1, 2 or 5 times a power of ten apart) inside [start, end]."""
    raw = float(end - start) / about
    power = 10 ** math.floor(math.log10(raw))
    step = Decimal(str(next(m * power for m in (1, 2, 5, 10) if m * power >= raw)))
    first = (start / step).to_integral_value(rounding="ROUND_CEILING") * step
    found = []
    value = first
    while value <= end:
        found.append(value.quantize(Decimal(1)) if step >= 1 else value)
        value += step
    return found
