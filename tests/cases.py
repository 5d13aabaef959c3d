"""Helpers to drive a case through Temporal the way the API does."""

import asyncio
from typing import Any

from temporalio.client import Client, WorkflowHandle

from domain.case import AuditStart, CaseSnapshot
from domain.lifecycle import AuditStatus
from workflows.cameral_audit import CameralAudit


async def start_case(
    client: Client, task_queue: str, start: AuditStart
) -> WorkflowHandle[Any, Any]:
    return await client.start_workflow(
        CameralAudit.run, start, id=start.audit_id, task_queue=task_queue
    )


async def wait_for(
    handle: WorkflowHandle[Any, Any], predicate: AuditStatus, timeout: float = 30
) -> CaseSnapshot:
    """Poll the snapshot query (queries do not skip time) until the case reaches a status."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        snapshot: CaseSnapshot = await handle.query(CameralAudit.snapshot)
        if snapshot.status == predicate:
            return snapshot
        if loop.time() > deadline:
            raise AssertionError(f"case stayed {snapshot.status}, expected {predicate}")
        await asyncio.sleep(0.1)
