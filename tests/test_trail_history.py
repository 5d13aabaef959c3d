"""The Temporal history and the trail tell the same story: replay a finished case's history,
take the snapshot of the finished case, and find every step in the trail, in order."""

from sqlalchemy.engine import Engine
from sqlmodel import Session
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config import Settings
from db import trail
from domain.case import CaseSummary
from domain.lifecycle import AuditStatus
from tests.cases import finished, start_case, wait_for
from tests.factories import audit_start, explanation_for, review_order
from worker import build_worker, workflow_runner
from workflows.cameral_audit import CameralAudit
from workflows.payloads import data_converter

TRANSITIONS = ["started", "delivered", "explanation_received", "explanation_accepted"]


async def test_every_transition_of_the_history_is_in_the_trail(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    async with build_worker(time_env.client, task_queue, engine, settings):
        handle = await start_case(time_env.client, task_queue, audit_start())
        case = await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        await handle.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await handle.execute_update(CameralAudit.review, review_order(decision="accept"))
        final = await finished(handle)
        history = await handle.fetch_history()

    await Replayer(
        workflows=[CameralAudit],
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
    ).replay_workflow(history)
    completed = history.events[-1].workflow_execution_completed_event_attributes
    [ended] = await data_converter.decode(completed.result.payloads, [CaseSummary])
    assert ended.status == final.status and ended.version == final.version

    rows = trail.read(engine, final.id)
    from_history = [str(e.kind) for e in final.events]
    in_trail = [r.action for r in rows if r.source.startswith("event:")]
    assert in_trail == from_history
    assert [k for k in in_trail if k in TRANSITIONS] == TRANSITIONS
    assert trail.verify(engine, final.id).valid
    by_action = {r.action: r for r in rows}
    assert by_action["explanation_received"].role == "party"
    assert by_action["started"].actor == final.inspector_id


def test_a_trail_write_that_loses_the_race_for_its_place_is_done_again(engine: Engine) -> None:
    """Two writers append to one case's trail at once (a request and the case's projection):
    the one that finds its (case, seq) taken runs again after the other, never a 500, and
    the chain stays whole."""
    audit_id = "CA-2026-000777"

    def entry(source: str) -> trail.Entry:
        return trail.Entry(action=source, actor="I-001", role="inspector", source=source)

    tries = 0

    def mine(session: Session) -> None:
        nonlocal tries
        tries += 1
        trail.append_in(session, audit_id, [entry("mine")])
        if tries == 1:  # the other writer commits the same place first
            trail.append(engine, audit_id, [entry("theirs")])

    trail.in_order(engine, mine)
    assert [row.source for row in trail.read(engine, audit_id)] == ["theirs", "mine"]
    assert tries == 2 and trail.verify(engine, audit_id).valid
