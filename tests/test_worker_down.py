"""The API while no worker runs, on the real dev server: reads fall back to the stored copy
and say so, updates answer 503 with Retry-After and never take effect later, payments are
queued in Temporal and counted once a worker is back, unknown cases' payments are kept."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from api.app import create_app
from api.cases import update_id
from config import Settings
from domain.case import Cancellation
from tests.cases import until
from tests.conftest import serving
from tests.factories import AMOUNT_DUE, next_audit_id, start_body
from tests.tokens import ByEndpoint, Tokens
from worker import build_worker
from workflows.cameral_audit import CameralAudit


async def test_no_worker_means_stored_reads_503_writes_and_queued_payments(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    settings = settings.model_copy(update={"query_wait_seconds": 1, "update_wait_seconds": 2})
    app = create_app(settings, client=dev_env.client)
    worker = build_worker(dev_env.client, settings.temporal_task_queue, engine, settings)
    async with (
        serving(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30, auth=ByEndpoint(Tokens(settings))) as api,
    ):
        async with worker:
            started = await api.post("/audits", json=start_body())
            case = await until(api, started.json()["id"], "AWAITING_RESPONSE")
            # An update that reaches the case after its caller gave up (here: sent with a
            # deadline already past) is refused by the case; the server may also drop it,
            # the case does not rely on that.
            handle = dev_env.client.get_workflow_handle(case["id"])
            late_id = update_id("cancel", datetime.now(UTC) - timedelta(seconds=1))
            with pytest.raises(WorkflowUpdateFailedError) as late:
                await handle.execute_update(
                    CameralAudit.cancel, Cancellation(reason="late"), id=late_id
                )
            await asyncio.sleep(1)  # let the alerts and the last write finish
        audit = case["id"]

        began = time.monotonic()
        read = await api.get(f"/audits/{audit}")
        read_seconds = time.monotonic() - began
        cancel = await api.post(f"/audits/{audit}/cancel", json={"reason": "while down"})
        paid = await api.post(
            f"/audits/{audit}/payments",
            json={"reference": "Q-1", "amount": str(AMOUNT_DUE), "paid_at": case["issued_on"]},
        )
        stray = {"reference": "S-1", "amount": "10.00", "paid_at": case["issued_on"]}
        unknown = await api.post(f"/audits/{next_audit_id()}/payments", json=stray)
        kept = (await api.get("/payments/unmatched")).json()

        async with build_worker(dev_env.client, settings.temporal_task_queue, engine, settings):
            done = await until(api, audit, "FULFILLED")
    read_body: dict[str, Any] = read.json()
    assert read.status_code == 200 and read_body["live"] is False
    assert read_body["stored_at"] is not None and read_body["status"] == "AWAITING_RESPONSE"
    assert read_seconds < 10
    assert cancel.status_code == 503 and cancel.headers["retry-after"]
    assert "nothing was changed" in cancel.json()["detail"]
    assert paid.status_code == 202 and paid.json()["result"] == "queued"
    assert unknown.status_code == 202 and unknown.json()["result"] == "unknown_audit"
    assert [(p["reference"], p["amount"]) for p in kept] == [("S-1", "10.00")]
    # The payment taken while no worker ran was counted; the refused cancel never acted.
    assert done["status"] == "FULFILLED" and done["amount_paid"] == str(AMOUNT_DUE)
    assert "cancelled" not in [e["kind"] for e in done["events"]]
    refusal = late.value.cause
    assert isinstance(refusal, ApplicationError) and refusal.type == "Expired"


async def test_health_is_503_while_no_worker_polls_the_task_queue(
    dev_env: WorkflowEnvironment, engine: Engine, settings: Settings
) -> None:
    app = create_app(settings, client=dev_env.client)
    async with serving(app) as url, httpx.AsyncClient(base_url=url, timeout=30) as api:
        without = await api.get("/healthz")
        async with build_worker(dev_env.client, settings.temporal_task_queue, engine, settings):
            for _ in range(50):  # the first poll reaches the server a moment after start
                served = await api.get("/healthz")
                if served.status_code == 200:
                    break
                await asyncio.sleep(0.1)
    assert without.status_code == 503
    assert without.json()["worker"] == f"no worker polls task queue {settings.temporal_task_queue}"
    assert served.status_code == 200 and served.json()["worker"].startswith("ok")
