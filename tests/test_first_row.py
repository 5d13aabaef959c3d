"""A case's first row is written twice at its start, by the API and by the case's own
projection: whichever comes second must take the row over, not fail and wait a retry."""

import asyncio
from typing import Any

import httpx
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from domain.tasks import SAVE_PROJECTION
from tests.cases import local_step, until
from tests.factories import start_body


async def _projection_attempts(client: Client, audit_id: str) -> list[int]:
    """The attempt on which each write of the case's read model completed."""
    history = await client.get_workflow_handle(audit_id).fetch_history()
    return [
        step["attempt"]
        for event in history.events
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and (step := local_step(event))
        and step["activity_type"] == SAVE_PROJECTION
    ]


async def test_the_first_row_is_written_once_without_a_retry(
    api: httpx.AsyncClient, dev_env: Any
) -> None:
    replies = await asyncio.gather(*(api.post("/audits", json=start_body()) for _ in range(5)))
    ids = [reply.json()["id"] for reply in replies]
    for audit_id in ids:
        await until(api, audit_id, "AWAITING_RESPONSE")
    attempts = {audit_id: await _projection_attempts(dev_env.client, audit_id) for audit_id in ids}
    assert all(a and a == [1] * len(a) for a in attempts.values()), attempts
