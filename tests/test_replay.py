"""Recorded histories of finished cases must replay on the current workflow code.

A change that alters the commands of running cases must be guarded with
`workflow.patched(...)`; this test fails if it is not. To record the histories again after a
deliberate, patched change, run with RECORD_HISTORIES=1 (the files are then rewritten).
"""

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config import Settings
from domain.case import CaseSnapshot, Payment, ReviewDecision
from domain.lifecycle import AuditStatus
from tests.cases import start_case, wait_for
from tests.factories import AMOUNT_DUE, audit_start, explanation_for
from worker import build_worker, workflow_runner
from workflows.cameral_audit import CameralAudit

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("RECORD_HISTORIES") == "1"


@pytest.mark.skipif(not RECORD, reason="set RECORD_HISTORIES=1 to record histories again")
async def test_record_histories(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    client = time_env.client
    async with build_worker(client, task_queue, engine, settings):
        accepted = await start_case(client, task_queue, audit_start())
        case = await wait_for(accepted, AuditStatus.AWAITING_RESPONSE)
        await accepted.execute_update(CameralAudit.submit_explanation, explanation_for(case))
        await accepted.execute_update(CameralAudit.review, ReviewDecision(decision="accept"))
        paid = await start_case(client, task_queue, audit_start())
        case = await wait_for(paid, AuditStatus.AWAITING_RESPONSE)
        await paid.signal(
            CameralAudit.record_payment,
            Payment(reference="R-1", amount=AMOUNT_DUE, paid_at=case.issued_on),
        )
        silent = await start_case(client, task_queue, audit_start())
        for name, handle in (("accepted", accepted), ("paid", paid), ("silent", silent)):
            result: CaseSnapshot = await handle.result()
            history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())
            assert result.status in TERMINAL_STATUSES


TERMINAL_STATUSES = {
    AuditStatus.EXPLANATION_ACCEPTED,
    AuditStatus.FULFILLED,
    AuditStatus.UNFULFILLED,
}


@pytest.mark.parametrize("name", ["accepted", "paid", "silent"])
async def test_recorded_history_replays(name: str) -> None:
    path = HISTORIES / f"{name}.json"
    history = WorkflowHistory.from_json(f"recorded-{name}", path.read_text())
    replayer = Replayer(
        workflows=[CameralAudit],
        data_converter=pydantic_data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)
