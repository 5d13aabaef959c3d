"""The nightly Temporal Schedule that starts `RiskScreening`, created or brought up to date
from the settings by the worker at start-up and by `customs-audit schedules`."""

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)

from domain.clock import ALMATY
from domain.screening.run import WORKFLOW, RunOrder

SCHEDULE_ID = "risk-screening"


def screening_schedule(task_queue: str, cron: str, enabled: bool) -> Schedule:
    return Schedule(
        action=ScheduleActionStartWorkflow(
            WORKFLOW, RunOrder(trigger="schedule"), id="risk-screening-run", task_queue=task_queue
        ),
        spec=ScheduleSpec(cron_expressions=[cron], time_zone_name=str(ALMATY)),
        # A run still going when the next is due has all the pending lines already.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(
            paused=not enabled,
            note="risk screening of new declaration lines and postal items",
        ),
    )


async def ensure_schedule(client: Client, task_queue: str, cron: str, enabled: bool) -> None:
    """Create the schedule, or make the existing one match the settings (idempotent)."""
    schedule = screening_schedule(task_queue, cron, enabled)
    try:
        await client.create_schedule(SCHEDULE_ID, schedule)
    except ScheduleAlreadyRunningError:

        def replace(_: ScheduleUpdateInput) -> ScheduleUpdate:
            return ScheduleUpdate(schedule=schedule)

        await client.get_schedule_handle(SCHEDULE_ID).update(replace)
