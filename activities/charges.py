"""The charge arithmetic with the dated rate tables this deployment uses.

An activity, so the figures are recorded in the history: a later edit of the tables never
changes a computed notification on replay.
"""

from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.assessment import Assessment, NothingToCharge, assess
from domain.rates import RateTables
from domain.settlement import Settlement, settle
from domain.tasks import ASSESS_CHARGES, SETTLE_PAYMENTS, AssessRequest, SettleRequest

UNASSESSABLE = "Unassessable"


class ChargeActivities:
    def __init__(self, tables: RateTables) -> None:
        self._tables = tables

    @activity.defn(name=ASSESS_CHARGES)
    def assess_charges(self, request: AssessRequest) -> Assessment:
        try:
            return assess(request.lines, request.notification_date, self._tables)
        except (NothingToCharge, LookupError) as error:
            raise ApplicationError(str(error), type=UNASSESSABLE, non_retryable=True) from error

    @activity.defn(name=SETTLE_PAYMENTS)
    def settle_payments(self, request: SettleRequest) -> Settlement:
        return settle(
            request.charges,
            request.payments,
            request.as_of,
            request.notification_date,
            request.response_deadline,
            self._tables.base_rate,
        )
