"""The rate tables and charge arithmetic a case runs on, fixed once at its start.

An activity, so the tables and figures are recorded in the history: a later edit of the
tables never changes a computed notification on replay, and the workflow can settle
payments itself (pure arithmetic) with the base-rate table it was given.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.assessment import NothingToCharge, assess
from domain.rates import RateTables
from domain.tasks import FIX_TERMS, CaseTerms, TermsRequest

UNASSESSABLE = "Unassessable"


class ChargeActivities:
    def __init__(self, tables: RateTables) -> None:
        self._tables = tables

    @activity.defn(name=FIX_TERMS)
    def fix_case_terms(self, request: TermsRequest) -> CaseTerms:
        if request.lines is None:
            return CaseTerms(base_rates=self._tables.base_rate)
        try:
            assessment = assess(request.lines, request.notification_date, self._tables)
        except (NothingToCharge, LookupError) as error:
            raise ApplicationError(str(error), type=UNASSESSABLE, non_retryable=True) from error
        return CaseTerms(base_rates=self._tables.base_rate, assessment=assessment)
