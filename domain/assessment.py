"""What a post-release audit adds: declared vs. adjusted figures per line, and the penalty
for the time the difference went unpaid before the notification."""

from collections.abc import Collection
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, model_validator

from domain.charges import ChargeLine, Charges, LineFigures, Totals, compute_line, totals
from domain.money import to_tiyn
from domain.penalty import PenaltyTerms
from domain.rates import RateTables
from domain.wording import N_

_CHARGES = ("customs_duty", "customs_fee", "vat", "excise")


class AuditLine(BaseModel):
    """One declaration line: what the importer declared and what the audit established."""

    declared: ChargeLine
    adjusted: ChargeLine

    @model_validator(mode="after")
    def _same_line(self) -> "AuditLine":
        if (self.declared.declaration, self.declared.registered_on) != (
            self.adjusted.declaration,
            self.adjusted.registered_on,
        ):
            raise ValueError(N_("declared and adjusted must name the same declaration and date"))
        return self


class AssessedLine(BaseModel):
    declaration: str
    registered_on: date
    declared: LineFigures
    adjusted: LineFigures
    additional: Totals
    penalty_days: int
    penalty: Decimal


class Assessment(BaseModel):
    notification_date: date
    lines: list[AssessedLine]
    additional: Totals
    penalty: Decimal
    penalty_base: Decimal  # what was added that penalty accrues on (see PenaltyTerms)

    @property
    def charges(self) -> Charges:
        return Charges(
            customs_duty=self.additional.customs_duty,
            vat=self.additional.vat,
            customs_fee=self.additional.customs_fee,
            excise=self.additional.excise,
            penalty=self.penalty,
        )

    def charges_for(self, declarations: Collection[str]) -> Charges | None:
        """The charges of the lines of `declarations` alone (an explanation accepted for the
        others), or None if those lines add nothing."""
        kept = [line for line in self.lines if line.declaration in declarations]
        additional = totals([line.additional for line in kept])
        penalty = to_tiyn(sum((line.penalty for line in kept), Decimal(0)))
        if additional.total + penalty <= 0:
            return None
        return Charges(
            customs_duty=additional.customs_duty,
            vat=additional.vat,
            customs_fee=additional.customs_fee,
            excise=additional.excise,
            penalty=penalty,
        )


class NothingToCharge(ValueError):
    """The adjusted figures add nothing (or less than declared): no notification is due."""


def assess(
    lines: list[AuditLine], notification_date: date, tables: RateTables, terms: PenaltyTerms
) -> Assessment:
    assessed = [_assess_line(line, notification_date, tables, terms) for line in lines]
    additional = totals([a.additional for a in assessed])
    penalty = to_tiyn(sum((a.penalty for a in assessed), Decimal(0)))
    if additional.total <= 0:
        raise NothingToCharge("no charge increases: the adjusted figures add no duties or taxes")
    return Assessment(
        notification_date=notification_date,
        lines=assessed,
        additional=additional,
        penalty=penalty,
        penalty_base=terms.base(additional),
    )


def _assess_line(
    line: AuditLine, notification_date: date, tables: RateTables, terms: PenaltyTerms
) -> AssessedLine:
    declared = compute_line(line.declared, tables)
    adjusted = compute_line(line.adjusted, tables)
    # Each charge counts where it increases: a reclassification may lower the customs value
    # and still raise the duty (a higher rate) and so the VAT (Art. 417 covers what is owed).
    # A figure that fell is not carried as a negative amount: refunds are a separate
    # procedure, never netted off in a notification.
    increase = {
        kind: max(getattr(adjusted, kind) - getattr(declared, kind), Decimal(0))
        for kind in _CHARGES
    }
    value_increase = max(adjusted.customs_value - declared.customs_value, Decimal(0))
    additional = Totals(customs_value=value_increase, total=sum(increase.values()), **increase)
    # Due on registration; the delay runs from the next day up to (not including) the
    # notification date, from which the notification's own period takes over.
    first_day = line.declared.registered_on + timedelta(days=1)
    last_day = notification_date - timedelta(days=1)
    principal = terms.base(additional)
    return AssessedLine(
        declaration=line.declared.declaration,
        registered_on=line.declared.registered_on,
        declared=declared,
        adjusted=adjusted,
        additional=additional,
        penalty_days=max((last_day - first_day).days + 1, 0),
        penalty=terms.accrue(principal, first_day, last_day, tables.base_rate),
    )
