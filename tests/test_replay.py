"""Recorded histories of every branch of a case must replay on the current workflow code.

A change that alters the commands of running cases must be guarded with
`workflow.patched(...)`; this test fails if it is not. Recordings are only ever added:
RECORD_HISTORIES=1 records the scenarios that have no file yet, under the name of the
scenario, and never rewrites an existing one. Record a new scenario (or a new variant of an
old one under a new name) whenever a change adds commands.
"""

import os
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Replayer

from config import Settings
from domain.case import (
    CaseSnapshot,
)
from domain.lifecycle import AuditStatus
from tests.cases import (
    finished,
    start_case,
    wait_for,
)
from tests.factories import (
    audit_start,
)
from tests.replay_scenarios import SCENARIOS
from worker import build_worker, workflow_runner
from workflows.cameral_audit import CameralAudit
from workflows.payloads import data_converter

HISTORIES = Path(__file__).parent / "histories"
RECORD = os.environ.get("RECORD_HISTORIES") == "1"


@pytest.mark.skipif(not RECORD, reason="set RECORD_HISTORIES=1 to record missing histories")
async def test_record_missing_histories(
    time_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    client: Client = time_env.client
    async with build_worker(client, task_queue, engine, settings):
        for name, scenario in SCENARIOS.items():
            path = HISTORIES / f"{name}.json"
            if path.exists():
                continue  # recordings are added, never rewritten
            handle = await scenario(time_env, task_queue, engine, settings)
            result: CaseSnapshot = await finished(handle)
            assert result.status != AuditStatus.ISSUED
            path.write_text((await handle.fetch_history()).to_json())


@pytest.mark.parametrize("path", sorted(HISTORIES.glob("*.json")), ids=lambda p: p.stem)
async def test_recorded_history_replays(path: Path) -> None:
    history = WorkflowHistory.from_json(f"recorded-{path.stem}", path.read_text())
    replayer = Replayer(
        workflows=[CameralAudit],
        data_converter=data_converter,
        workflow_runner=workflow_runner(),
    )
    await replayer.replay_workflow(history)


def test_every_scenario_has_a_recording() -> None:
    missing = [name for name in SCENARIOS if not (HISTORIES / f"{name}.json").exists()]
    assert not missing, f"record them with RECORD_HISTORIES=1: {missing}"


async def test_histories_made_now_replay_after_the_worker_stops(
    dev_env: WorkflowEnvironment, engine: Engine, task_queue: str, settings: Settings
) -> None:
    """Cases served on the real dev server by a worker that is then stopped: a new worker
    replays each history from the start. Local activities can end a workflow task at
    other points than a replay does, so a patch asked late was seen to fail here."""
    client = dev_env.client
    handles = []
    for _ in range(3):
        async with build_worker(client, task_queue, engine, settings):
            started = [await start_case(client, task_queue, audit_start()) for _ in range(2)]
            for handle in started:
                await wait_for(handle, AuditStatus.AWAITING_RESPONSE)
        handles += started
    replayer = Replayer(
        workflows=[CameralAudit], data_converter=data_converter, workflow_runner=workflow_runner()
    )
    for handle in handles:
        await replayer.replay_workflow(await handle.fetch_history())
