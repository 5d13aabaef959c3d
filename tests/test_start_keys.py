"""Starting under an Idempotency-Key when two tries of the same request overlap: whichever
starts the workflow first, both answer with that one case."""

import asyncio
from typing import Any

from sqlalchemy.engine import Engine
from temporalio.testing import WorkflowEnvironment

from api.auth import Principal
from api.cases import CaseGateway
from api.schemas import StartAuditRequest
from api.starting import StartKey, start_case
from config import Settings
from db.reference import load_rate_tables
from domain.case import AuditStart
from domain.case_state import CaseState
from tests.conftest import own_number_block
from tests.factories import start_body


class FirstStartWaits(CaseGateway):
    """The real gateway, except that the first start waits until it is let go: the moment
    in which an overlapping retry of the same request gets ahead of it."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.waiting = asyncio.Event()
        self.go = asyncio.Event()

    async def start(self, start: AuditStart, *args: Any, **kwargs: Any) -> CaseState:
        if not self.waiting.is_set():
            self.waiting.set()
            await self.go.wait()
        return await super().start(start, *args, **kwargs)


async def test_overlapping_tries_of_one_start_give_one_case(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings, task_queue: str
) -> None:
    own_number_block(engine)
    gateway = FirstStartWaits(dev_env.client, task_queue)
    body = start_body()
    del body["audit_id"]
    request = StartAuditRequest.model_validate(body)
    inspector = Principal(sub="I-001", role="inspector", office="55201")
    key = StartKey.of_request(inspector.sub, "start-overlap-1", request)
    rates, terms = load_rate_tables(None), settings.penalty_terms

    first = asyncio.create_task(start_case(inspector, request, gateway, engine, rates, terms, key))
    await gateway.waiting.wait()  # the first try has bound the key and is about to start
    second = await start_case(inspector, request, gateway, engine, rates, terms, key)
    gateway.go.set()
    assert (await first).audit_id == second.audit_id
