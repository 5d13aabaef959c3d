"""The yardsticks of the lifecycle benchmark (their own module so the workflow sandbox can
load it): a workflow with the same number of activities and one signal, doing nothing else;
and one that makes the lifecycle's own activity calls, in the same order and with the same
arguments, and waits for one signal: the same work without the case's rules, updates,
queries and read-model versions."""

from datetime import timedelta
from typing import Any

from temporalio import activity, workflow

BARE_ACTIVITIES = 14
STEP_TIMEOUT = timedelta(seconds=60)


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
            await workflow.execute_activity(bare_step, step, start_to_close_timeout=STEP_TIMEOUT)
        await workflow.wait_condition(lambda: self._paid)

    @workflow.signal
    def pay(self) -> None:
        self._paid = True


@workflow.defn(name="BareCaseDoingTheWork")
class BareCaseDoingTheWork:
    """`steps`: (activity, local?, arguments) as one lifecycle case called them, with the
    case's ids replaced by this case's own."""

    def __init__(self) -> None:
        self._paid = False

    @workflow.run
    async def run(self, steps: list[tuple[str, bool, list[Any]]]) -> None:
        for name, local, args in steps:
            if local:
                await workflow.execute_local_activity(
                    name, args=args, start_to_close_timeout=STEP_TIMEOUT
                )
            else:
                await workflow.execute_activity(
                    name, args=args, start_to_close_timeout=STEP_TIMEOUT
                )
        await workflow.wait_condition(lambda: self._paid)

    @workflow.signal
    def pay(self) -> None:
        self._paid = True
