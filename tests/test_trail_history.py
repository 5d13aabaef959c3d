"""The Temporal history and the trail tell the same story: replay a finished case's history,
take the final state it yields, and find every step in the trail, in order."""

from sqlalchemy.engine import Engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config import Settings
from db import trail
from domain.case import CaseSnapshot
from domain.lifecycle import AuditStatus
from tests.cases import start_case, wait_for
from tests.factories import audit_start, explanation_for, review_order
from worker import build_worker, workflow_runner
from workflows.cameral_audit import CameralAudit

TRANSITIONS = ["started", "delivered", "explanation_received", "explanation_accepted"]


async def test_every_transition_of_the_history_is_in_the_trail(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
        await handle.result()
        history = await handle.fetch_history()

    await Replayer(
        workflows=[CameralAudit],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    ).replay_workflow(history)
    completed = history.events[-1].workflow_execution_completed_event_attributes
    [final] = await pydantic_data_converter.decode(completed.result.payloads, [CaseSnapshot])
    assert isinstance(final, CaseSnapshot)

    rows = trail.read(engine, final.id)
    from_history = [str(e.kind) for e in final.events]
    in_trail = [r.action for r in rows if r.source.startswith("event:")]
    assert in_trail == from_history
    assert [k for k in in_trail if k in TRANSITIONS] == TRANSITIONS
    assert trail.verify(engine, final.id).valid
    by_action = {r.action: r for r in rows}
    assert by_action["explanation_received"].role == "party"
    assert by_action["started"].actor == final.inspector_id
