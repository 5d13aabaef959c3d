"""The `RiskScreening` workflow: one pass of the screening over what is not yet screened.

It plans batches (ranges of 6-digit headings), hands each to an activity and keeps the
running counts, which a query (`progress`) and the search attributes ScreeningStatus,
ScreeningProgress (percent of batches) and ScreeningCandidates show while it runs. Started
nightly by a Temporal Schedule, or on demand through the API.
"""

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from workflows.search_attributes import (
    SCREENING_CANDIDATES,
    SCREENING_PROGRESS,
    SCREENING_STATUS,
)

with workflow.unsafe.imports_passed_through():
    from domain.screening.run import (
        CLOSE_RUN,
        OPEN_RUN,
        SCREEN_POSTAL,
        SCREEN_PRICES,
        WORKFLOW,
        BatchOrder,
        Counted,
        PostalOrder,
        Progress,
        RunClose,
        RunOrder,
        RunPlan,
    )

STEP_TIMEOUT = timedelta(minutes=30)
# A batch that fails five times in a row fails for a reason a retry will not cure.
STEP_RETRY = RetryPolicy(initial_interval=timedelta(seconds=2), maximum_attempts=5)
BOOKKEEPING_TIMEOUT = timedelta(seconds=60)


@workflow.defn(name=WORKFLOW)
class RiskScreening:
    def __init__(self) -> None:
        self._progress = Progress()

    @workflow.run
    async def run(self, order: RunOrder) -> Progress:
        plan: RunPlan = await workflow.execute_activity(
            OPEN_RUN,
            order,
            result_type=RunPlan,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        progress = self._progress
        progress.run_id = plan.run_id
        progress.status = "running"
        progress.batches_total = len(plan.batches)
        self._publish()
        try:
            for index, batch in enumerate(plan.batches):
                counted = await self._step(
                    SCREEN_PRICES,
                    BatchOrder(
                        run_id=plan.run_id, upto_line_id=plan.upto_line_id, index=index, batch=batch
                    ),
                )
                progress.batches_done = index + 1
                progress.lines_screened += counted.screened
                progress.price_candidates += counted.candidates
                self._publish()
            counted = await self._step(
                SCREEN_POSTAL, PostalOrder(run_id=plan.run_id, upto_item_id=plan.upto_item_id)
            )
        except ActivityError as error:
            progress.status = "failed"
            self._publish()
            await self._close(RunClose(run_id=plan.run_id, status="failed", error=str(error.cause)))
            raise ApplicationError(f"screening run {plan.run_id} failed: {error.cause}") from error
        progress.items_screened = counted.screened
        progress.postal_candidates = counted.candidates
        progress.status = "completed"
        await self._close(RunClose(run_id=plan.run_id, status="completed"))
        self._publish()
        return progress

    @workflow.query
    def progress(self) -> Progress:
        return self._progress

    async def _step(self, name: str, order: BatchOrder | PostalOrder) -> Counted:
        result: Counted = await workflow.execute_activity(
            name,
            order,
            result_type=Counted,
            start_to_close_timeout=STEP_TIMEOUT,
            retry_policy=STEP_RETRY,
        )
        return result

    async def _close(self, close: RunClose) -> None:
        await workflow.execute_activity(
            CLOSE_RUN, close, start_to_close_timeout=BOOKKEEPING_TIMEOUT
        )

    def _publish(self) -> None:
        progress = self._progress
        share = progress.batches_done / progress.batches_total if progress.batches_total else 1.0
        workflow.upsert_search_attributes(
            [
                SCREENING_STATUS.value_set(progress.status),
                SCREENING_PROGRESS.value_set(round(100 * share, 1)),
                SCREENING_CANDIDATES.value_set(
                    progress.price_candidates + progress.postal_candidates
                ),
            ]
        )
