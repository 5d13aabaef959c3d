"""Our own short steps (a read or write of our database: the case's terms, deadlines, reminder
days, the read model), run from the workflow.

Since versions.LOCAL_STEPS each is a local activity: the history keeps only its result, and it
needs no round trip through the server. Cases started before run them as activities, as they
ran. Either way they are retried with the same policy, and a step that fails for good raises
StepFailed (a local activity's failure comes without the ActivityError around it).
"""

from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

from workflows import courier
from workflows.versions import LOCAL_STEPS, since

T = TypeVar("T")
# A local step still failing after this long waits on a timer instead of holding the
# workflow task: the case goes on taking signals and updates during a database outage.
LOCAL_RETRY_THRESHOLD = timedelta(seconds=3)


class StepFailed(Exception):
    """One of our own steps failed for good (a non-retryable error); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


async def run_step(activity: str, arg: Any, result_type: type[T]) -> T:
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
