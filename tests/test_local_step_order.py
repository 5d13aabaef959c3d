"""A case runs one local step at a time, so its history replays whatever order they took live.

Live, a local activity's result reaches the workflow when it finishes; on replay the SDK hands
back the results recorded in one workflow task grouped its own way. When the read model's
writer and the reminders ran steps at the same time and the writer started another before the
reminders' step finished, a replay (a query, a new worker) could deliver the reminder days to
the writer's step: "Failed decoding arguments", or a nondeterminism error, and the case could
no longer be read or moved. Here the reminders' step is made slow so that it overlaps the
writer's, as it does under load.
"""

import asyncio
from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Engine
from temporalio import activity
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    Replayer,
)

from config import Settings
from domain.case import CaseSnapshot, Payment
from domain.lifecycle import AuditStatus
from domain.tasks import COMPUTE_REMINDERS
from tests.cases import finished, start_case, wait_for
from tests.factories import AMOUNT_DUE, audit_start
from worker import build_worker, workflow_runner
from workflows.cameral_audit import CameralAudit
from workflows.payloads import data_converter

SLOW_STEP = 0.3  # seconds: longer than the writer's step, so the two overlap unless queued


class _LocalStepsInFlight(Interceptor):
    """Counts each case's local steps running at once (the most seen), and slows one kind."""

    def __init__(self, slow: str) -> None:
        self.slow = slow
        self.running: dict[str, int] = defaultdict(int)
        self.most: dict[str, int] = defaultdict(int)

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        counts = self

        class Counted(ActivityInboundInterceptor):
            async def execute_activity(self, input: ExecuteActivityInput) -> Any:
                info = activity.info()
                if not info.is_local:
                    return await super().execute_activity(input)
                case = info.workflow_id or ""
                counts.running[case] += 1
                counts.most[case] = max(counts.most[case], counts.running[case])
                try:
                    if info.activity_type == counts.slow:
                        await asyncio.sleep(SLOW_STEP)
                    return await super().execute_activity(input)
                finally:
                    counts.running[case] -= 1

        return Counted(next)


async def _paid_in_two_parts(handle: WorkflowHandle[Any, Any]) -> None:
    case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
    part = Decimal("1000000.00")
    for reference, amount in (("KZT-1", part), ("KZT-2", AMOUNT_DUE - part)):
        await handle.signal(
            CameralAudit.post_payment,
            Payment(reference=reference, amount=amount, paid_at=case.issued_on),
        )
    result: CaseSnapshot = await finished(handle)
    assert result.status == AuditStatus.FULFILLED


async def test_a_case_runs_one_local_step_at_a_time_and_replays(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    client = time_env.client
    steps = _LocalStepsInFlight(slow=COMPUTE_REMINDERS)
    handles = []
    async with build_worker(client, task_queue, engine, settings, interceptors=[steps]):
        for _ in range(4):
            handle = await start_case(client, task_queue, audit_start())
            await _paid_in_two_parts(handle)
            handles.append(handle)
    assert set(steps.most) == {handle.id for handle in handles}
    assert max(steps.most.values()) == 1, dict(steps.most)
    replayer = Replayer(
        workflows=[CameralAudit], data_converter=data_converter, workflow_runner=workflow_runner()
    )
    for handle in handles:
        await replayer.replay_workflow(await handle.fetch_history())
