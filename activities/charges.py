"""The rate tables, penalty terms and charge arithmetic a case runs on, fixed once at its start.

An activity, so the tables, terms and figures are recorded in the history: a later edit of
the tables or the penalty settings never changes a computed notification on replay, and the
workflow can settle payments itself (pure arithmetic) with the base-rate table and penalty
terms it was given.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.assessment import NothingToCharge, assess
from domain.penalty import PenaltyTerms
from domain.rates import RateTables
from domain.tasks import FIX_TERMS, CaseTerms, TermsRequest

UNASSESSABLE = "Unassessable"


class ChargeActivities:
    def __init__(self, tables: RateTables, penalty_terms: PenaltyTerms) -> None:
        self._tables = tables
        self._penalty_terms = penalty_terms

    @activity.defn(name=FIX_TERMS)
    def fix_case_terms(self, request: TermsRequest) -> CaseTerms:
        # The penalty runs from the notification on, never before it.
        base_rates = self._tables.base_rate.from_day(request.notification_date)
        terms = CaseTerms(base_rates=base_rates, penalty_terms=self._penalty_terms)
        if request.lines is None:
            return terms
        try:
            assessment = assess(
                request.lines, request.notification_date, self._tables, self._penalty_terms
            )
        except (NothingToCharge, LookupError) as error:
            raise ApplicationError(str(error), type=UNASSESSABLE, non_retryable=True) from error
        return terms.model_copy(update={"assessment": assessment})
