"""Our own short steps (a read or write of our database: the case's terms, deadlines, reminder
days, the read model), run from the workflow.

Since versions.LOCAL_STEPS each is a local activity: the history keeps only its result, and it
needs no round trip through the server. Cases started before run them as activities, as they
ran. Either way they are retried with the same policy, and a step that fails for good raises
StepFailed (a local activity's failure comes without the ActivityError around it).

Since versions.ONE_STEP_AT_A_TIME a case runs one local step at a time (`LocalSteps`). The
read model's writer, the reminders and the main flow each run steps, and when two ran at once
and finished in one order live, a replay could hand their results back grouped another way:
the SDK then delivered one step's result to the other (a query failed with "Failed decoding
arguments", or with a nondeterminism error). With one step in flight nothing can be regrouped.
"""

import asyncio
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import courier
from workflows.versions import LOCAL_STEPS, ONE_STEP_AT_A_TIME, since

T = TypeVar("T")
# A local step still failing after this long waits on a timer instead of holding the
# workflow task: the case goes on taking signals and updates during a database outage.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=3)


class StepFailed(Exception):
    """One of our own steps failed for good (a non-retryable error); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LocalSteps:
    """The case's own steps, run one after another in the order they were asked for."""

    def __init__(self) -> None:
        self._lane = asyncio.Lock()  # first come, first served: deterministic on replay

    async def run(self, activity: str, arg: Any, result_type: type[T]) -> T:
        if not since(ONE_STEP_AT_A_TIME):
            return await _run_step(activity, arg, result_type)
        async with self._lane:
            return await _run_step(activity, arg, result_type)


async def _run_step(activity: str, arg: Any, result_type: type[T]) -> T:
    result: T
    try:
        if since(LOCAL_STEPS):
            result = await workflow.execute_local_activity(
                activity,
                arg,
                result_type=result_type,
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
                local_retry_threshold=LOCAL_RETRY_THRESHOLD,
            )
        else:
            result = await workflow.execute_activity(
                activity,
                arg,
                result_type=result_type,
                start_to_close_timeout=courier.ACTIVITY_TIMEOUT,
                retry_policy=courier.DURABLE,
            )
    except ActivityError as error:
        raise StepFailed(str(error.cause or error)) from error
    except ApplicationError as error:
        raise StepFailed(str(error)) from error
    return result
