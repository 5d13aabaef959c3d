"""The yardstick of the lifecycle benchmark: a workflow with the same number of activities
and one signal, doing nothing else (its own module so the workflow sandbox can load it)."""

from datetime import timedelta

from temporalio import activity, workflow

BARE_ACTIVITIES = 14


@activity.defn(name="bare_step")
async def bare_step(step: int) -> int:
    return step


@workflow.defn(name="BareCase")
class BareCase:
    """The same number of activities and one signal, and nothing else."""

    def __init__(self) -> None:
        self._paid = False

    @workflow.run
    async def run(self) -> None:
        for step in range(BARE_ACTIVITIES):
            await workflow.execute_activity(
                bare_step, step, start_to_close_timeout=timedelta(seconds=30)
            )
        await workflow.wait_condition(lambda: self._paid)

    @workflow.signal
    def pay(self) -> None:
        self._paid = True
